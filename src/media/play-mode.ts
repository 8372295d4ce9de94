// The play mode: 20 ms frames of a tone or of a WAV file, encoded for the
// negotiated codec and paced by the frame ticker. A file is read and encoded
// once when the mode starts (prompts are small; a missing or corrupt file
// fails setMode at once instead of going quiet mid-call), then each frame is
// a copy into one reused buffer.
import {encodeAlaw, encodeUlaw, linearToAlaw, linearToUlaw} from './g711.js'
import type {FrameTicker} from './frame-ticker.js'
import {FRAME_MS} from './frame-ticker.js'
import type {ActiveMode, G711Codec, ModeHost} from './stream-modes.js'
import {FRAME_SAMPLES, ToneGenerator} from './tone.js'
import {readWavFile} from './wav.js'

export type PlaySource =
  /** A sine tone; without a duration it plays until the mode changes. */
  | {readonly type: 'tone'; readonly frequencyHz: number; readonly levelDbm0?: number; readonly durationMs?: number}
  /** An 8 kHz mono WAV file (PCM16, µ-law or A-law). */
  | {readonly type: 'file'; readonly path: string}

/** How a play ended: it ran to its end, or the mode changed or the stream closed first. */
export type PlayOutcome = 'completed' | 'interrupted'

/** The code of linear zero in each law, to pad the last frame of a file. */
export const silenceCode = (codec: G711Codec): number => (codec === 'PCMU' ? linearToUlaw(0) : linearToAlaw(0))

interface FrameSource {
  /** Fills `frame` with the next frame; false at the end of the source. */
  next(frame: Buffer): boolean
  rewind(): void
}

class ToneSource implements FrameSource {
  private readonly generator: ToneGenerator
  private readonly totalFrames: number
  private played = 0

  constructor(
    source: Extract<PlaySource, {type: 'tone'}>,
    private readonly codec: G711Codec,
  ) {
    this.generator = new ToneGenerator({frequencyHz: source.frequencyHz, levelDbm0: source.levelDbm0})
    this.totalFrames = source.durationMs === undefined ? Number.POSITIVE_INFINITY : Math.ceil(source.durationMs / FRAME_MS)
  }

  next(frame: Buffer): boolean {
    if (this.played >= this.totalFrames) return false
    this.played++
    if (this.codec === 'PCMU') this.generator.nextUlawFrame(frame)
    else this.generator.nextAlawFrame(frame)
    return true
  }

  rewind(): void {
    this.played = 0
  }
}

class FileSource implements FrameSource {
  private readonly encoded: Buffer
  private readonly silence: number
  private position = 0

  constructor(path: string, codec: G711Codec) {
    const wav = readWavFile(path)
    const sameLaw = (wav.format === 'ulaw' && codec === 'PCMU') || (wav.format === 'alaw' && codec === 'PCMA')
    // Codes already in the negotiated law go out untouched (no second quantization).
    this.encoded = sameLaw ? wav.data : codec === 'PCMU' ? encodeUlaw(wav.samples) : encodeAlaw(wav.samples)
    this.silence = silenceCode(codec)
  }

  next(frame: Buffer): boolean {
    const remaining = this.encoded.length - this.position
    if (remaining <= 0) return false
    const count = Math.min(FRAME_SAMPLES, remaining)
    this.encoded.copy(frame, 0, this.position, this.position + count)
    if (count < FRAME_SAMPLES) frame.fill(this.silence, count)
    this.position += count
    return true
  }

  rewind(): void {
    this.position = 0
  }
}

export class PlayMode implements ActiveMode {
  readonly kind = 'play'
  /** Settles when the source has been played out (or the mode ended early). */
  readonly done: Promise<PlayOutcome>
  private settle: (outcome: PlayOutcome) => void = () => {}
  private readonly source: FrameSource
  private readonly frame = Buffer.alloc(FRAME_SAMPLES)
  private unsubscribe: (() => void) | undefined
  private finished = false

  /** Throws when the file cannot be read or the tone is out of range. */
  constructor(
    private readonly host: ModeHost,
    codec: G711Codec,
    source: PlaySource,
    private readonly loop: boolean,
    ticker: FrameTicker,
  ) {
    this.source = source.type === 'tone' ? new ToneSource(source, codec) : new FileSource(source.path, codec)
    this.done = new Promise((resolve) => (this.settle = resolve))
    this.unsubscribe = ticker.subscribe(this.onFrame)
  }

  onMedia(): void {}

  stop(): void {
    this.finish('interrupted')
  }

  private readonly onFrame = (nowMs: number): void => {
    if (this.finished) return
    let more = this.source.next(this.frame)
    if (!more && this.loop) {
      this.source.rewind()
      more = this.source.next(this.frame)
    }
    if (!more) {
      this.finish('completed')
      this.host.modeEnded(this)
      return
    }
    this.host.sendFrame(this.frame, nowMs)
  }

  private finish(outcome: PlayOutcome): void {
    if (this.finished) return
    this.finished = true
    this.unsubscribe?.()
    this.unsubscribe = undefined
    this.settle(outcome)
  }
}
