// Mutation fuzzing of the parser: whatever the bytes, it throws only
// SipParseError, and whatever it accepts re-serializes to bytes that parse
// back to the same message. The PRNG is seeded so failures reproduce.
import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {SipParseError} from '../../../../src/sip/errors.js'
import {answerableRequest, parseSipMessage} from '../../../../src/sip/parser.js'
import {serializeSipMessage} from '../../../../src/sip/serializer.js'
import {callIdOf, contactOf, createResponseTo, cseqOf, fromOf, maxForwardsOf, toOf, viasOf, type SipMessage} from '../../../../src/sip/message.js'
import {parseUri} from '../../../../src/sip/uri.js'
import {parseNameAddr} from '../../../../src/sip/name-addr.js'
import {parseVia} from '../../../../src/sip/via.js'
import {parseReason} from '../../../../src/sip/header-values.js'
import {parseDigestChallenge, parseDigestCredentials} from '../../../../src/sip/digest-header.js'
import {VALID_MESSAGES} from './fixtures.js'

const SEED = 0x5eed_c0de
const MESSAGE_MUTATIONS = 24_000
const VALUE_MUTATIONS = 3_000

/** mulberry32: small, fast, good enough to pick mutations. */
const prng = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

const INTERESTING = [' ', '\t', ':', ';', ',', '"', '<', '>', '\\', '%', '\r', '\n', '\r\n', '\r\n ', '\0', '@', '[', ']', '=', '/', '\u00ff', '\u00e9', '999999999999999999999', '-1', 'SIP/2.0', '\r\n\r\n']
  .map((text) => Buffer.from(text, text.startsWith('\u00ff') ? 'latin1' : 'utf8'))

const mutate = (input: Buffer, random: () => number): Buffer => {
  const pick = (n: number): number => Math.floor(random() * n)
  const lines = (data: Buffer): string[] => data.toString('latin1').split('\r\n')
  const fromLines = (list: string[]): Buffer => Buffer.from(list.join('\r\n'), 'latin1')
  let data: Buffer = Buffer.from(input)
  const rounds = 1 + pick(3)
  for (let round = 0; round < rounds; round++) {
    const at = pick(data.length + 1)
    switch (pick(8)) {
      case 0: {
        if (data.length > 0) data[Math.min(at, data.length - 1)] = pick(256)
        break
      }
      case 1:
        data = data.subarray(0, at)
        break
      case 2:
        data = Buffer.concat([data.subarray(0, at), Buffer.from(Array.from({length: 1 + pick(8)}, () => pick(256))), data.subarray(at)])
        break
      case 3:
        data = Buffer.concat([data.subarray(0, at), INTERESTING[pick(INTERESTING.length)]!, data.subarray(at)])
        break
      case 4: {
        const list = lines(data)
        const line = list[1 + pick(Math.max(1, list.length - 2))]
        if (line !== undefined) list.splice(1 + pick(Math.max(1, list.length - 1)), 0, line)
        data = fromLines(list)
        break
      }
      case 5: {
        const list = lines(data)
        list.splice(pick(list.length), 1)
        data = fromLines(list)
        break
      }
      case 6: {
        const text = data.toString('latin1')
        const digits = [...text.matchAll(/\d+/g)]
        const match = digits[pick(digits.length)]
        if (match?.index !== undefined) data = Buffer.from(text.slice(0, match.index) + ['0', '4294967296', '18446744073709551616', '65536', '256', '00000000000000000000001'][pick(6)] + text.slice(match.index + match[0].length), 'latin1')
        break
      }
      default: {
        const list = lines(data)
        const a = pick(list.length)
        const b = pick(list.length)
        ;[list[a], list[b]] = [list[b] ?? '', list[a] ?? '']
        data = fromLines(list)
      }
    }
  }
  return data
}

/** What a second parse must give: the same message with Content-Length made exact (the serializer always writes it). */
const expectedAfterRoundTrip = (message: SipMessage): SipMessage => {
  const headers = message.headers.clone()
  if (headers.has('content-length')) headers.set('content-length', String(message.body.length))
  else headers.append('Content-Length', String(message.body.length))
  return {...message, headers}
}

const ALLOWED_STATUSES = new Set([400, 413, 416, 505, 513])

describe('parser mutation fuzz', () => {
  it(`survives ${MESSAGE_MUTATIONS} mutated messages: only SipParseError, and accepted messages round-trip`, () => {
    const random = prng(SEED)
    let accepted = 0
    let rejected = 0
    let answerable = 0
    for (let iteration = 0; iteration < MESSAGE_MUTATIONS; iteration++) {
      const [name, original] = VALID_MESSAGES[iteration % VALID_MESSAGES.length]!
      const data = mutate(original, random)
      const context = `iteration ${iteration} (${name}): ${JSON.stringify(data.toString('latin1').slice(0, 400))}`
      let message: SipMessage
      try {
        message = parseSipMessage(data)
      } catch (error) {
        assert.ok(error instanceof SipParseError, `${context}: threw ${String(error)}`)
        assert.ok(error.status === undefined || ALLOWED_STATUSES.has(error.status), `${context}: status ${error.status}`)
        const partial = answerableRequest(error)
        if (partial !== undefined) {
          answerable++
          assert.ok(serializeSipMessage(createResponseTo(partial, error.status ?? 400)).length > 0)
        }
        rejected++
        continue
      }
      accepted++
      // Validation promised these parse.
      viasOf(message)
      fromOf(message)
      toOf(message)
      cseqOf(message)
      callIdOf(message)
      maxForwardsOf(message)
      contactOf(message)
      if (message.kind === 'request') parseUri(message.uri)
      const again = parseSipMessage(serializeSipMessage(message))
      assert.deepEqual(again, expectedAfterRoundTrip(message), context)
    }
    // Both paths must have been exercised for the run to mean anything.
    assert.ok(accepted > MESSAGE_MUTATIONS / 20, `accepted only ${accepted}`)
    assert.ok(rejected > MESSAGE_MUTATIONS / 5, `rejected only ${rejected}`)
    assert.ok(answerable > 0)
  })

  const VALUE_SAMPLES: ReadonlyArray<readonly [string, (value: string) => unknown]> = [
    ['sip:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi%20there&Priority=urgent', parseUri],
    ['tel:+1-201-555-0123;ext=42;phone-context=example.com', parseUri],
    ['"Alice \\"A\\"" <sips:alice@example.com;maddr=192.0.2.1>;tag=88;q=0.5', (value) => parseNameAddr(value)],
    ['SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKfirst;received=192.0.2.1;rport=5070;ttl=16, SIP/2.0/TCP h.example.com', parseVia],
    ['Q.850;cause=16;text="Terminated", SIP;cause=200;text="Call completed elsewhere"', parseReason],
    ['Digest realm="atlanta.com", nonce="84a4cc6f3082121f32b42a2187831a9e", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE', parseDigestChallenge],
    ['Digest username="bob", realm="atlanta.com", nonce="ea9c8e88df84f1cec4341ae6cbe5a359", uri="sips:ss2.biloxi.example.com", response="dfe56131d1958046689d83306477ecc", qop=auth, nc=00000001, cnonce="0a4f113b"', parseDigestCredentials],
  ]

  for (const [sample, parse] of VALUE_SAMPLES) {
    it(`throws only SipParseError for mutations of ${sample.slice(0, 30)}…`, () => {
      const random = prng(SEED ^ sample.length)
      let accepted = 0
      for (let iteration = 0; iteration < VALUE_MUTATIONS; iteration++) {
        const value = mutate(Buffer.from(sample), random).toString('utf8')
        try {
          parse(value)
          accepted++
        } catch (error) {
          assert.ok(error instanceof SipParseError, `${JSON.stringify(value)}: threw ${String(error)}`)
        }
      }
      assert.ok(accepted > 0)
    })
  }
})
