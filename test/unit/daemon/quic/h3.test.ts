import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {decodeSettings, encodeH3Frame, encodeSettings, encodeVarint, H3_FRAME, H3FrameReader, readVarint} from '../../../../daemon/quic/h3.js'

describe('HTTP/3 framing', () => {
  it('encodes and reads QUIC varints as RFC 9000 A.1 gives them', () => {
    const vectors: Array<[string, number]> = [
      ['25', 37],
      ['7bbd', 15_293],
      ['9d7f3e7d', 494_878_333],
      ['c2197c5eff14e88c', 151_288_809_941_952_652],
    ]
    for (const [hex, value] of vectors) {
      const bytes = Buffer.from(hex, 'hex')
      if (value <= Number.MAX_SAFE_INTEGER) assert.deepEqual(readVarint(bytes, 0), {value, next: bytes.length}, hex)
      else assert.throws(() => readVarint(bytes, 0), /beyond 2\^53/)
    }
    // The two-byte form of 37 reads as 37 too; a truncated varint is not read.
    assert.equal(readVarint(Buffer.from('4025', 'hex'), 0)?.value, 37)
    assert.equal(readVarint(Buffer.from('9d7f', 'hex'), 0), undefined)
    for (const value of [0, 63, 64, 16_383, 16_384, 1_073_741_823, 1_073_741_824, 0x2b60_3742, 0xc671_706a]) assert.equal(readVarint(encodeVarint(value), 0)?.value, value)
  })

  it('round-trips SETTINGS and refuses a setting sent twice', () => {
    const frame = encodeSettings([
      [0x08, 1],
      [0x2b60_3742, 1],
    ])
    const [settings] = new H3FrameReader(1024).push(frame)
    assert.equal(settings?.type, H3_FRAME.settings)
    assert.deepEqual([...decodeSettings(settings?.payload ?? Buffer.alloc(0))], [
      [0x08, 1],
      [0x2b60_3742, 1],
    ])
    assert.throws(() => decodeSettings(Buffer.from([0x08, 1, 0x08, 0])), /twice/)
  })

  it('cuts frames out of chunks and refuses one announcing more than the limit before buffering it', () => {
    const stream = Buffer.concat([encodeH3Frame(H3_FRAME.headers, Buffer.alloc(100, 1)), encodeH3Frame(H3_FRAME.data, Buffer.from('x'))])
    const reader = new H3FrameReader(1024)
    const frames = [...stream].flatMap((byte) => reader.push(Buffer.from([byte])))
    assert.deepEqual(
      frames.map((frame) => [frame.type, frame.payload.length]),
      [
        [H3_FRAME.headers, 100],
        [H3_FRAME.data, 1],
      ],
    )
    assert.throws(() => new H3FrameReader(1024).push(Buffer.concat([encodeVarint(1), encodeVarint(1_000_000)])), /announces 1000000 bytes, more than 1024/)
  })
})
