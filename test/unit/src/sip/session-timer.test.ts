// RFC 4028 header grammars and negotiation, without a user agent.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SipParseError} from '../../../../src/sip/errors.js'
import {SipHeaders} from '../../../../src/sip/headers.js'
import {
  decideAsUas,
  expiryDelayMs,
  formatSessionExpires,
  minSeOf422,
  outcomeOf2xx,
  parseMinSe,
  parseSessionExpires,
  refreshDelayMs,
  sessionHeadersOf,
  uacRequestHeaders,
  uasResponseHeaders,
} from '../../../../src/sip/session-timer.js'

const SETTINGS = {expiresS: 1800, minSeS: 90}
const headers = (...lines: Array<[string, string]>): SipHeaders => new SipHeaders(lines)

describe('Session-Expires and Min-SE grammars (RFC 4028 §4, §5)', () => {
  it('parses the interval, the refresher in any case, and unknown parameters', () => {
    assert.deepEqual(parseSessionExpires('1800'), {interval: 1800})
    assert.deepEqual(parseSessionExpires(' 4000 ; refresher=UAC'), {interval: 4000, refresher: 'uac'})
    assert.deepEqual(parseSessionExpires('90;foo=bar;refresher=uas'), {interval: 90, refresher: 'uas'})
    assert.equal(parseMinSe('90'), 90)
    assert.equal(parseMinSe('120;ext'), 120)
  })

  it('refuses what is not delta-seconds, a refresher other than uac/uas, and repeated headers', () => {
    for (const bad of ['', 'abc', '-5', '1.5', '18 00', '99999999999', '4294967296', '1800;refresher=both', '1800;refresher', '1800;;', '1800 garbage']) {
      assert.throws(() => parseSessionExpires(bad), SipParseError, bad)
    }
    for (const bad of ['', 'x', '-1', '4294967296']) assert.throws(() => parseMinSe(bad), SipParseError, bad)
    assert.equal(parseSessionExpires('4294967295').interval, 4294967295)
    assert.throws(() => sessionHeadersOf(headers(['Session-Expires', '100'], ['x', '200'])), /more than one Session-Expires/)
    assert.throws(() => sessionHeadersOf(headers(['Min-SE', '100'], ['Min-SE', '200'])), /more than one Min-SE/)
  })

  it('formats what it parses; the compact form x is Session-Expires', () => {
    assert.equal(formatSessionExpires({interval: 600, refresher: 'uas'}), '600;refresher=uas')
    assert.equal(formatSessionExpires({interval: 600}), '600')
    assert.deepEqual(sessionHeadersOf(headers(['x', '300;refresher=uac'])), {sessionExpires: {interval: 300, refresher: 'uac'}, minSe: undefined})
  })
})

describe('the UAS decision (RFC 4028 §9)', () => {
  it('answers 422 with our minimum below it, and never a Min-SE lower than the request\'s own', () => {
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '60']), SETTINGS), {kind: 'too-small', minSe: 90})
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '0']), SETTINGS), {kind: 'too-small', minSe: 90})
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '60'], ['Min-SE', '120']), SETTINGS), {kind: 'too-small', minSe: 120})
    assert.equal(decideAsUas(headers(['Session-Expires', '90']), SETTINGS).kind, 'timer')
  })

  it('takes the requested interval, lowered to ours when longer, but not below the request\'s Min-SE', () => {
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '600']), SETTINGS), {kind: 'timer', interval: 600, refresher: 'uas'})
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '7200']), SETTINGS), {kind: 'timer', interval: 1800, refresher: 'uas'})
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '7200'], ['Min-SE', '3600']), SETTINGS), {kind: 'timer', interval: 3600, refresher: 'uas'})
    // An absurd request is bounded by the grammar (32 bits) and lowered to ours.
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '4294967295']), SETTINGS), {kind: 'timer', interval: 1800, refresher: 'uas'})
  })

  it('lets the UAC refresh when it supports timers and did not choose, honours its choice, and refreshes itself for a UAC that knows no timers', () => {
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '600'], ['Supported', 'timer']), SETTINGS), {kind: 'timer', interval: 600, refresher: 'uac'})
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '600;refresher=uas'], ['Supported', '100rel, timer']), SETTINGS), {kind: 'timer', interval: 600, refresher: 'uas'})
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '600;refresher=uac'], ['k', 'timer']), SETTINGS), {kind: 'timer', interval: 600, refresher: 'uac'})
    // refresher=uac from a UAC that does not say it supports timers: it cannot be relied on, we refresh.
    assert.deepEqual(decideAsUas(headers(['Session-Expires', '600;refresher=uac']), SETTINGS), {kind: 'timer', interval: 600, refresher: 'uas'})
    assert.deepEqual(decideAsUas(headers(), SETTINGS), {kind: 'timer', interval: 1800, refresher: 'uas'})
    assert.deepEqual(decideAsUas(headers(['Supported', 'timer']), SETTINGS), {kind: 'timer', interval: 1800, refresher: 'uas'})
  })

  it('calls malformed headers malformed', () => {
    assert.equal(decideAsUas(headers(['Session-Expires', 'soon']), SETTINGS).kind, 'malformed')
    assert.equal(decideAsUas(headers(['Session-Expires', '600'], ['Min-SE', 'never']), SETTINGS).kind, 'malformed')
  })

  it('puts Require: timer in the 2xx only when the UAC refreshes', () => {
    assert.deepEqual(uasResponseHeaders({kind: 'timer', interval: 600, refresher: 'uac'}), [['Session-Expires', '600;refresher=uac'], ['Require', 'timer']])
    assert.deepEqual(uasResponseHeaders({kind: 'timer', interval: 600, refresher: 'uas'}), [['Session-Expires', '600;refresher=uas']])
  })
})

describe('the UAC side (RFC 4028 §7)', () => {
  it('reads the 2xx: no Session-Expires, no timer; a missing refresher is taken as uac', () => {
    assert.deepEqual(outcomeOf2xx(headers()), {kind: 'none'})
    assert.deepEqual(outcomeOf2xx(headers(['Session-Expires', '900;refresher=uas'])), {kind: 'timer', interval: 900, refresher: 'uas'})
    assert.deepEqual(outcomeOf2xx(headers(['Session-Expires', '900'])), {kind: 'timer', interval: 900, refresher: 'uac'})
    assert.throws(() => outcomeOf2xx(headers(['Session-Expires', 'later'])), SipParseError)
  })

  it('retries a 422 only for a Min-SE above what it asked', () => {
    assert.equal(minSeOf422(headers(['Min-SE', '1200']), 600), 1200)
    assert.equal(minSeOf422(headers(['Min-SE', '600']), 600), undefined)
    assert.equal(minSeOf422(headers(), 600), undefined)
    assert.equal(minSeOf422(headers(['Min-SE', 'lots']), 600), undefined)
  })

  it('asks with Session-Expires and Min-SE', () => {
    assert.deepEqual(uacRequestHeaders(1800, 90), [['Session-Expires', '1800'], ['Min-SE', '90']])
    assert.deepEqual(uacRequestHeaders(600, 120, 'uac'), [['Session-Expires', '600;refresher=uac'], ['Min-SE', '120']])
  })
})

describe('when each side acts (RFC 4028 §10)', () => {
  it('refreshes at half the interval; the other side gives up the smaller of 32 s and a third before expiry', () => {
    assert.equal(refreshDelayMs(1800), 900_000)
    assert.equal(expiryDelayMs(1800), 1_768_000)
    assert.equal(expiryDelayMs(90), 60_000)
    assert.equal(expiryDelayMs(3), 2_000)
  })
})
