// Per-stream reception statistics (RFC 3550 Appendix A): sequence validation
// and 16-bit wrap counting (A.1), expected and lost packets (A.3) and
// interarrival jitter (A.8), plus what the A.1 sample code leaves out and a
// gateway needs: duplicates, reordered packets, octets, and totals that
// survive a source restart.
//
// Two deliberate differences from the A.1 sample code, both so that a clean
// stream of N packets reports N received and 0 lost:
//  - the packets that pass probation count (base_seq is the first of them,
//    not the last);
//  - duplicates are detected (over a window of recent sequence numbers) and
//    not counted as received, so cumulative loss does not go negative;
//  - packets that arrived during probation but out of order (so they broke
//    the sequential run instead of extending it) are remembered and counted
//    once the source is validated, when they lie within the reorder window of
//    the validating run: a stream whose first packets came reordered reports
//    every packet it got.

import type {ReportBlock} from './rtcp.js'
import {compactNtp, msToCompactNtp} from './ntp.js'

const RTP_SEQ_MOD = 0x10000
const MIN_SEQUENTIAL = 2
const MAX_DROPOUT = 3000
const MAX_MISORDER = 100
// A power of two above MAX_MISORDER: reordered packets older than that are
// treated as a sequence jump by A.1 anyway.
const SEEN_WINDOW = 128
// Probation packets remembered for counting once the source validates (the last few; a longer
// probation is a source that never settles, whose earliest packets are forgotten).
const HELD_MAX = 8
// Extended numbers go to −1 (and lower for packets reordered before the first counted one).
const seenSlot = (extended: number): number => ((extended % SEEN_WINDOW) + SEEN_WINDOW) % SEEN_WINDOW
const MIN_CUMULATIVE_LOST = -0x800000
const MAX_CUMULATIVE_LOST = 0x7fffff

export type PacketVerdict =
  /** Counted, at or beyond the highest sequence number so far. */
  | 'in-order'
  /** Counted, older than the highest sequence number (it was late). */
  | 'reordered'
  /** Already seen: not counted again. */
  | 'duplicate'
  /** Source not yet validated (A.1 probation): held back. */
  | 'probation'
  /** A large jump waiting for a second sequential packet to confirm a restart. */
  | 'jump'

export interface ReceiverSnapshot {
  /** Distinct packets counted (duplicates excluded). */
  readonly received: number
  readonly expected: number
  /** Cumulative lost (expected − received), not clamped. */
  readonly lost: number
  /** lost / expected over the whole stream, 0..1. */
  readonly lossRatio: number
  /** Loss over the interval since the last reportBlockFields(), 0..1. */
  readonly fractionLostInterval: number
  /** Interarrival jitter in RTP timestamp units. */
  readonly jitter: number
  readonly jitterMs: number
  readonly duplicates: number
  readonly reordered: number
  /** Payload octets of the counted packets. */
  readonly octets: number
  /** Cycles (in units of 65536) plus the highest sequence number, as RTCP reports it. */
  readonly extendedHighestSeq: number
  /** Times the source restarted its sequence numbering (A.1 resync). */
  readonly restarts: number
  /** Whether the source passed probation. */
  readonly validated: boolean
}

export interface ReceiverStatsOptions {
  /** SSRC of the source these statistics describe (goes into report blocks). */
  readonly ssrc: number
  /** RTP clock rate of the payload format, e.g. 8000 for PCMU/PCMA, 48000 for opus. */
  readonly clockRate: number
}

export class ReceiverStats {
  readonly ssrc: number
  readonly clockRate: number

  // A.1 state of the current sequence epoch.
  private started = false
  private probation = MIN_SEQUENTIAL
  private maxSeq = 0
  private cycles = 0
  // Extended number of the first counted packet; −1 when probation straddled a wrap.
  private baseSeq = 0
  private badSeq = RTP_SEQ_MOD + 1
  private epochReceived = 0
  private pendingOctets = 0

  // Totals carried across restarts, so the call-level counts never go backwards.
  private carriedReceived = 0
  private carriedExpected = 0
  private expectedPrior = 0
  private receivedPrior = 0

  private duplicates = 0
  private reordered = 0
  private octets = 0
  private restarts = 0
  private readonly seen = new Float64Array(SEEN_WINDOW).fill(Number.NaN)
  // Packets seen during probation (a ring of HELD_MAX): sequence numbers and payload sizes.
  private readonly heldSeq = new Int32Array(HELD_MAX)
  private readonly heldBytes = new Int32Array(HELD_MAX)
  private heldCount = 0

  // A.8 state: transit time of the previous counted packet, in timestamp units.
  private hasTransit = false
  private transitArrival = 0
  private transitTimestamp = 0
  private jitter = 0

  // The last SR from this source, for LSR/DLSR (§6.4.1).
  private hasSenderReport = false
  private lastSenderReport = 0
  private lastSenderReportArrivalMs = 0

  constructor(options: ReceiverStatsOptions) {
    if (!(options.clockRate > 0)) throw new RangeError(`clock rate must be positive, got ${options.clockRate}`)
    this.ssrc = options.ssrc
    this.clockRate = options.clockRate
  }

  /** Records one RTP packet of this source and says how it was counted. */
  onPacket(seq: number, rtpTimestamp: number, arrivalMs: number, payloadBytes: number): PacketVerdict {
    if (!this.started) {
      // A.1: a new source starts on probation, as if the previous number had been seen.
      this.started = true
      this.maxSeq = (seq - 1) & 0xffff
      this.probation = MIN_SEQUENTIAL
    }
    const delta = (seq - this.maxSeq) & 0xffff

    if (this.probation > 0) {
      this.hold(seq, payloadBytes)
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--
        this.maxSeq = seq
        this.pendingOctets += payloadBytes
        if (this.probation > 0) {
          this.noteTransit(arrivalMs, rtpTimestamp, false)
          return 'probation'
        }
        this.startEpoch(seq, MIN_SEQUENTIAL)
        this.noteTransit(arrivalMs, rtpTimestamp, true)
        this.countHeld()
        return 'in-order'
      }
      this.probation = MIN_SEQUENTIAL - 1
      this.maxSeq = seq
      this.pendingOctets = payloadBytes
      this.noteTransit(arrivalMs, rtpTimestamp, false)
      return 'probation'
    }

    if (delta < MAX_DROPOUT) {
      const extended = this.cycles + (seq < this.maxSeq ? RTP_SEQ_MOD : 0) + seq
      if (this.seen[seenSlot(extended)] === extended) return this.countDuplicate()
      // A.1: a smaller number within the dropout window means a 16-bit wrap.
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD
      this.maxSeq = seq
      this.count(extended, rtpTimestamp, arrivalMs, payloadBytes)
      return 'in-order'
    }

    if (delta <= RTP_SEQ_MOD - MAX_MISORDER) {
      if (seq !== this.badSeq) {
        this.badSeq = (seq + 1) & 0xffff
        this.pendingOctets = payloadBytes
        return 'jump'
      }
      // A.1: two sequential packets after a large jump: the source restarted.
      this.carriedReceived += this.epochReceived
      this.carriedExpected += this.epochExpected()
      this.restarts++
      this.pendingOctets += payloadBytes
      this.startEpoch(seq, 2)
      // The restarted source has a new timestamp base: start the transit afresh.
      this.noteTransit(arrivalMs, rtpTimestamp, false)
      return 'in-order'
    }

    // Within MAX_MISORDER behind the highest number: late or duplicated.
    const extended = this.cycles + seq - (seq > this.maxSeq ? RTP_SEQ_MOD : 0)
    if (this.seen[seenSlot(extended)] === extended) return this.countDuplicate()
    this.reordered++
    // Older than the run that validated the source: the stream began earlier.
    if (extended < this.baseSeq) this.baseSeq = extended
    this.count(extended, rtpTimestamp, arrivalMs, payloadBytes)
    return 'reordered'
  }

  /** Records an SR received from this source, for the LSR/DLSR of the next report block. */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.hasSenderReport = true
    this.lastSenderReport = compactNtp(ntpSeconds, ntpFraction)
    this.lastSenderReportArrivalMs = arrivalMs
  }

  snapshot(): ReceiverSnapshot {
    const expected = this.totalExpected()
    const received = this.totalReceived()
    const lost = expected - received
    const expectedInterval = expected - this.expectedPrior
    const lostInterval = expectedInterval - (received - this.receivedPrior)
    return {
      received,
      expected,
      lost,
      lossRatio: expected > 0 ? Math.max(0, lost) / expected : 0,
      fractionLostInterval: expectedInterval > 0 && lostInterval > 0 ? lostInterval / expectedInterval : 0,
      jitter: this.jitter,
      jitterMs: (this.jitter * 1000) / this.clockRate,
      duplicates: this.duplicates,
      reordered: this.reordered,
      octets: this.octets,
      extendedHighestSeq: this.extendedMax(),
      restarts: this.restarts,
      validated: this.started && this.probation === 0,
    }
  }

  /**
   * The fields of a reception report block for this source (A.3), and the
   * start of a new reporting interval. `nowMs` is when the report is sent.
   */
  reportBlockFields(nowMs: number): ReportBlock {
    const expected = this.totalExpected()
    const received = this.totalReceived()
    const expectedInterval = expected - this.expectedPrior
    const lostInterval = expectedInterval - (received - this.receivedPrior)
    this.expectedPrior = expected
    this.receivedPrior = received
    // A.3: fraction in 1/256; 255 caps the all-lost case that would need 256.
    const fractionLost = expectedInterval > 0 && lostInterval > 0 ? Math.min(255, Math.floor((lostInterval * 256) / expectedInterval)) : 0
    return {
      ssrc: this.ssrc,
      fractionLost,
      cumulativeLost: Math.min(MAX_CUMULATIVE_LOST, Math.max(MIN_CUMULATIVE_LOST, expected - received)),
      extendedHighestSeq: this.extendedMax() >>> 0,
      jitter: Math.min(0xffffffff, Math.floor(this.jitter)),
      lastSenderReport: this.lastSenderReport,
      delaySinceLastSenderReport: this.hasSenderReport ? msToCompactNtp(nowMs - this.lastSenderReportArrivalMs) : 0,
    }
  }

  private startEpoch(seq: number, packetsInRun: number): void {
    // Like A.1 init_seq, but the run that validated the source is counted.
    this.maxSeq = seq
    this.cycles = 0
    this.baseSeq = seq - (packetsInRun - 1)
    this.badSeq = RTP_SEQ_MOD + 1
    this.epochReceived = packetsInRun
    this.octets += this.pendingOctets
    this.pendingOctets = 0
    this.seen.fill(Number.NaN)
    for (let extended = this.baseSeq; extended <= seq; extended++) this.seen[seenSlot(extended)] = extended
  }

  private hold(seq: number, payloadBytes: number): void {
    const slot = this.heldCount % HELD_MAX
    this.heldSeq[slot] = seq
    this.heldBytes[slot] = payloadBytes
    this.heldCount++
  }

  /**
   * Counts the probation packets outside the run that validated the source
   * (which startEpoch counted): those within MAX_MISORDER behind it or
   * MAX_DROPOUT ahead of it, each once. One ahead moves the highest number.
   */
  private countHeld(): void {
    const validated = this.maxSeq
    const held = Math.min(this.heldCount, HELD_MAX)
    this.heldCount = 0
    let highest = 0
    for (let index = 0; index < held; index++) {
      const seq = this.heldSeq[index] ?? 0
      const ahead = (seq - validated) & 0xffff
      let offset: number
      if (ahead !== 0 && ahead < MAX_DROPOUT) offset = ahead
      else if (ahead > RTP_SEQ_MOD - MAX_MISORDER) offset = ahead - RTP_SEQ_MOD
      else continue
      const extended = validated + offset
      if (this.seen[seenSlot(extended)] === extended) continue
      this.seen[seenSlot(extended)] = extended
      this.epochReceived++
      this.octets += this.heldBytes[index] ?? 0
      this.reordered++
      if (offset > highest) highest = offset
      if (extended < this.baseSeq) this.baseSeq = extended
    }
    if (highest > 0) {
      const top = validated + highest
      if (top >= RTP_SEQ_MOD) this.cycles += RTP_SEQ_MOD
      this.maxSeq = top & 0xffff
    }
  }

  private count(extended: number, rtpTimestamp: number, arrivalMs: number, payloadBytes: number): void {
    this.seen[seenSlot(extended)] = extended
    this.epochReceived++
    this.octets += payloadBytes
    this.noteTransit(arrivalMs, rtpTimestamp, true)
  }

  private countDuplicate(): PacketVerdict {
    this.duplicates++
    return 'duplicate'
  }

  /** A.8: J += (|D| − J) / 16, D the difference of successive transit times. */
  private noteTransit(arrivalMs: number, rtpTimestamp: number, updateJitter: boolean): void {
    const arrival = (arrivalMs * this.clockRate) / 1000
    if (updateJitter && this.hasTransit) {
      // The timestamp difference is taken modulo 2^32 so a wrap is harmless.
      const difference = arrival - this.transitArrival - ((rtpTimestamp - this.transitTimestamp) | 0)
      this.jitter += (Math.abs(difference) - this.jitter) / 16
    }
    this.hasTransit = true
    this.transitArrival = arrival
    this.transitTimestamp = rtpTimestamp
  }

  private extendedMax(): number {
    return this.cycles + this.maxSeq
  }

  private epochExpected(): number {
    return this.epochReceived === 0 ? 0 : this.extendedMax() - this.baseSeq + 1
  }

  private totalExpected(): number {
    return this.carriedExpected + this.epochExpected()
  }

  private totalReceived(): number {
    return this.carriedReceived + this.epochReceived
  }
}
