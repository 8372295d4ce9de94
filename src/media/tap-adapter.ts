// What the tap mode (AI agents, the agent stream) sees of a stream whose codec
// is not G.711: agents take and give 20 ms µ-law frames (docs/agent-stream.md),
// so received G.722 or Opus is decoded to 8 kHz and re-gathered into 160-sample
// µ-law frames, and each injected µ-law frame is encoded to the stream's codec.
import {CODEC_PROFILES, createPcmDecoder, createPcmEncoder, type PcmDecoder, type PcmEncoder, type StreamCodec} from './codecs.js'
import {decodeUlaw, encodeUlaw} from './g711.js'

const FRAME_SAMPLES = 160
/** Opus frame lengths at 8 kHz (2.5 to 60 ms); an injected frame of another length cannot be encoded and is left out. */
const OPUS_FRAME_SAMPLES = new Set([20, 40, 80, 160, 320, 480])

export class UlawTapAdapter {
  private readonly decoder: PcmDecoder
  private released = false
  private readonly encoder: PcmEncoder
  private readonly ticksPerSample: number
  private readonly pending = new Int16Array(FRAME_SAMPLES)
  private pendingLength = 0

  constructor(
    readonly codec: StreamCodec,
    maxBitrate?: number,
  ) {
    this.decoder = createPcmDecoder(codec, 8000)
    this.encoder = createPcmEncoder(codec, 8000, maxBitrate)
    this.ticksPerSample = CODEC_PROFILES[codec].clockRate / 8000
  }

  /** Hands `deliver` every complete 20 ms µ-law frame of the payload's audio (a copy each). */
  toUlaw(payload: Uint8Array, deliver: (ulaw: Buffer) => void): void {
    const samples = this.decoder.decode(payload)
    if (samples === undefined) return
    let offset = 0
    while (offset < samples.length) {
      const take = Math.min(FRAME_SAMPLES - this.pendingLength, samples.length - offset)
      this.pending.set(samples.subarray(offset, offset + take), this.pendingLength)
      this.pendingLength += take
      offset += take
      if (this.pendingLength === FRAME_SAMPLES) {
        deliver(encodeUlaw(this.pending))
        this.pendingLength = 0
      }
    }
  }

  /** One µ-law frame in the stream's codec, with its RTP clock ticks; undefined when it cannot be encoded. */
  fromUlaw(ulaw: Uint8Array): {payload: Uint8Array; ticks: number} | undefined {
    if (ulaw.length === 0 || (this.codec === 'opus' && !OPUS_FRAME_SAMPLES.has(ulaw.length))) return undefined
    const samples = decodeUlaw(ulaw)
    // G.722 at 8 kHz input is upsampled to an even count; any length works.
    return {payload: this.encoder.encode(samples), ticks: ulaw.length * this.ticksPerSample}
  }

  /** Idempotent: a mode's stop() may come more than once. */
  release(): void {
    if (this.released) return
    this.released = true
    this.decoder.release()
    this.encoder.release()
  }
}
