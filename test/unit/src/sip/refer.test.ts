// Transfer values (RFC 3515, RFC 3891, RFC 6665, RFC 3420): Refer-To with
// its refusals, Replaces embedded and extracted, Event, Subscription-State
// and sipfrag.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatReferTo, parseEvent, parseReferTo, parseReplaces, parseSipfrag, parseSubscriptionState, formatSipfrag, ReferError} from '../../../../src/sip/refer.js'

const refusal = (values: string[]): {status: number; reason: string} => {
  try {
    parseReferTo(values)
  } catch (error) {
    assert.ok(error instanceof ReferError, String(error))
    return {status: error.status, reason: error.reason}
  }
  assert.fail(`accepted ${JSON.stringify(values)}`)
}

describe('Refer-To', () => {
  it('takes a name-addr, an addr-spec and a tel: URI', () => {
    assert.equal(parseReferTo(['"Help desk" <sip:+14155550100@pbx.example.com;transport=tcp>']).text, 'sip:+14155550100@pbx.example.com;transport=tcp')
    assert.equal(parseReferTo(['sip:agent@192.0.2.7:5070']).text, 'sip:agent@192.0.2.7:5070')
    const tel = parseReferTo(['<tel:+1-415-555-0100>'])
    assert.equal(tel.uri.kind, 'tel')
    assert.equal(tel.text, 'tel:+1-415-555-0100')
  })

  it('refuses none or several with 400, a broken one with 400, other schemes with 416', () => {
    assert.deepEqual(refusal([]), {status: 400, reason: 'Missing Refer-To'})
    assert.deepEqual(refusal(['<sip:a@example.com>', '<sip:b@example.com>']), {status: 400, reason: 'Multiple Refer-To'})
    assert.deepEqual(refusal(['<sip:a@exa mple.com']), {status: 400, reason: 'Malformed Refer-To'})
    assert.deepEqual(refusal(['']), {status: 400, reason: 'Malformed Refer-To'})
    for (const uri of ['<http://evil.example/x>', '<mailto:a@example.com>', '<urn:service:sos>']) assert.deepEqual(refusal([uri]), {status: 416, reason: 'Unsupported Refer-To Scheme'}, uri)
    assert.deepEqual(refusal(['<sip:a@example.com;method=BYE>']), {status: 400, reason: 'Refer-To Method Not INVITE'})
    assert.equal(parseReferTo(['<sip:a@example.com;method=INVITE>']).text, 'sip:a@example.com')
  })

  it('takes an embedded Replaces (attended transfer) and drops every other embedded header', () => {
    const target = parseReferTo(['<sip:bob@pbx.example.com?Replaces=abc%40pbx%3Bto-tag%3D7743%3Bfrom-tag%3D6472&Route=%3Csip:evil.example%3E>'])
    assert.equal(target.text, 'sip:bob@pbx.example.com')
    assert.deepEqual(target.replaces, {callId: 'abc@pbx', toTag: '7743', fromTag: '6472', earlyOnly: false})
    assert.deepEqual(refusal(['<sip:bob@pbx.example.com?Replaces=abc%3Bto-tag%3D7743>']), {status: 400, reason: 'Malformed Replaces'})
    assert.deepEqual(refusal(['<sip:bob@pbx.example.com?Replaces=a%3Bto-tag%3D1%3Bfrom-tag%3D2&Replaces=b%3Bto-tag%3D1%3Bfrom-tag%3D2>']), {status: 400, reason: 'Multiple Replaces'})
  })

  it('formats a target, with Replaces escaped into the URI, and round-trips it', () => {
    assert.equal(formatReferTo('sip:+14155550100@carrier.example'), '<sip:+14155550100@carrier.example>')
    assert.equal(formatReferTo('tel:+14155550100'), '<tel:+14155550100>')
    const replaces = {callId: 'c1@host', toTag: 't1', fromTag: 'f1', earlyOnly: true}
    const value = formatReferTo('sip:bob@pbx.example.com', replaces)
    assert.equal(value, '<sip:bob@pbx.example.com?Replaces=c1%40host%3Bto-tag%3Dt1%3Bfrom-tag%3Df1%3Bearly-only>')
    assert.deepEqual(parseReferTo([value]).replaces, replaces)
    assert.throws(() => formatReferTo('http://example.com/'), ReferError)
  })
})

describe('Replaces, Event, Subscription-State, sipfrag', () => {
  it('parses Replaces and refuses one without both tags', () => {
    assert.deepEqual(parseReplaces('98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff'), {callId: '98732@sip.example.com', toTag: 'ff87ff', fromTag: 'r33th4x0r', earlyOnly: false})
    assert.throws(() => parseReplaces('98732@sip.example.com;from-tag=x'))
    assert.throws(() => parseReplaces(';to-tag=a;from-tag=b'))
  })

  it('parses Event and Subscription-State', () => {
    assert.deepEqual(parseEvent('refer;id=93809824'), {package: 'refer', id: '93809824'})
    assert.deepEqual(parseEvent(' Refer '), {package: 'refer', id: undefined})
    assert.throws(() => parseEvent(''))
    assert.throws(() => parseEvent('refer;;'))
    assert.deepEqual(parseSubscriptionState('active;expires=60'), {state: 'active', reason: undefined, expires: 60})
    assert.deepEqual(parseSubscriptionState('terminated;reason=noresource'), {state: 'terminated', reason: 'noresource', expires: undefined})
    assert.throws(() => parseSubscriptionState(''))
  })

  it('writes and reads sipfrag status lines, and refuses anything else', () => {
    assert.equal(formatSipfrag(100, 'Trying').toString(), 'SIP/2.0 100 Trying\r\n')
    assert.equal(formatSipfrag(486, 'Busy\r\nX: y').toString(), 'SIP/2.0 486 Busy  X: y\r\n')
    assert.deepEqual(parseSipfrag(Buffer.from('SIP/2.0 200 OK\r\nContact: <sip:x@y>\r\n')), {status: 200, reason: 'OK'})
    assert.deepEqual(parseSipfrag(Buffer.from('SIP/2.0 603 Declined')), {status: 603, reason: 'Declined'})
    assert.equal(parseSipfrag(Buffer.from('INVITE sip:x@y SIP/2.0\r\n')), undefined)
    assert.equal(parseSipfrag(Buffer.from('SIP/2.0 99 Odd\r\n')), undefined)
    assert.equal(parseSipfrag(Buffer.alloc(0)), undefined)
  })
})
