import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {compactNtp, msToCompactNtp, unixMsToCompactNtp} from '../../../../src/media/ntp.js'
import {buildCompoundReport, parseRtcp, type RtcpPacket} from '../../../../src/media/rtcp.js'
import {deliver, FakeWire, newStream, PCMU_REMOTE, REMOTE_SOURCE_PORT, REMOTE_SSRC} from './rtp-stream-helpers.js'

const T0 = 1_700_000_000_000

const parsedReports = (wire: FakeWire): RtcpPacket[][] =>
  wire.rtcp.map(({datagram}) => {
    const parsed = parseRtcp(datagram)
    if (!parsed.ok) throw new Error(`the stream sent unparseable RTCP (${parsed.reason})`)
    return parsed.packets
  })

const blockAbout = (ssrc: number, lastSenderReport: number, delaySinceLastSenderReport: number) => ({
  ssrc,
  fractionLost: 0,
  cumulativeLost: 0,
  extendedHighestSeq: 0,
  jitter: 0,
  lastSenderReport,
  delaySinceLastSenderReport,
})

describe('RtpStream RTCP', () => {
  it('sends an RR with its SSRC, a report block about the remote source and its CNAME', () => {
    const wire = new FakeWire()
    const stream = newStream(wire, {cname: 'leg-a@clutchcall'})
    stream.setRemote(PCMU_REMOTE)
    deliver(stream, 1, 50, (seq) => seq >= 20 && seq < 25)
    stream.sendReport()
    const [packets] = parsedReports(wire)
    const [report, sdes] = packets ?? []
    assert.equal(report?.type, 'RR', 'no media sent: a receiver report')
    if (report?.type !== 'RR') return
    assert.equal(report.ssrc, stream.ssrc)
    assert.equal(report.reports.length, 1)
    assert.equal(report.reports[0]?.ssrc, REMOTE_SSRC)
    assert.equal(report.reports[0]?.cumulativeLost, 5)
    assert.equal(report.reports[0]?.extendedHighestSeq, 50)
    assert.equal(report.reports[0]?.fractionLost, Math.floor((5 * 256) / 50))
    assert.deepEqual(sdes, {type: 'SDES', chunks: [{ssrc: stream.ssrc, cname: 'leg-a@clutchcall'}]})
    assert.equal(wire.rtcp[0]?.port, 40001)
    assert.equal(wire.rtcp[0]?.address, PCMU_REMOTE.address)
  })

  it('sends an SR after sending media, with its packet and octet counts', () => {
    const wire = new FakeWire()
    let clock = T0
    const stream = newStream(wire, {now: () => clock})
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    deliver(stream, 1, 10)
    clock = T0 + 1000
    stream.sendReport()
    stream.sendReport()
    const [first, second] = parsedReports(wire)
    const sr = first?.[0]
    assert.equal(sr?.type, 'SR')
    if (sr?.type !== 'SR') return
    assert.equal(sr.ssrc, stream.ssrc)
    assert.equal(sr.packetCount, 10)
    assert.equal(sr.octetCount, 1600)
    assert.equal(compactNtp(sr.ntpSeconds, sr.ntpFraction), unixMsToCompactNtp(clock))
    assert.equal(second?.[0]?.type, 'RR', 'nothing sent since the last report')
  })

  it('computes the round-trip time from an RR about its SSRC (LSR and DLSR known)', () => {
    const wire = new FakeWire()
    let clock = T0
    const stream = newStream(wire, {now: () => clock})
    stream.setRemote(PCMU_REMOTE)
    stream.setMode({kind: 'echo'})
    deliver(stream, 1, 5)
    stream.sendReport()
    const sr = parsedReports(wire)[0]?.[0]
    assert.equal(sr?.type, 'SR')
    if (sr?.type !== 'SR') return
    const lsr = compactNtp(sr.ntpSeconds, sr.ntpFraction)
    // The remote held our SR for 100 ms; its RR reaches us 180 ms after we sent the SR: RTT 80 ms.
    const foreign = buildCompoundReport({ssrc: REMOTE_SSRC, cname: 'remote', reports: [blockAbout(0x5555, lsr, msToCompactNtp(10))]})
    stream.onRtcp(foreign, PCMU_REMOTE.address, 40001, T0 + 180)
    assert.equal(stream.quality().rttMs, null, 'a block about another SSRC says nothing about our RTT')
    const rr = buildCompoundReport({ssrc: REMOTE_SSRC, cname: 'remote', reports: [blockAbout(stream.ssrc, lsr, msToCompactNtp(100))]})
    clock = T0 + 180
    stream.onRtcp(rr, PCMU_REMOTE.address, 40001, T0 + 180)
    const quality = stream.quality()
    assert.ok(quality.rttMs !== null && Math.abs(quality.rttMs - 80) < 0.1, `rtt ${quality.rttMs}`)
    assert.equal(stream.counters().rtcpReceived, 2)
    // RTCP comes back to where the remote sends it from.
    stream.sendReport()
    assert.equal(wire.rtcp.at(-1)?.port, 40001)
  })

  it('echoes the remote’s SR in its report block (LSR, DLSR)', () => {
    const wire = new FakeWire()
    let clock = T0
    const stream = newStream(wire, {now: () => clock})
    stream.setRemote(PCMU_REMOTE)
    deliver(stream, 1, 5)
    const remoteSr = buildCompoundReport({
      ssrc: REMOTE_SSRC,
      cname: 'remote',
      sender: {ntpSeconds: 0xe1234567, ntpFraction: 0x89abcdef, rtpTimestamp: 800, packetCount: 5, octetCount: 800},
    })
    stream.onRtcp(remoteSr, PCMU_REMOTE.address, REMOTE_SOURCE_PORT + 1, T0)
    clock = T0 + 250
    stream.sendReport()
    const report = parsedReports(wire)[0]?.[0]
    assert.ok(report?.type === 'RR')
    assert.equal(report.reports[0]?.lastSenderReport, compactNtp(0xe1234567, 0x89abcdef))
    assert.equal(report.reports[0]?.delaySinceLastSenderReport, msToCompactNtp(250))
    assert.equal(wire.rtcp[0]?.port, REMOTE_SOURCE_PORT + 1, 'RTCP goes to the latched RTCP source port')
  })

  it('drops RTCP from another address and malformed RTCP', () => {
    const stream = newStream(new FakeWire())
    stream.setRemote(PCMU_REMOTE)
    stream.onRtcp(buildCompoundReport({ssrc: 1, cname: 'x'}), '203.0.113.1', 40001, T0)
    stream.onRtcp(Buffer.from([0x80, 201, 0, 9]), PCMU_REMOTE.address, 40001, T0)
    assert.equal(stream.counters().rtcpReceived, 0)
    assert.equal(stream.counters().droppedForeignSource, 1)
    assert.equal(stream.counters().droppedMalformed, 1)
  })

  it('reports on its own every 0.5–1.5 × the interval, and sends a BYE on close', async () => {
    const wire = new FakeWire()
    const stream = newStream(wire, {rtcpIntervalMs: 40, random: () => 0})
    stream.setRemote(PCMU_REMOTE)
    await new Promise((resolve) => setTimeout(resolve, 150))
    const automatic = wire.rtcp.length
    // random() = 0 puts every report 20 ms after the previous one.
    assert.ok(automatic >= 3 && automatic <= 8, `${automatic} reports in 150 ms`)
    const final = stream.close('hangup')
    assert.equal(final.packetsSent, 0)
    const last = parsedReports(wire).at(-1)
    assert.deepEqual(last?.at(-1), {type: 'BYE', ssrcs: [stream.ssrc], reason: 'hangup'})
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.equal(wire.rtcp.length, automatic + 1, 'no report after close')
    assert.throws(() => stream.setMode({kind: 'echo'}), /closed/)
  })
})
