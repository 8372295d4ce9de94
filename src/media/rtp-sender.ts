// The sending half of an RTP endpoint: our SSRC, sequence numbers and the
// timestamp timeline, for frames we generate (play, inject) and for packets we
// re-send on behalf of another source (echo, relay). Every packet leaves with
// our own SSRC and sequence, so the remote sees one well-formed RTP source
// whatever the audio's origin, and our RTCP sender reports stay consistent.
//
// Timeline rules (on the codec's RTP clock: 8 kHz for G.711 and G.722, 48 kHz
// for Opus; telephone-event shares the audio's clock):
//  - generated frames follow each other contiguously (timestamp += samples of
//    the previous frame) while they come at most MAX_CONTIGUOUS_GAP_MS apart;
//    after a longer gap the timeline jumps by the wall-clock time elapsed and
//    the marker bit flags the new talkspurt (RFC 3551 §4.1);
//  - forwarded packets keep their source's timestamp spacing (gaps, DTMF
//    events sharing one timestamp) through a fixed offset, re-anchored with a
//    marker when the source's SSRC changes or after resync().
import {randomInt} from 'node:crypto'
import {OutputRing} from './output-ring.js'
import type {RtpPacket} from './rtp.js'

/**
 * Sends one datagram. The stream does not touch `datagram` again until the
 * transport calls `sent` (node:dgram's send callback), so it can reuse it.
 */
export type DatagramSender = (datagram: Buffer, port: number, address: string, sent: () => void) => void

/** The RTP clock of G.711 (and of G.722, RFC 3551 §4.5.2), the default. */
export const RTP_CLOCK_RATE = 8000
const HEADER_LENGTH = 12
/** Generated frames further apart than this start a new talkspurt on the timeline. */
export const MAX_CONTIGUOUS_GAP_MS = 80

const random32 = (): number => randomInt(0, 0x1_0000_0000 - 1)

/** Writes the 12-octet fixed header (no CSRC, extension or padding). */
const writeHeader = (target: Buffer, marker: boolean, payloadType: number, sequence: number, timestamp: number, ssrc: number): void => {
  target[0] = 0x80
  target[1] = (marker ? 0x80 : 0) | payloadType
  target.writeUInt16BE(sequence, 2)
  target.writeUInt32BE(timestamp, 4)
  target.writeUInt32BE(ssrc, 8)
}

export interface SenderTarget {
  address: string
  port: number
}

export class RtpSender {
  readonly ssrc: number
  packetsSent = 0
  /** Payload octets sent (what an SR's octet count holds). */
  octetsSent = 0
  /** Whether media went out since the last RTCP report (SR rather than RR, RFC 3550 §6.4). */
  sentSinceReport = false

  private sequence: number
  private lastTimestamp: number
  private lastSamples = 0
  private lastSentAtMs = Number.NaN
  private discontinuity = true
  private forwardedSsrc = -1
  private forwardOffset = 0
  private readonly ring = new OutputRing(HEADER_LENGTH + 320)
  /** RTP clock ticks per millisecond. */
  private ticksPerMs = RTP_CLOCK_RATE / 1000

  constructor(
    private readonly send: DatagramSender,
    private readonly target: SenderTarget,
    ssrc: number = random32(),
  ) {
    this.ssrc = ssrc >>> 0
    // RFC 3550 §5.1: random initial sequence number and timestamp.
    this.sequence = randomInt(0, 0x10000)
    this.lastTimestamp = random32()
  }

  /** The next packet starts a new segment of the timeline (mode change, new remote). */
  resync(): void {
    this.discontinuity = true
  }

  /** The RTP clock of the codec now sent (a re-INVITE may change it); the timeline starts a new segment. */
  setClockRate(clockRate: number): void {
    const ticksPerMs = clockRate / 1000
    if (ticksPerMs === this.ticksPerMs) return
    this.ticksPerMs = ticksPerMs
    this.discontinuity = true
  }

  /**
   * Sends a frame we produced; `table`, when given, maps each payload octet
   * (G.711 transcoding). `ticks`: the clock ticks it plays for, by default one
   * per octet (G.711, G.722).
   */
  sendFrame(payloadType: number, payload: Uint8Array, nowMs: number, table?: Uint8Array, ticks: number = payload.length): void {
    let marker = false
    let timestamp: number
    if (!this.discontinuity && this.lastSentAtMs + MAX_CONTIGUOUS_GAP_MS >= nowMs) {
      timestamp = (this.lastTimestamp + this.lastSamples) >>> 0
    } else {
      timestamp = this.timelineAt(nowMs)
      marker = true
      this.forwardedSsrc = -1
    }
    this.transmit(marker, payloadType, timestamp, payload, nowMs, ticks, table)
  }

  /**
   * Re-sends a received packet's payload under our SSRC, sequence and
   * timeline. `samples` is the audio it carries (0 for telephone-event).
   */
  forward(packet: RtpPacket, payloadType: number, samples: number, nowMs: number, table?: Uint8Array): void {
    let marker = packet.marker
    if (this.discontinuity || packet.ssrc !== this.forwardedSsrc) {
      this.forwardOffset = (this.timelineAt(nowMs) - packet.timestamp) >>> 0
      this.forwardedSsrc = packet.ssrc
      marker = true
    }
    this.transmit(marker, payloadType, (packet.timestamp + this.forwardOffset) >>> 0, packet.payload, nowMs, samples, table)
  }

  /** The RTP timestamp matching wall-clock `nowMs` on our timeline, for an SR (RFC 3550 §6.4.1). */
  rtpTimestampAt(nowMs: number): number {
    if (Number.isNaN(this.lastSentAtMs)) return this.lastTimestamp
    return (this.lastTimestamp + Math.round((nowMs - this.lastSentAtMs) * this.ticksPerMs)) >>> 0
  }

  /** Where the timeline stands at `nowMs`: past the previous packet by at least its duration. */
  private timelineAt(nowMs: number): number {
    if (Number.isNaN(this.lastSentAtMs)) return this.lastTimestamp
    const elapsed = Math.round((nowMs - this.lastSentAtMs) * this.ticksPerMs)
    return (this.lastTimestamp + Math.max(this.lastSamples, elapsed)) >>> 0
  }

  private transmit(marker: boolean, payloadType: number, timestamp: number, payload: Uint8Array, nowMs: number, samples: number, table?: Uint8Array): void {
    const length = HEADER_LENGTH + payload.length
    const slot = this.ring.acquire()
    const buffer = slot.bufferFor(length)
    writeHeader(buffer, marker, payloadType, this.sequence, timestamp, this.ssrc)
    if (table === undefined) {
      buffer.set(payload, HEADER_LENGTH)
    } else {
      for (let index = 0; index < payload.length; index++) buffer[HEADER_LENGTH + index] = table[payload[index] as number] as number
    }
    this.sequence = (this.sequence + 1) & 0xffff
    this.lastTimestamp = timestamp
    this.lastSamples = samples
    this.lastSentAtMs = nowMs
    this.discontinuity = false
    this.packetsSent++
    this.octetsSent += payload.length
    this.sentSinceReport = true
    this.send(slot.packet(length), this.target.port, this.target.address, slot.release)
  }
}
