import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CCError} from '../../../../src/errors.js'
import {parseCallSettings, parseExpectStatus, parseHeaders, parseSettings, parseTarget, parseThresholds} from '../../../../src/synth/options.js'

const usage = (fn: () => unknown, pattern: RegExp): void => {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CCError)
    assert.equal(error.code, 'CC_ERR_USAGE')
    assert.equal(error.exitCode, 2)
    assert.match(error.message, pattern)
    return true
  })
}

describe('synth options', () => {
  it('takes sip: URIs over UDP by default and TCP with ;transport=tcp', () => {
    assert.deepEqual(parseTarget('sip:echo@127.0.0.1:5070'), {uri: 'sip:echo@127.0.0.1:5070', transport: 'udp', host: '127.0.0.1', port: 5070})
    assert.deepEqual(parseTarget('sip:+14155550100@sbc.example;transport=TCP'), {uri: 'sip:+14155550100@sbc.example;transport=TCP', transport: 'tcp', host: 'sbc.example', port: 5060})
    assert.equal(parseTarget('sip:[::1]:5080').host, '::1')
  })

  it('refuses what it cannot call, naming the flag and saying what it accepts', () => {
    usage(() => parseTarget('127.0.0.1:5060', 'uri'), /^--uri "127\.0\.0\.1:5060" is not valid: use a sip: URI/)
    usage(() => parseTarget('sips:a@b'), /TLS/)
    usage(() => parseTarget('sip:a@b;transport=sctp'), /udp or tcp/)
    usage(() => parseTarget('sip:alice:secret@b'), /--password or \$CLUTCHCALL_SYNTH_PASSWORD/)
    usage(() => parseTarget('sip:a@b?subject=x'), /--header/)
    usage(() => parseTarget('sip:a@'), /not a SIP URI/)
  })

  it('parses headers and keeps the user agent’s own headers out', () => {
    assert.deepEqual(parseHeaders(['X-Test: 1', 'P-Asserted-Identity:  <sip:+1@x> ']), [['X-Test', '1'], ['P-Asserted-Identity', '<sip:+1@x>']])
    usage(() => parseHeaders(['no colon']), /'Name: value'/)
    usage(() => parseHeaders(['Bad Name: x']), /header name/)
    usage(() => parseHeaders(['Call-ID: x']), /written by the user agent/)
    usage(() => parseHeaders(['i: x']), /written by the user agent/)
    usage(() => parseHeaders(['From: <sip:x@y>']), /--from/)
  })

  it('expected statuses: 200 by default, lists and repeats, only final ones', () => {
    assert.deepEqual(parseExpectStatus(undefined), [200])
    assert.deepEqual(parseExpectStatus(['486,600', '404']), [486, 600, 404])
    usage(() => parseExpectStatus(['180']), /200 to 699/)
    usage(() => parseExpectStatus(['ok']), /--expect-status "ok"/)
  })

  it('thresholds: the defaults, 0 MOS as no limit, bounds', () => {
    assert.deepEqual(parseThresholds({}), {expectStatus: [200], minMos: 3.5})
    assert.deepEqual(parseThresholds({'min-mos': '0'}), {expectStatus: [200]})
    assert.deepEqual(parseThresholds({'min-mos': '4.1', 'max-loss': '0.5', 'max-jitter': '30', 'max-pdd': '2000', 'expect-status': ['200']}), {expectStatus: [200], minMos: 4.1, maxLossPercent: 0.5, maxJitterMs: 30, maxPddMs: 2000})
    assert.deepEqual(parseThresholds({}, {minMos: 4, maxLossPercent: 1}), {expectStatus: [200], minMos: 4, maxLossPercent: 1})
    usage(() => parseThresholds({'min-mos': '6'}), /--min-mos "6" is not valid: use a MOS from 0/)
    usage(() => parseThresholds({'max-loss': '-1'}), /--max-loss/)
    usage(() => parseThresholds({'max-jitter': 'lots'}), /--max-jitter/)
  })

  it('load and call settings with their defaults and limits', () => {
    const settings = parseSettings('sip:echo@127.0.0.1', {count: '50'})
    assert.equal(settings.count, 50)
    assert.equal(settings.concurrency, 10)
    assert.equal(settings.rate, 10)
    assert.equal(settings.durationS, 5)
    assert.equal(settings.ringTimeoutS, 30)
    assert.equal(parseSettings('sip:echo@127.0.0.1', {count: '3'}).concurrency, 3)
    assert.equal(parseSettings('sip:echo@127.0.0.1', {codec: 'pcma'}).codec, 'PCMA')
    usage(() => parseSettings('sip:x@y', {count: '0'}), /--count "0" is not valid: use a whole number from 1 to 100,000/)
    usage(() => parseSettings('sip:x@y', {concurrency: '1.5'}), /--concurrency/)
    usage(() => parseSettings('sip:x@y', {rate: '0'}), /--rate/)
    usage(() => parseSettings('sip:x@y', {codec: 'opus'}), /PCMU or PCMA/)
    usage(() => parseCallSettings({duration: '-1'}), /--duration/)
    usage(() => parseCallSettings({'local-address': 'localhost'}), /IP address/)
    usage(() => parseCallSettings({from: 'bad from'}), /--from/)
    assert.throws(() => parseCallSettings({password: 'x'}), /needs --user/)
    assert.throws(() => parseCallSettings({user: 'x'}), /--user needs --password/)
    assert.deepEqual(parseCallSettings({user: 'alice', password: 'w'}).credentials, {username: 'alice', password: 'w'})
    assert.equal(parseCallSettings({from: '+14155550199'}).from, '+14155550199')
    assert.equal(parseCallSettings({from: 'sip:qa@example.com'}).from, 'sip:qa@example.com')
  })
})
