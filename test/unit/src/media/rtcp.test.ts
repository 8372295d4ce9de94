import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  buildCompoundReport,
  parseRtcp,
  serializeRtcpPacket,
  type ByePacket,
  type ReceiverReportPacket,
  type ReportBlock,
  type RtcpPacket,
  type RtcpParseResult,
  type SenderReportPacket,
  type SourceDescriptionPacket,
} from '../../../../src/media/rtcp.js'

const expectPackets = (result: RtcpParseResult): RtcpPacket[] => {
  assert.equal(result.ok, true, result.ok ? '' : `parse failed: ${result.reason}`)
  return result.ok ? result.packets : []
}

const expectFailure = (bytes: number[], reason: string): void => {
  const result = parseRtcp(Buffer.from(bytes))
  assert.equal(result.ok, false, `expected ${reason}`)
  assert.equal(result.ok === false && result.reason, reason)
}

const SSRC = [0x11, 0x22, 0x33, 0x44]

const block = (overrides: Partial<ReportBlock> = {}): ReportBlock => ({
  ssrc: 0x01020304,
  fractionLost: 64,
  cumulativeLost: 25,
  extendedHighestSeq: 0x0001000a,
  jitter: 32,
  lastSenderReport: 0xb7052000,
  delaySinceLastSenderReport: 0x00054000,
  ...overrides,
})

describe('RTCP parse', () => {
  it('reads a hand-built SR with one report block', () => {
    const bytes = [
      // V=2 RC=1, PT=200, length 12 (52 octets).
      0x81, 0xc8, 0x00, 0x0c, 0xaa, 0xbb, 0xcc, 0xdd,
      // NTP 0x83AA7E80.80000000 (the Unix epoch plus 0.5 s), RTP ts 8000, 50 packets, 8000 octets.
      0x83, 0xaa, 0x7e, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x40, 0x00, 0x00, 0x00, 0x32, 0x00, 0x00, 0x1f, 0x40,
      // Block: SSRC, fraction 0x40, cumulative −3, highest 0x0001000A, jitter 32, LSR, DLSR.
      0x01, 0x02, 0x03, 0x04, 0x40, 0xff, 0xff, 0xfd, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x20,
      0xb7, 0x05, 0x20, 0x00, 0x00, 0x05, 0x40, 0x00,
    ]
    const [sr] = expectPackets(parseRtcp(Buffer.from(bytes))) as [SenderReportPacket]
    assert.equal(sr.type, 'SR')
    assert.equal(sr.ssrc, 0xaabbccdd)
    assert.equal(sr.ntpSeconds, 2208988800)
    assert.equal(sr.ntpFraction, 0x80000000)
    assert.equal(sr.rtpTimestamp, 8000)
    assert.equal(sr.packetCount, 50)
    assert.equal(sr.octetCount, 8000)
    assert.deepEqual(sr.reports, [block({fractionLost: 0x40, cumulativeLost: -3})])
  })

  it('walks a hand-built compound packet, skipping a type it does not know', () => {
    const bytes = [
      // RR, no blocks.
      0x80, 0xc9, 0x00, 0x01, ...SSRC,
      // SDES, one chunk: CNAME "ab", a NOTE item to skip, then the null octets up to 32 bits.
      0x81, 0xca, 0x00, 0x04, ...SSRC, 0x01, 0x02, 0x61, 0x62, 0x07, 0x02, 0x68, 0x69, 0x00, 0x00, 0x00, 0x00,
      // APP (204), name "test".
      0x80, 0xcc, 0x00, 0x02, ...SSRC, 0x74, 0x65, 0x73, 0x74,
      // BYE, one SSRC, no reason.
      0x81, 0xcb, 0x00, 0x01, ...SSRC,
    ]
    const packets = expectPackets(parseRtcp(Buffer.from(bytes)))
    assert.deepEqual(
      packets.map((packet) => packet.type),
      ['RR', 'SDES', 'other', 'BYE'],
    )
    assert.deepEqual(packets[0], {type: 'RR', ssrc: 0x11223344, reports: []})
    assert.deepEqual(packets[1], {type: 'SDES', chunks: [{ssrc: 0x11223344, cname: 'ab'}]})
    const app = packets[2]
    assert.ok(app?.type === 'other')
    assert.equal(app.packetType, 204)
    assert.equal(app.body.toString('latin1', 4), 'test')
    assert.deepEqual(packets[3], {type: 'BYE', ssrcs: [0x11223344], reason: undefined})
  })

  it('strips padding from the last packet', () => {
    // RR with P bit, length 2: SSRC then 00 00 00 04.
    const packets = expectPackets(parseRtcp(Buffer.from([0xa0, 0xc9, 0x00, 0x02, ...SSRC, 0, 0, 0, 4])))
    assert.deepEqual(packets, [{type: 'RR', ssrc: 0x11223344, reports: []}])
  })

  it('names every class of garbage', () => {
    expectFailure([], 'truncated')
    expectFailure([0x80, 0xc9, 0x00], 'truncated')
    expectFailure([0x40, 0xc9, 0x00, 0x01, ...SSRC], 'version')
    expectFailure([0x80, 0xc9, 0x00, 0x05, ...SSRC], 'truncated')
    expectFailure([0x80, 0xc9, 0x00, 0x01, ...SSRC, 0x80, 0xc9], 'truncated')
    // Padding on a packet that is not the last, a zero count, a count beyond the body.
    expectFailure([0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 4, 0x80, 0xc9, 0x00, 0x01, ...SSRC], 'padding')
    expectFailure([0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 0], 'padding')
    expectFailure([0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 9], 'padding')
    // SR announcing one block that is not there.
    expectFailure([0x81, 0xc8, 0x00, 0x06, ...SSRC, ...Array(20).fill(0)], 'malformed')
    // SDES item list without its terminating null octet.
    expectFailure([0x81, 0xca, 0x00, 0x02, ...SSRC, 0x01, 0x02, 0x61, 0x62], 'malformed')
    // BYE announcing two SSRCs with one present; a reason longer than the packet.
    expectFailure([0x82, 0xcb, 0x00, 0x01, ...SSRC], 'malformed')
    expectFailure([0x81, 0xcb, 0x00, 0x02, ...SSRC, 0x09, 0x61, 0x62, 0x63], 'malformed')
  })

  it('never throws on random bytes', () => {
    let seed = 0x9e3779b9
    const random = (): number => {
      seed ^= seed << 13
      seed ^= seed >>> 17
      seed ^= seed << 5
      return seed >>> 0
    }
    for (let round = 0; round < 20_000; round++) {
      const datagram = Buffer.alloc(random() % 120)
      for (let index = 0; index < datagram.length; index++) datagram[index] = random() & 0xff
      if (datagram.length >= 4) {
        // A plausible header most of the time, so the bodies get parsed.
        datagram[0] = ((datagram[0] ?? 0) & 0x3f) | 0x80
        datagram[1] = 200 + (random() % 6)
        datagram.writeUInt16BE(Math.min(0xffff, ((datagram.length >> 2) - 1) & 0xffff), 2)
      }
      const result = parseRtcp(datagram)
      assert.equal(typeof result.ok, 'boolean')
    }
  })
})

describe('RTCP serialize', () => {
  it('builds SR + SDES CNAME that parses back', () => {
    const sender = {ntpSeconds: 3155673600, ntpFraction: 0x40000000, rtpTimestamp: 123456, packetCount: 500, octetCount: 80000}
    const bytes = buildCompoundReport({ssrc: 0xdeadbeef, cname: 'gw1@clutchcall', sender, reports: [block()]})
    // SR 52 octets; SDES: header 4 + SSRC 4 + CNAME item 2 + 14, then 4 null
    // octets (at least one is required, and 16 + 1 rounds up to 20) = 28.
    assert.equal(bytes.length, 52 + 28)
    assert.deepEqual([...bytes.subarray(0, 4)], [0x81, 0xc8, 0x00, 0x0c])
    assert.deepEqual([...bytes.subarray(52, 56)], [0x81, 0xca, 0x00, 0x06])
    assert.deepEqual([...bytes.subarray(76)], [0, 0, 0, 0])
    const [sr, sdes] = expectPackets(parseRtcp(bytes))
    assert.deepEqual(sr, {type: 'SR', ssrc: 0xdeadbeef, ...sender, reports: [block()]})
    assert.deepEqual(sdes, {type: 'SDES', chunks: [{ssrc: 0xdeadbeef, cname: 'gw1@clutchcall'}]})
  })

  it('writes an SDES CNAME chunk byte for byte', () => {
    const sdes: SourceDescriptionPacket = {type: 'SDES', chunks: [{ssrc: 0x11223344, cname: 'ab'}]}
    assert.deepEqual([...serializeRtcpPacket(sdes)], [0x81, 0xca, 0x00, 0x03, ...SSRC, 0x01, 0x02, 0x61, 0x62, 0, 0, 0, 0])
    const odd: SourceDescriptionPacket = {type: 'SDES', chunks: [{ssrc: 0x11223344, cname: 'abc'}]}
    assert.deepEqual([...serializeRtcpPacket(odd)], [0x81, 0xca, 0x00, 0x03, ...SSRC, 0x01, 0x03, 0x61, 0x62, 0x63, 0, 0, 0])
  })

  it('aligns each SDES chunk to 32 bits', () => {
    const sdes: SourceDescriptionPacket = {
      type: 'SDES',
      chunks: [
        {ssrc: 1, cname: 'ab'},
        {ssrc: 2, cname: 'xyz'},
        {ssrc: 3, cname: undefined},
      ],
    }
    const bytes = serializeRtcpPacket(sdes)
    // Chunks of 12, 12 and 8 octets after the header.
    assert.deepEqual([...bytes.subarray(0, 4)], [0x83, 0xca, 0x00, 0x08])
    assert.deepEqual([...bytes.subarray(16, 24)], [0, 0, 0, 2, 0x01, 0x03, 0x78, 0x79])
    assert.deepEqual(expectPackets(parseRtcp(bytes)), [sdes])
  })

  it('builds an RR with several blocks', () => {
    const reports = [block({ssrc: 1}), block({ssrc: 2, fractionLost: 0, cumulativeLost: 0}), block({ssrc: 3, jitter: 0xffffffff})]
    const bytes = buildCompoundReport({ssrc: 7, cname: 'x', reports})
    assert.deepEqual([...bytes.subarray(0, 4)], [0x83, 0xc9, 0x00, 0x13])
    const [rr, sdes] = expectPackets(parseRtcp(bytes))
    assert.deepEqual(rr, {type: 'RR', ssrc: 7, reports})
    assert.equal(sdes?.type, 'SDES')
  })

  it('stacks extra RRs past 31 report blocks (§6.4.2)', () => {
    const reports = Array.from({length: 40}, (_, index) => block({ssrc: index + 1}))
    const packets = expectPackets(parseRtcp(buildCompoundReport({ssrc: 7, cname: 'x', reports})))
    assert.deepEqual(
      packets.map((packet) => packet.type),
      ['RR', 'RR', 'SDES'],
    )
    const [first, second] = packets as [ReceiverReportPacket, ReceiverReportPacket]
    assert.equal(first.reports.length, 31)
    assert.equal(second.reports.length, 9)
    assert.equal(second.reports[8]?.ssrc, 40)
  })

  it('writes BYE with a reason padded to 32 bits', () => {
    const bye: ByePacket = {type: 'BYE', ssrcs: [0x11223344], reason: 'bye'}
    assert.deepEqual([...serializeRtcpPacket(bye)], [0x81, 0xcb, 0x00, 0x02, ...SSRC, 0x03, 0x62, 0x79, 0x65])
    const longer = serializeRtcpPacket({type: 'BYE', ssrcs: [1, 2], reason: 'gone'})
    assert.equal(longer.length, 4 + 8 + 8)
    assert.deepEqual([...longer.subarray(12)], [0x04, 0x67, 0x6f, 0x6e, 0x65, 0, 0, 0])
    const compound = buildCompoundReport({ssrc: 9, cname: 'c', bye: {reason: 'hangup'}})
    const packets = expectPackets(parseRtcp(compound))
    assert.deepEqual(packets.at(-1), {type: 'BYE', ssrcs: [9], reason: 'hangup'})
    assert.deepEqual(
      packets.map((packet) => packet.type),
      ['RR', 'SDES', 'BYE'],
    )
  })

  it('encodes cumulative loss as 24-bit signed, saturating', () => {
    const lostBytes = (cumulativeLost: number): number[] => {
      const bytes = serializeRtcpPacket({type: 'RR', ssrc: 1, reports: [block({cumulativeLost})]})
      return [...bytes.subarray(8 + 5, 8 + 8)]
    }
    assert.deepEqual(lostBytes(-1), [0xff, 0xff, 0xff])
    assert.deepEqual(lostBytes(-3), [0xff, 0xff, 0xfd])
    assert.deepEqual(lostBytes(-0x800000), [0x80, 0x00, 0x00])
    assert.deepEqual(lostBytes(-0x900000), [0x80, 0x00, 0x00])
    assert.deepEqual(lostBytes(0x7fffff), [0x7f, 0xff, 0xff])
    assert.deepEqual(lostBytes(0x1000000), [0x7f, 0xff, 0xff])
    const parsed = expectPackets(parseRtcp(serializeRtcpPacket({type: 'RR', ssrc: 1, reports: [block({cumulativeLost: -5})]})))
    assert.equal((parsed[0] as ReceiverReportPacket).reports[0]?.cumulativeLost, -5)
  })

  it('rejects what does not fit the wire format', () => {
    assert.throws(() => serializeRtcpPacket({type: 'RR', ssrc: 1, reports: Array(32).fill(block())}), RangeError)
    assert.throws(() => serializeRtcpPacket({type: 'RR', ssrc: 1, reports: [block({fractionLost: 256})]}), RangeError)
    assert.throws(() => serializeRtcpPacket({type: 'SDES', chunks: [{ssrc: 1, cname: 'x'.repeat(256)}]}), RangeError)
  })
})
