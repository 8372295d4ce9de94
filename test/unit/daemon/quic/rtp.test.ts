import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseRtp} from '../../../../daemon/quic/connection.js'

const header = (first: number, payloadType: number): Buffer => {
  const bytes = Buffer.alloc(12)
  bytes[0] = first
  bytes[1] = payloadType
  bytes.writeUInt16BE(513, 2)
  bytes.writeUInt32BE(160_000, 4)
  bytes.writeUInt32BE(0xdead_beef, 8)
  return bytes
}

describe('parseRtp (QUIC datagram audio)', () => {
  it('reads a plain PCMU packet', () => {
    const rtp = parseRtp(Buffer.concat([header(0x80, 0), Buffer.alloc(160, 0x55)]))
    assert.deepEqual({...rtp, payload: rtp?.payload.length}, {payloadType: 0, sequenceNumber: 513, timestamp: 160_000, payload: 160})
  })

  it('skips CSRCs and a header extension, and strips padding', () => {
    const csrcs = Buffer.alloc(8)
    const extension = Buffer.from([0xbe, 0xde, 0, 1, 1, 2, 3, 4])
    const padded = Buffer.concat([header(0x80 | 0x20 | 0x10 | 2, 0), csrcs, extension, Buffer.alloc(160, 0x11), Buffer.from([0, 0, 3])])
    const rtp = parseRtp(padded)
    assert.equal(rtp?.payload.length, 160)
    assert.ok(rtp?.payload.every((byte) => byte === 0x11))
  })

  it('refuses what is not RTP version 2 or is cut short', () => {
    assert.equal(parseRtp(Buffer.alloc(0)), undefined)
    assert.equal(parseRtp(Buffer.from([0x80, 0, 1])), undefined)
    assert.equal(parseRtp(Buffer.concat([header(0x00, 0), Buffer.alloc(160)])), undefined)
    assert.equal(parseRtp(Buffer.concat([header(0x40, 0), Buffer.alloc(160)])), undefined)
    // Fifteen CSRCs announced, none there.
    assert.equal(parseRtp(Buffer.concat([header(0x8f, 0), Buffer.alloc(10)])), undefined)
    // An extension header announced but cut off.
    assert.equal(parseRtp(Buffer.concat([header(0x90, 0), Buffer.alloc(2)])), undefined)
    // Padding longer than the packet.
    assert.equal(parseRtp(Buffer.concat([header(0xa0, 0), Buffer.from([200])])), undefined)
  })
})
