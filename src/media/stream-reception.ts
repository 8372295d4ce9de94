// The receiving side of an RtpStream: which remote source is current, its
// RFC 3550 statistics, totals that survive a change of source, and the loss
// over each quality interval.
import {ReceiverStats, type ReceiverSnapshot} from './receiver-stats.js'
import type {ReportBlock} from './rtcp.js'
import type {RtpPacket} from './rtp.js'
import {RTP_CLOCK_RATE} from './rtp-sender.js'

export interface ReceptionTotals {
  readonly received: number
  readonly expected: number
  /** Cumulative lost, never negative. */
  readonly lost: number
  /** Loss over the interval since the previous call, 0..1. */
  readonly intervalLossRatio: number
  readonly jitterMs: number
}

export class StreamReception {
  private source: ReceiverStats | undefined
  private carriedReceived = 0
  private carriedExpected = 0
  private candidateSsrc = -1
  private candidateSequence = -1
  private intervalExpected = 0
  private intervalReceived = 0
  private clockRate = RTP_CLOCK_RATE

  /**
   * The RTP clock of the negotiated codec. A change (a re-INVITE moving
   * between Opus and an 8 kHz codec) retires the current source's statistics,
   * whose jitter was on the old clock; their counts carry on in the totals.
   */
  setClockRate(clockRate: number): void {
    if (clockRate === this.clockRate) return
    this.clockRate = clockRate
    if (this.source === undefined) return
    const retired = this.source.snapshot()
    this.carriedReceived += retired.received
    this.carriedExpected += retired.expected
    this.source = undefined
  }

  /** SSRC of the current remote source, if any packet came yet. */
  get sourceSsrc(): number | undefined {
    return this.source?.ssrc
  }

  /**
   * The statistics the packet counts in, or undefined when it is left out: a
   * new SSRC replaces the current source only on its second sequential
   * packet, so one stray datagram cannot reset the statistics.
   */
  statsFor(packet: RtpPacket): ReceiverStats | undefined {
    const current = this.source
    if (current !== undefined && current.ssrc === packet.ssrc) return current
    if (current !== undefined) {
      const follows = packet.ssrc === this.candidateSsrc && packet.sequenceNumber === ((this.candidateSequence + 1) & 0xffff)
      this.candidateSsrc = packet.ssrc
      this.candidateSequence = packet.sequenceNumber
      if (!follows) return undefined
      const retired = current.snapshot()
      this.carriedReceived += retired.received
      this.carriedExpected += retired.expected
    }
    this.candidateSsrc = -1
    this.source = new ReceiverStats({ssrc: packet.ssrc, clockRate: this.clockRate})
    return this.source
  }

  /** An SR from the remote: remembered for the LSR/DLSR of our next report block. */
  onSenderReport(ssrc: number, ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    if (this.source !== undefined && this.source.ssrc === ssrc) this.source.onSenderReport(ntpSeconds, ntpFraction, arrivalMs)
  }

  /** The report block about the current source (none before it is validated); starts a new RTCP interval. */
  reportBlocks(nowMs: number): ReportBlock[] {
    return this.source?.snapshot().validated ? [this.source.reportBlockFields(nowMs)] : []
  }

  /** Totals since the stream began; starts a new quality interval. */
  totals(): ReceptionTotals {
    const snapshot: ReceiverSnapshot | undefined = this.source?.snapshot()
    const received = this.carriedReceived + (snapshot?.received ?? 0)
    const expected = this.carriedExpected + (snapshot?.expected ?? 0)
    const intervalExpected = expected - this.intervalExpected
    const intervalLost = intervalExpected - (received - this.intervalReceived)
    this.intervalExpected = expected
    this.intervalReceived = received
    return {
      received,
      expected,
      lost: Math.max(0, expected - received),
      intervalLossRatio: intervalExpected > 0 ? Math.min(1, Math.max(0, intervalLost / intervalExpected)) : 0,
      jitterMs: snapshot?.jitterMs ?? 0,
    }
  }
}
