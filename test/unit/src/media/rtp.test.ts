import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createRtpPacket, isRtcp, parseRtp, rtpPacketLength, serializeRtp, writeRtp, type RtpPacket, type RtpParseResult} from '../../../../src/media/rtp.js'

const expectPacket = (result: RtpParseResult): RtpPacket => {
  assert.equal(result.ok, true, result.ok ? '' : `parse failed: ${result.reason}`)
  return result as RtpPacket
}

const expectFailure = (result: RtpParseResult, reason: string): void => {
  assert.equal(result.ok, false)
  assert.equal(result.ok === false && result.reason, reason)
}

// V=2, M=1, PT=0, seq 0x1234, ts 0xDEADBEEF, SSRC 0x01020304, payload AA BB.
const PLAIN = [0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb]

describe('RTP parse', () => {
  it('reads a hand-built fixed header and payload', () => {
    const packet = expectPacket(parseRtp(Buffer.from(PLAIN)))
    assert.equal(packet.marker, true)
    assert.equal(packet.payloadType, 0)
    assert.equal(packet.sequenceNumber, 0x1234)
    assert.equal(packet.timestamp, 0xdeadbeef)
    assert.equal(packet.ssrc, 0x01020304)
    assert.deepEqual(packet.csrcs, [])
    assert.equal(packet.extensionProfile, undefined)
    assert.deepEqual([...packet.payload], [0xaa, 0xbb])
    assert.equal(packet.paddingLength, 0)
  })

  it('gives the payload as a view into the datagram, not a copy', () => {
    const datagram = Buffer.from(PLAIN)
    const packet = expectPacket(parseRtp(datagram))
    datagram[12] = 0x11
    assert.equal(packet.payload[0], 0x11)
  })

  it('strips padding', () => {
    // P bit; payload 01 02 03, then padding 00 00 03 (the count includes itself).
    const datagram = Buffer.from([0xa0, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9, 1, 2, 3, 0, 0, 3])
    const packet = expectPacket(parseRtp(datagram))
    assert.equal(packet.payloadType, 8)
    assert.equal(packet.marker, false)
    assert.deepEqual([...packet.payload], [1, 2, 3])
    assert.equal(packet.paddingLength, 3)
  })

  it('accepts padding that takes the whole payload', () => {
    const datagram = Buffer.from([0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4])
    assert.equal(expectPacket(parseRtp(datagram)).payload.length, 0)
  })

  it('skips a header extension and exposes its profile and body', () => {
    // X bit; extension profile 0xBEDE (RFC 8285), length 1 word: 10 FF 00 00; payload 7F.
    const datagram = Buffer.from([0x90, 0x60, 0, 2, 0, 0, 1, 0, 0, 0, 0, 5, 0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0, 0x7f])
    const packet = expectPacket(parseRtp(datagram))
    assert.equal(packet.payloadType, 96)
    assert.equal(packet.extensionProfile, 0xbede)
    assert.deepEqual([...(packet.extensionData ?? [])], [0x10, 0xff, 0, 0])
    assert.deepEqual([...packet.payload], [0x7f])
  })

  it('reads the CSRC list', () => {
    const datagram = Buffer.from([0x82, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x0a, 0xff, 0xff, 0xff, 0xfe, 0x55])
    const packet = expectPacket(parseRtp(datagram))
    assert.deepEqual(packet.csrcs, [10, 0xfffffffe])
    assert.deepEqual([...packet.payload], [0x55])
  })

  it('refills the object it is given', () => {
    const reused = createRtpPacket()
    const first = parseRtp(Buffer.from([0x82, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2]), reused)
    assert.equal(first, reused)
    assert.equal(reused.csrcs.length, 2)
    assert.equal(parseRtp(Buffer.from(PLAIN), reused), reused)
    assert.equal(reused.sequenceNumber, 0x1234)
    assert.deepEqual(reused.csrcs, [])
  })

  it('names every class of garbage', () => {
    expectFailure(parseRtp(Buffer.alloc(0)), 'truncated')
    expectFailure(parseRtp(Buffer.from(PLAIN.slice(0, 11))), 'truncated')
    expectFailure(parseRtp(Buffer.from([0x40, ...PLAIN.slice(1)])), 'version')
    expectFailure(parseRtp(Buffer.from([0xc0, ...PLAIN.slice(1)])), 'version')
    // CC = 15 announces 60 octets of CSRCs that are not there.
    expectFailure(parseRtp(Buffer.from([0x8f, ...PLAIN.slice(1)])), 'truncated')
    // Padding count 0, and a count larger than what follows the header.
    expectFailure(parseRtp(Buffer.from([0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 0])), 'padding')
    expectFailure(parseRtp(Buffer.from([0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 3])), 'padding')
    expectFailure(parseRtp(Buffer.from([0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])), 'padding')
    // Extension header missing, and an extension length running past the end.
    expectFailure(parseRtp(Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe])), 'extension')
    expectFailure(parseRtp(Buffer.from([0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 2, 1, 2, 3, 4])), 'extension')
  })

  it('never throws on random bytes (50,000 datagrams)', () => {
    let seed = 0x12345678
    const random = (): number => {
      // xorshift32: a fixed seed makes a failure reproducible.
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return seed >>> 0
    }
    const reused = createRtpPacket()
    let parsed = 0
    for (let round = 0; round < 50_000; round++) {
      const datagram = Buffer.alloc(random() % 80)
      for (let index = 0; index < datagram.length; index++) datagram[index] = random() & 0xff
      // Half the time force version 2 so the deeper checks get exercised.
      if (round % 2 === 0 && datagram.length > 0) datagram[0] = ((datagram[0] ?? 0) & 0x3f) | 0x80
      const result = parseRtp(datagram, reused)
      if (result.ok) {
        parsed++
        const headerEnd = 12 + result.csrcs.length * 4 + (result.extensionData ? 4 + result.extensionData.length : 0)
        assert.equal(headerEnd + result.payload.length + result.paddingLength, datagram.length)
      }
    }
    assert.ok(parsed > 1000, `only ${parsed} random datagrams parsed`)
  })
})

describe('RTP serialize', () => {
  it('writes the hand-built packet byte for byte', () => {
    const bytes = serializeRtp({marker: true, payloadType: 0, sequenceNumber: 0x1234, timestamp: 0xdeadbeef, ssrc: 0x01020304}, Buffer.from([0xaa, 0xbb]))
    assert.deepEqual([...bytes], PLAIN)
  })

  it('round-trips CSRCs, extension and padding', () => {
    const header = {
      payloadType: 111,
      sequenceNumber: 65535,
      timestamp: 4294967295,
      ssrc: 0xcafebabe,
      csrcs: [1, 2, 3],
      extension: {profile: 0x1000, data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8])},
      paddingLength: 5,
    }
    const payload = Buffer.from('opus frame')
    const bytes = serializeRtp(header, payload)
    assert.equal(bytes.length, 12 + 12 + 12 + payload.length + 5)
    assert.equal(bytes[0], 0x80 | 0x20 | 0x10 | 3)
    assert.equal(bytes[bytes.length - 1], 5)
    const packet = expectPacket(parseRtp(bytes))
    assert.equal(packet.marker, false)
    assert.equal(packet.payloadType, 111)
    assert.equal(packet.sequenceNumber, 65535)
    assert.equal(packet.timestamp, 4294967295)
    assert.equal(packet.ssrc, 0xcafebabe)
    assert.deepEqual(packet.csrcs, [1, 2, 3])
    assert.equal(packet.extensionProfile, 0x1000)
    assert.deepEqual([...(packet.extensionData ?? [])], [1, 2, 3, 4, 5, 6, 7, 8])
    assert.equal(packet.payload.toString(), 'opus frame')
    assert.equal(packet.paddingLength, 5)
  })

  it('writes into a reused buffer at an offset', () => {
    const header = {payloadType: 8, sequenceNumber: 7, timestamp: 160, ssrc: 42}
    const target = Buffer.alloc(4 + rtpPacketLength(header, 160))
    const written = writeRtp(target, 4, header, Buffer.alloc(160, 0xd5))
    assert.equal(written, 172)
    const packet = expectPacket(parseRtp(target.subarray(4)))
    assert.equal(packet.sequenceNumber, 7)
    assert.equal(packet.payload.length, 160)
    assert.throws(() => writeRtp(Buffer.alloc(100), 0, header, Buffer.alloc(160)), RangeError)
  })

  it('rejects fields out of range', () => {
    const base = {payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0}
    assert.throws(() => serializeRtp({...base, payloadType: 128}, Buffer.alloc(0)), RangeError)
    assert.throws(() => serializeRtp({...base, sequenceNumber: 65536}, Buffer.alloc(0)), RangeError)
    assert.throws(() => serializeRtp({...base, csrcs: Array(16).fill(1)}, Buffer.alloc(0)), RangeError)
    assert.throws(() => serializeRtp({...base, extension: {profile: 1, data: Buffer.alloc(3)}}, Buffer.alloc(0)), RangeError)
    assert.throws(() => serializeRtp({...base, paddingLength: 256}, Buffer.alloc(0)), RangeError)
  })
})

describe('isRtcp (RFC 5761 §4)', () => {
  it('classifies by the payload type octet', () => {
    // SR 200, RR 201, SDES 202, BYE 203, APP 204, RTPFB 205, PSFB 206: all in 192..223.
    for (const packetType of [192, 200, 201, 202, 203, 204, 205, 206, 223]) assert.equal(isRtcp(Buffer.from([0x80, packetType])), true, `${packetType}`)
    // RTP payload types, with and without the marker bit.
    for (const second of [0, 8, 0x80, 0x88, 96, 111, 0x80 | 101, 127, 0x80 | 96]) assert.equal(isRtcp(Buffer.from([0x80, second])), false, `${second}`)
    assert.equal(isRtcp(Buffer.from(PLAIN)), false)
    assert.equal(isRtcp(Buffer.from([0x80])), false)
  })
})
