// Transcoding one direction of a relay between legs whose codecs differ and
// are not both G.711 (those two map code to code by a table in the stream):
// decode to linear PCM at the rate both codecs carry (16 kHz between two
// wideband codecs, else 8 kHz), gather it, and encode 20 ms frames for the
// other leg. Timestamps are carried over from the source's timeline,
// converted between the two RTP clocks, so a lost packet stays a gap the
// far end sees (and conceals) rather than being closed up.
import {CODEC_PROFILES, createPcmDecoder, createPcmEncoder, pivotRate, type PcmDecoder, type PcmEncoder, type StreamCodec} from './codecs.js'
import type {RtpPacket} from './rtp.js'

const FRAME_MS = 20
/** The most audio one packet may bring (120 ms): a longer one is refused, so a single packet's cost stays bounded. */
const MAX_PACKET_MS = 120

/** A frame ready to send: shaped like a received packet so the sender forwards it onto its own timeline. */
export interface TranscodedFrame {
  readonly packet: RtpPacket
  /** The frame's duration in the target's RTP clock ticks. */
  readonly ticks: number
}

export class RelayTranscoder {
  private readonly decoder: PcmDecoder
  private released = false
  private readonly encoder: PcmEncoder
  private readonly frameSamples: number
  private readonly ticksPerFrame: number
  /** Target clock ticks per sample at the pivot rate. */
  private readonly ticksPerSample: number
  /** Target clock ticks per source clock tick. */
  private readonly clockRatio: number
  private readonly maxDecoded: number
  private readonly fifo: Int16Array
  private fifoLength = 0
  /** Target-clock timestamp of fifo[0]. */
  private fifoTimestamp = 0
  private sourceSsrc = -1
  private anchorIn = 0
  private anchorOut = 0
  private markNext = false
  private readonly out: RtpPacket = {
    ok: true,
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    csrcs: [],
    extensionProfile: undefined,
    extensionData: undefined,
    payload: Buffer.alloc(0),
    paddingLength: 0,
  }

  constructor(
    readonly from: StreamCodec,
    readonly to: StreamCodec,
    /** The target's Opus maxaveragebitrate, when it gave one. */
    readonly maxBitrate?: number,
  ) {
    const rate = pivotRate(from, to)
    this.decoder = createPcmDecoder(from, rate)
    this.encoder = createPcmEncoder(to, rate, maxBitrate)
    this.frameSamples = (rate * FRAME_MS) / 1000
    const targetClock = CODEC_PROFILES[to].clockRate
    this.ticksPerFrame = (targetClock * FRAME_MS) / 1000
    this.ticksPerSample = targetClock / rate
    this.clockRatio = targetClock / CODEC_PROFILES[from].clockRate
    this.maxDecoded = (rate * MAX_PACKET_MS) / 1000
    this.fifo = new Int16Array(this.maxDecoded + this.frameSamples)
  }

  /**
   * Decodes a packet of the source codec and hands each complete 20 ms frame
   * of the target codec to `emit`. False when the payload could not be
   * decoded or brings more than 120 ms (nothing is emitted for it).
   */
  push(packet: RtpPacket, emit: (frame: TranscodedFrame) => void): boolean {
    const samples = this.decoder.decode(packet.payload)
    if (samples === undefined || samples.length > this.maxDecoded) return false
    const timestamp = this.targetTimestamp(packet)
    if (timestamp !== ((this.fifoTimestamp + Math.round(this.fifoLength * this.ticksPerSample)) >>> 0)) {
      // Not where the gathered audio ends (a loss, a reorder, a new source): what was gathered is dropped.
      this.fifoLength = 0
      this.fifoTimestamp = timestamp
      this.markNext = true
    }
    if (packet.marker) this.markNext = true
    this.fifo.set(samples, this.fifoLength)
    this.fifoLength += samples.length
    let offset = 0
    while (this.fifoLength - offset >= this.frameSamples) {
      const out = this.out
      out.payload = asBuffer(this.encoder.encode(this.fifo.subarray(offset, offset + this.frameSamples)))
      out.timestamp = this.fifoTimestamp
      out.ssrc = packet.ssrc
      out.marker = this.markNext
      this.markNext = false
      emit({packet: out, ticks: this.ticksPerFrame})
      offset += this.frameSamples
      this.fifoTimestamp = (this.fifoTimestamp + this.ticksPerFrame) >>> 0
    }
    if (offset > 0) {
      this.fifo.copyWithin(0, offset, this.fifoLength)
      this.fifoLength -= offset
    }
    return true
  }

  /** Frees the codecs' memory (Opus lives in WebAssembly memory, outside the garbage collector); idempotent. */
  release(): void {
    if (this.released) return
    this.released = true
    this.decoder.release()
    this.encoder.release()
  }

  /** Target clock ticks per source clock tick (6 from 8 kHz to Opus's 48 kHz, 1/6 the other way). */
  get ticksRatio(): number {
    return this.clockRatio
  }

  /**
   * A telephone-event packet's timestamp on the target clock, on the same
   * timeline as the audio (so the event lines up with the transcoded frames).
   * It does not move the audio's anchor: an event's timestamp stays at the
   * event's start while its packets repeat, and re-anchoring on it would round
   * the audio's timeline off its frames.
   */
  eventTimestamp(packet: RtpPacket): number {
    if (packet.ssrc !== this.sourceSsrc) return this.targetTimestamp(packet)
    return (this.anchorOut + Math.round(((packet.timestamp - this.anchorIn) | 0) * this.clockRatio)) >>> 0
  }

  /** The packet's timestamp on the target clock, following the source's spacing (a signed 32-bit step, so wrap-around is fine). */
  private targetTimestamp(packet: RtpPacket): number {
    if (packet.ssrc !== this.sourceSsrc) {
      this.sourceSsrc = packet.ssrc
      this.anchorIn = packet.timestamp
      this.anchorOut = (this.fifoTimestamp + this.ticksPerFrame * 50) >>> 0
      return this.anchorOut
    }
    const step = (packet.timestamp - this.anchorIn) | 0
    this.anchorIn = packet.timestamp
    this.anchorOut = (this.anchorOut + Math.round(step * this.clockRatio)) >>> 0
    return this.anchorOut
  }
}

const asBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length))
