import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CCError} from '../../../../src/errors.js'
import {decodeFrame, encodeFrame, RPC_MAX_FRAME_BYTES} from '../../../../src/rpc/protocol.js'
import {encodeStreamFrame, StreamFrameReader, STREAM_LENGTH_BYTES} from '../../../../src/rpc/stream-frames.js'

const frame = (requestId: number, payload: Record<string, unknown> = {}) => encodeFrame({kind: 'request', methodId: 1, requestId, payload})

describe('stream frames', () => {
  it('prefixes a frame with its length, u32 big-endian', () => {
    const body = frame(7, {to: 'sip:bob@example.test'})
    const out = encodeStreamFrame(body)
    assert.equal(out.length, STREAM_LENGTH_BYTES + body.length)
    assert.equal(out.readUInt32BE(0), body.length)
    assert.deepEqual(out.subarray(STREAM_LENGTH_BYTES), body)
  })

  it('cuts frames out whatever the chunk boundaries: one byte at a time, several in one chunk', () => {
    const stream = Buffer.concat([encodeStreamFrame(frame(1)), encodeStreamFrame(frame(2, {a: 'x'.repeat(300)})), encodeStreamFrame(frame(3))])
    const byteWise = new StreamFrameReader()
    const cut: Buffer[] = []
    for (const byte of stream) cut.push(...byteWise.push(Buffer.from([byte])))
    assert.deepEqual(cut.map((bytes) => decodeFrame(bytes).requestId), [1, 2, 3])
    assert.equal(byteWise.buffered, 0)
    const whole = new StreamFrameReader()
    assert.deepEqual(whole.push(stream).map((bytes) => decodeFrame(bytes).requestId), [1, 2, 3])
  })

  it('keeps a partial frame until the rest comes, and says how much it holds', () => {
    const reader = new StreamFrameReader()
    const bytes = encodeStreamFrame(frame(5))
    assert.deepEqual(reader.push(bytes.subarray(0, 7)), [])
    assert.equal(reader.buffered, 7)
    assert.equal(decodeFrame(reader.push(bytes.subarray(7))[0] as Buffer).requestId, 5)
  })

  it('refuses a length above the frame limit before buffering the frame', () => {
    const reader = new StreamFrameReader()
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(RPC_MAX_FRAME_BYTES + 1)
    assert.throws(
      () => reader.push(prefix),
      (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_RPC_BAD_FRAME' && /16385 bytes, more than the 16384-byte limit/.test(error.message),
    )
    assert.equal(reader.buffered, 0)
    // Exactly the limit is a frame.
    const limit = new StreamFrameReader()
    const full = Buffer.concat([Buffer.from([0, 0, 0x40, 0]), Buffer.alloc(RPC_MAX_FRAME_BYTES)])
    assert.equal(limit.push(full)[0]?.length, RPC_MAX_FRAME_BYTES)
  })

  it('passes a zero-length frame on (decodeFrame refuses it as shorter than the header)', () => {
    const [empty] = new StreamFrameReader().push(Buffer.from([0, 0, 0, 0]))
    assert.equal(empty?.length, 0)
    assert.throws(() => decodeFrame(empty as Buffer), /shorter than the 10-byte header/)
  })
})
