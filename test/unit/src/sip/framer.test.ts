import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {SipStreamFramer, type SipFrameEvent} from '../../../../src/sip/framer.js'
import {answerableRequest} from '../../../../src/sip/parser.js'
import {BYE, INVITE, INVITE_LINES, OK_RESPONSE, SDP_BODY, sip} from './fixtures.js'

const summary = (events: readonly SipFrameEvent[]): string[] =>
  events.map((event) => {
    switch (event.type) {
      case 'message':
        return event.message.kind === 'request' ? `request ${event.message.method}` : `response ${event.message.status}`
      case 'invalid':
        return `invalid ${event.error.status}`
      case 'fatal':
        return `fatal ${event.error.status} ${event.error.reason}`
      default:
        return event.type
    }
  })

/** Pushes chunks in order, stopping after a fatal event as a transport would (it closes the connection). */
const feed = (framer: SipStreamFramer, chunks: readonly Buffer[]): SipFrameEvent[] => {
  const events: SipFrameEvent[] = []
  for (const chunk of chunks) {
    events.push(...framer.push(chunk))
    if (events.some((event) => event.type === 'fatal')) break
  }
  return events
}

describe('SipStreamFramer', () => {
  it('emits each message once whatever the split point', () => {
    const stream = Buffer.concat([INVITE, BYE])
    for (let cut = 0; cut <= stream.length; cut++) {
      const framer = new SipStreamFramer()
      const events = feed(framer, [stream.subarray(0, cut), stream.subarray(cut)])
      assert.deepEqual(summary(events), ['request INVITE', 'request BYE'], `split at ${cut}`)
      assert.equal(framer.buffered, 0)
    }
  })

  it('reassembles a stream delivered one byte at a time', () => {
    const framer = new SipStreamFramer()
    const stream = Buffer.concat([OK_RESPONSE, Buffer.from('\r\n\r\n'), INVITE])
    const events = feed(framer, [...stream].map((byte) => Buffer.from([byte])))
    assert.deepEqual(summary(events), ['response 200', 'ping', 'request INVITE'])
    const invite = events[2]
    assert.ok(invite?.type === 'message')
    assert.equal(invite.message.body.toString(), SDP_BODY)
    assert.deepEqual(invite.bytes, INVITE)
  })

  it('emits several messages and keep-alives from one chunk', () => {
    const framer = new SipStreamFramer()
    const events = framer.push(Buffer.concat([Buffer.from('\r\n\r\n'), INVITE, Buffer.from('\r\n\r\n\r\n\r\n'), BYE, OK_RESPONSE]))
    assert.deepEqual(summary(events), ['ping', 'request INVITE', 'ping', 'ping', 'request BYE', 'response 200'])
  })

  it('waits for the rest of a ping split after its first CRLF, and ignores a lone CRLF before a message', () => {
    const framer = new SipStreamFramer()
    assert.deepEqual(framer.push(Buffer.from('\r\n')), [])
    assert.deepEqual(summary(framer.push(Buffer.from('\r\n'))), ['ping'])
    assert.deepEqual(summary(framer.push(Buffer.concat([Buffer.from('\r\n'), BYE]))), ['request BYE'])
  })

  it('reports each CRLF as a pong on a connection we opened', () => {
    const framer = new SipStreamFramer({role: 'client'})
    assert.deepEqual(summary(framer.push(Buffer.from('\r\n'))), ['pong'])
    assert.deepEqual(summary(framer.push(Buffer.concat([Buffer.from('\r\n'), OK_RESPONSE]))), ['pong', 'response 200'])
  })

  it('reports a well-framed but invalid message and carries on', () => {
    const framer = new SipStreamFramer()
    const badCSeq = sip(INVITE_LINES.map((line) => (line.startsWith('CSeq') ? 'CSeq: 1 BYE' : line)), SDP_BODY)
    const events = framer.push(Buffer.concat([badCSeq, BYE]))
    assert.deepEqual(summary(events), ['invalid 400', 'request BYE'])
    assert.ok(events[0]?.type === 'invalid' && answerableRequest(events[0].error) !== undefined)
  })

  it('fails fatally without Content-Length, with a bad one, or with two', () => {
    const without = sip(INVITE_LINES.filter((line) => !line.startsWith('Content-Length')), SDP_BODY)
    assert.match(summary(new SipStreamFramer().push(without))[0] ?? '', /^fatal 400 missing Content-Length/)
    const negative = sip(INVITE_LINES.map((line) => (line.startsWith('Content-Length') ? 'Content-Length: -1' : line)), SDP_BODY)
    assert.match(summary(new SipStreamFramer().push(negative))[0] ?? '', /^fatal 400 malformed Content-Length/)
    const folded = sip([...INVITE_LINES.slice(0, -1), 'Content-Length:', ` ${Buffer.byteLength(SDP_BODY)}`], SDP_BODY)
    assert.deepEqual(summary(new SipStreamFramer().push(folded)), ['request INVITE'])
    const twice = sip([...INVITE_LINES, 'l: 5'], SDP_BODY)
    assert.match(summary(new SipStreamFramer().push(twice))[0] ?? '', /^fatal 400 more than one/)
  })

  it('fails fatally on oversize messages, header sections and start lines', () => {
    const big = sip(INVITE_LINES, 'x'.repeat(70_000))
    assert.deepEqual(summary(new SipStreamFramer().push(big.subarray(0, 1000))), ['fatal 413 message too large'])
    const small = new SipStreamFramer({maxMessageBytes: 600})
    assert.deepEqual(summary(small.push(INVITE)), ['fatal 413 message too large'])
    const endlessHeaders = new SipStreamFramer()
    const events = feed(endlessHeaders, [Buffer.from('INVITE sip:a@example.com SIP/2.0\r\n'), ...Array.from({length: 200}, () => Buffer.from(`X-Pad: ${'p'.repeat(100)}\r\n`))])
    assert.deepEqual(summary(events), ['fatal 513 header section too large'])
    assert.deepEqual(summary(new SipStreamFramer().push(Buffer.from('A'.repeat(9000)))), ['fatal 513 start line too long'])
  })

  it('fails fast on bytes that are not SIP and refuses input after a fatal error', () => {
    const framer = new SipStreamFramer()
    assert.deepEqual(summary(framer.push(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x0d, 0x0a]))), ['fatal 400 stream does not carry SIP'])
    assert.throws(() => framer.push(INVITE), /already failed/)
    assert.deepEqual(summary(new SipStreamFramer().push(Buffer.from('\n'))), ['fatal 400 stray CR or LF between messages'])
  })
})
