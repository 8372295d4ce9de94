// The play mode: 20 ms frames of a tone or of a WAV file, encoded for the
// negotiated codec and paced by the frame ticker. For G.711 a file is read
// and encoded once when the mode starts (prompts are small; a missing or
// corrupt file fails setMode at once instead of going quiet mid-call), then
// each frame is a copy into one reused buffer. For G.722 and Opus, whose
// encoders keep state, the file is read at the start too and each frame is
// encoded as it goes out; a tone is generated at 16 kHz (wideband).
import {CODEC_PROFILES, createPcmEncoder, isG711, type PcmEncoder, type StreamCodec} from './codecs.js'
import {encodeAlaw, encodeUlaw, linearToAlaw, linearToUlaw} from './g711.js'
import type {FrameTicker} from './frame-ticker.js'
import {FRAME_MS} from './frame-ticker.js'
import {Downsampler} from './resample.js'
import type {ActiveMode, G711Codec, ModeHost} from './stream-modes.js'
import {FRAME_SAMPLES, ToneGenerator} from './tone.js'
import {readWavFile} from './wav.js'

export type PlaySource =
  /** A sine tone; without a duration it plays until the mode changes. */
  | {readonly type: 'tone'; readonly frequencyHz: number; readonly levelDbm0?: number; readonly durationMs?: number}
  /** A mono WAV file: 8 kHz PCM16, µ-law or A-law, or 16 kHz PCM16. */
  | {readonly type: 'file'; readonly path: string}

/** How a play ended: it ran to its end, or the mode changed or the stream closed first. */
export type PlayOutcome = 'completed' | 'interrupted'

/** The code of linear zero in each law, to pad the last frame of a file. */
export const silenceCode = (codec: G711Codec): number => (codec === 'PCMU' ? linearToUlaw(0) : linearToAlaw(0))

interface FrameSource {
  /** The next frame's payload (valid until the next call); undefined at the end of the source. */
  next(): Uint8Array | undefined
  /** RTP clock ticks per frame; undefined: one per octet. */
  readonly ticks: number | undefined
  rewind(): void
  release(): void
}

class ToneSource implements FrameSource {
  readonly ticks = undefined
  private readonly generator: ToneGenerator
  private readonly totalFrames: number
  private readonly frame = Buffer.alloc(FRAME_SAMPLES)
  private played = 0

  constructor(
    source: Extract<PlaySource, {type: 'tone'}>,
    private readonly codec: G711Codec,
  ) {
    this.generator = new ToneGenerator({frequencyHz: source.frequencyHz, levelDbm0: source.levelDbm0})
    this.totalFrames = source.durationMs === undefined ? Number.POSITIVE_INFINITY : Math.ceil(source.durationMs / FRAME_MS)
  }

  next(): Uint8Array | undefined {
    if (this.played >= this.totalFrames) return undefined
    this.played++
    if (this.codec === 'PCMU') this.generator.nextUlawFrame(this.frame)
    else this.generator.nextAlawFrame(this.frame)
    return this.frame
  }

  rewind(): void {
    this.played = 0
  }

  release(): void {}
}

class FileSource implements FrameSource {
  readonly ticks = undefined
  private readonly encoded: Buffer
  private readonly silence: number
  private readonly frame = Buffer.alloc(FRAME_SAMPLES)
  private position = 0

  constructor(path: string, codec: G711Codec) {
    const wav = readWavFile(path)
    const sameLaw = (wav.format === 'ulaw' && codec === 'PCMU') || (wav.format === 'alaw' && codec === 'PCMA')
    // A 16 kHz file is brought down to the narrowband leg's 8 kHz first.
    const samples = wav.sampleRate === 16000 ? new Downsampler().process(wav.samples.length % 2 === 0 ? wav.samples : wav.samples.subarray(0, -1)) : wav.samples
    // Codes already in the negotiated law go out untouched (no second quantization).
    this.encoded = sameLaw ? wav.data : codec === 'PCMU' ? encodeUlaw(samples) : encodeAlaw(samples)
    this.silence = silenceCode(codec)
  }

  next(): Uint8Array | undefined {
    const remaining = this.encoded.length - this.position
    if (remaining <= 0) return undefined
    const count = Math.min(FRAME_SAMPLES, remaining)
    this.encoded.copy(this.frame, 0, this.position, this.position + count)
    if (count < FRAME_SAMPLES) this.frame.fill(this.silence, count)
    this.position += count
    return this.frame
  }

  rewind(): void {
    this.position = 0
  }

  release(): void {}
}

/** A tone or a file encoded frame by frame for G.722 or Opus. */
class EncodingSource implements FrameSource {
  readonly ticks: number
  private readonly encoder: PcmEncoder
  private readonly pcm: Int16Array
  private readonly tone: ToneGenerator | undefined
  private readonly samples: Int16Array | undefined
  private readonly totalFrames: number
  private played = 0
  private released = false

  constructor(source: PlaySource, codec: StreamCodec, maxBitrate?: number) {
    this.ticks = (CODEC_PROFILES[codec].clockRate * FRAME_MS) / 1000
    let rate: 8000 | 16000
    if (source.type === 'tone') {
      rate = CODEC_PROFILES[codec].audioRate
      this.tone = new ToneGenerator({frequencyHz: source.frequencyHz, levelDbm0: source.levelDbm0, sampleRate: rate, frameSamples: (rate * FRAME_MS) / 1000})
      this.totalFrames = source.durationMs === undefined ? Number.POSITIVE_INFINITY : Math.ceil(source.durationMs / FRAME_MS)
    } else {
      const wav = readWavFile(source.path)
      rate = wav.sampleRate === 16000 ? 16000 : 8000
      this.samples = wav.samples
      this.totalFrames = Math.ceil(wav.samples.length / ((rate * FRAME_MS) / 1000))
    }
    this.pcm = new Int16Array((rate * FRAME_MS) / 1000)
    this.encoder = createPcmEncoder(codec, rate, maxBitrate)
  }

  next(): Uint8Array | undefined {
    if (this.played >= this.totalFrames || this.released) return undefined
    const frame = this.pcm
    if (this.tone !== undefined) {
      this.tone.nextFrame(frame)
    } else if (this.samples !== undefined) {
      const start = this.played * frame.length
      const chunk = this.samples.subarray(start, start + frame.length)
      frame.set(chunk)
      frame.fill(0, chunk.length)
    }
    this.played++
    return this.encoder.encode(frame)
  }

  rewind(): void {
    this.played = 0
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.encoder.release()
  }
}

export class PlayMode implements ActiveMode {
  readonly kind = 'play'
  /** Settles when the source has been played out (or the mode ended early). */
  readonly done: Promise<PlayOutcome>
  private settle: (outcome: PlayOutcome) => void = () => {}
  private readonly source: FrameSource
  private unsubscribe: (() => void) | undefined
  private finished = false

  /** Throws when the file cannot be read or the tone is out of range. */
  constructor(
    private readonly host: ModeHost,
    codec: StreamCodec,
    source: PlaySource,
    private readonly loop: boolean,
    ticker: FrameTicker,
    maxBitrate?: number,
  ) {
    if (!isG711(codec)) this.source = new EncodingSource(source, codec, maxBitrate)
    else this.source = source.type === 'tone' ? new ToneSource(source, codec) : new FileSource(source.path, codec)
    this.done = new Promise((resolve) => (this.settle = resolve))
    this.unsubscribe = ticker.subscribe(this.onFrame)
  }

  onMedia(): void {}

  stop(): void {
    this.finish('interrupted')
  }

  private readonly onFrame = (nowMs: number): void => {
    if (this.finished) return
    let frame = this.source.next()
    if (frame === undefined && this.loop) {
      this.source.rewind()
      frame = this.source.next()
    }
    if (frame === undefined) {
      this.finish('completed')
      this.host.modeEnded(this)
      return
    }
    this.host.sendFrame(frame, nowMs, this.source.ticks)
  }

  private finish(outcome: PlayOutcome): void {
    if (this.finished) return
    this.finished = true
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.source.release()
    this.settle(outcome)
  }
}
