import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {acceptsMediaType, formatCSeq, formatReason, isValidCallId, MAX_CSEQ, parseContact, parseContentLength, parseCSeq, parseMaxForwards, parseReason} from '../../../../src/sip/header-values.js'
import {SipParseError} from '../../../../src/sip/errors.js'

describe('CSeq', () => {
  it('parses and formats', () => {
    assert.deepEqual(parseCSeq('4711 INVITE'), {seq: 4711, method: 'INVITE'})
    assert.deepEqual(parseCSeq('  0009 \t REGISTER '), {seq: 9, method: 'REGISTER'})
    assert.deepEqual(parseCSeq(`${MAX_CSEQ} ACK`), {seq: 4_294_967_295, method: 'ACK'})
    assert.equal(formatCSeq({seq: 1, method: 'BYE'}), '1 BYE')
  })

  it('rejects overflow and junk', () => {
    for (const bad of ['4294967296 INVITE', 'INVITE', '1', '1 IN VITE', '-1 BYE', '1.5 BYE', '']) assert.throws(() => parseCSeq(bad), SipParseError, bad)
  })
})

describe('Max-Forwards and Content-Length', () => {
  it('bounds Max-Forwards to 0-255', () => {
    assert.equal(parseMaxForwards('70'), 70)
    assert.equal(parseMaxForwards('0'), 0)
    assert.equal(parseMaxForwards('0255'), 255)
    for (const bad of ['256', '-1', '', 'seventy', '1e2']) assert.throws(() => parseMaxForwards(bad), SipParseError, bad)
  })

  it('reads Content-Length digits only', () => {
    assert.equal(parseContentLength(' 150 '), 150)
    assert.throws(() => parseContentLength('99', 10), SipParseError)
    for (const bad of ['-1', '0x10', '', '123456789012345678901']) assert.throws(() => parseContentLength(bad), SipParseError, bad)
  })
})

describe('Call-ID', () => {
  it('accepts word@word and rejects whitespace or a second @', () => {
    assert.equal(isValidCallId('f81d4fae-7dec-11d0-a765-00a0c91e6bf6@foo.bar.com'), true)
    assert.equal(isValidCallId('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{'), true)
    assert.equal(isValidCallId('a b'), false)
    assert.equal(isValidCallId('a@b@c'), false)
    assert.equal(isValidCallId(''), false)
  })
})

describe('Contact', () => {
  it('parses * and address lists', () => {
    assert.deepEqual(parseContact(' * '), {star: true})
    const contact = parseContact('<sip:a@192.0.2.4>;expires=3600;q=0.7, "B" <sip:b@example.com>')
    assert.ok(!contact.star)
    assert.equal(contact.addresses.length, 2)
    assert.equal(contact.addresses[0]?.params.get('q'), '0.7')
    assert.throws(() => parseContact('*, <sip:a@example.com>'), SipParseError)
  })
})

describe('Reason (RFC 3326)', () => {
  it('parses protocol, cause and text of each reason', () => {
    const reasons = parseReason('Q.850 ;cause=16 ;text="Terminated", SIP;cause=200;text="Call completed elsewhere"')
    assert.deepEqual(reasons.map(({protocol, cause, text}) => ({protocol, cause, text})), [
      {protocol: 'Q.850', cause: 16, text: 'Terminated'},
      {protocol: 'SIP', cause: 200, text: 'Call completed elsewhere'},
    ])
    assert.equal(parseReason('Q.850;cause=17;location=LN')[0]?.params.get('location'), 'LN')
  })

  it('rejects malformed reasons', () => {
    for (const bad of ['', ';cause=1', 'Q.850;cause=abc', 'Q.850;text', 'Q.850;cause=16,']) assert.throws(() => parseReason(bad), SipParseError, bad)
  })

  it('formats a reason that parses back', () => {
    const text = formatReason({protocol: 'Q.850', cause: 31, text: 'Normal, "unspecified"'})
    assert.equal(text, 'Q.850;cause=31;text="Normal, \\"unspecified\\""')
    assert.equal(parseReason(text)[0]?.text, 'Normal, "unspecified"')
  })
})

describe('Accept (RFC 3261 §20.1)', () => {
  const sdp = (...ranges: string[]) => acceptsMediaType(ranges, 'application/sdp')

  it('admits application/sdp when no Accept is given, or a range covers it with q above 0', () => {
    assert.equal(acceptsMediaType(undefined, 'application/sdp'), true)
    for (const ranges of [['application/sdp'], ['APPLICATION/SDP'], ['text/plain', 'application/sdp;level=1'], ['application/*'], ['*/*'], ['text/plain', 'application/sdp;q=0.5']]) {
      assert.equal(sdp(...ranges), true, ranges.join(', '))
    }
  })

  it('refuses it for sdp01 (RFC 4475 §3.3.15), an empty Accept, q=0, and a longer subtype', () => {
    for (const ranges of [['text/nobodyKnowsThis'], [], [''], ['application/sdp;q=0'], ['*/*;q=0.000'], ['application/sdpx']]) {
      assert.equal(sdp(...ranges), false, JSON.stringify(ranges))
    }
  })

  it('lets the most specific covering range decide', () => {
    assert.equal(sdp('application/sdp;q=0', '*/*'), false)
    assert.equal(sdp('application/*;q=0', '*/*'), false)
    assert.equal(sdp('*/*;q=0', 'application/sdp'), true)
    assert.equal(sdp('application/*;q=0', 'application/sdp'), true)
    assert.equal(sdp('*/*;q=0', 'application/*'), true)
  })
})
