// RFC 3262 header grammars and the decision to send provisionals reliably.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SipParseError} from '../../../../src/sip/errors.js'
import {SipHeaders} from '../../../../src/sip/headers.js'
import {firstRSeq, formatRAck, parseRAck, parseRSeq, reliableRSeqOf, wantsReliable} from '../../../../src/sip/reliable-provisionals.js'

const headers = (...lines: Array<[string, string]>): SipHeaders => new SipHeaders(lines)

describe('RSeq and RAck (RFC 3262 §7)', () => {
  it('parses RSeq: 1 to 2^32 - 1', () => {
    assert.equal(parseRSeq('988789'), 988789)
    assert.equal(parseRSeq(' 1 '), 1)
    assert.equal(parseRSeq('4294967295'), 4294967295)
    for (const bad of ['', '0', '-1', 'x', '1 2', '4294967296', '1.0']) assert.throws(() => parseRSeq(bad), SipParseError, bad)
  })

  it('parses RAck: response-num, CSeq number and method, and formats it back', () => {
    assert.deepEqual(parseRAck('776656 1 INVITE'), {rseq: 776656, cseq: 1, method: 'INVITE'})
    assert.deepEqual(parseRAck('  5   314159   INVITE '), {rseq: 5, cseq: 314159, method: 'INVITE'})
    assert.equal(formatRAck({rseq: 7, cseq: 2, method: 'INVITE'}), '7 2 INVITE')
    for (const bad of ['', '1', '1 2', '1 2 INVITE extra', '0 1 INVITE', 'a 1 INVITE', '1 b INVITE', '1 1 IN;VITE', '1,1,INVITE', '99999999999 1 INVITE', '1 1 "INVITE"']) {
      assert.throws(() => parseRAck(bad), SipParseError, bad)
    }
  })

  it('starts RSeq at random below 2^31', () => {
    const values = Array.from({length: 50}, firstRSeq)
    assert.ok(values.every((value) => Number.isInteger(value) && value >= 1 && value < 2 ** 31))
    assert.ok(new Set(values).size > 40)
  })
})

describe('reliability (RFC 3262 §3, §4)', () => {
  it('goes reliable when the INVITE requires 100rel, and in preferred mode when it only supports it', () => {
    const required = headers(['Require', '100rel'])
    const supported = headers(['Supported', 'timer, 100rel'])
    assert.equal(wantsReliable(required, 'supported'), true)
    assert.equal(wantsReliable(required, 'preferred'), true)
    assert.equal(wantsReliable(required, 'off'), false)
    assert.equal(wantsReliable(supported, 'supported'), false)
    assert.equal(wantsReliable(supported, 'preferred'), true)
    assert.equal(wantsReliable(headers(), 'preferred'), false)
  })

  it('finds the RSeq of a reliable 18x; an ordinary one has none; a broken one throws', () => {
    assert.equal(reliableRSeqOf(headers(['Require', '100rel'], ['RSeq', '42'])), 42)
    assert.equal(reliableRSeqOf(headers(['RSeq', '42'])), undefined)
    assert.throws(() => reliableRSeqOf(headers(['Require', '100rel'])), /without RSeq/)
    assert.throws(() => reliableRSeqOf(headers(['Require', '100rel'], ['RSeq', '1'], ['RSeq', '2'])), /more than one RSeq/)
    assert.throws(() => reliableRSeqOf(headers(['Require', '100rel'], ['RSeq', 'zero'])), SipParseError)
  })
})
