// Test audio in 20 ms frames for the synthetic caller: a steady sine tone and
// an echo probe (tone bursts on a fixed schedule, so the delay of the echo is
// the shift between the schedule sent and the bursts heard back).

import {encodeAlaw, encodeUlaw} from './g711.js'

export const SAMPLE_RATE = 8000
/** Samples in one 20 ms frame at 8 kHz. */
export const FRAME_SAMPLES = 160

// G.711 puts the theoretical maximum load capacity of µ-law at +3.17 dBm0
// (A-law +3.14): a sine at 16-bit full scale is taken as +3.17 dBm0.
const FULL_SCALE_DBM0 = 3.17
const FULL_SCALE_PEAK = 32767

/** Peak amplitude on the 16-bit scale of a sine at `levelDbm0`. */
export const sinePeakForLevel = (levelDbm0: number): number => FULL_SCALE_PEAK * 10 ** ((levelDbm0 - FULL_SCALE_DBM0) / 20)

export interface ToneOptions {
  readonly frequencyHz: number
  /** Level in dBm0, at most +3.17 (full scale). Default −10. */
  readonly levelDbm0?: number
  readonly sampleRate?: number
  readonly frameSamples?: number
}

/** A frame source; every generator here fills one frame per call. */
abstract class FrameGenerator {
  readonly sampleRate: number
  readonly frameSamples: number
  private readonly scratch: Int16Array

  protected constructor(sampleRate: number, frameSamples: number) {
    if (!(sampleRate > 0) || !Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new RangeError(`invalid frame shape: ${frameSamples} samples at ${sampleRate} Hz`)
    }
    this.sampleRate = sampleRate
    this.frameSamples = frameSamples
    this.scratch = new Int16Array(frameSamples)
  }

  /** Fills `target` (a new array when omitted) with the next frame of PCM16. */
  abstract nextFrame(target?: Int16Array): Int16Array

  /** The next frame as µ-law codes, into `target` when given. */
  nextUlawFrame(target: Buffer = Buffer.allocUnsafe(this.frameSamples)): Buffer {
    return encodeUlaw(this.nextFrame(this.scratch), target)
  }

  /** The next frame as A-law codes, into `target` when given. */
  nextAlawFrame(target: Buffer = Buffer.allocUnsafe(this.frameSamples)): Buffer {
    return encodeAlaw(this.nextFrame(this.scratch), target)
  }

  protected checkTarget(target: Int16Array): void {
    if (target.length < this.frameSamples) throw new RangeError(`target holds ${target.length} samples, a frame is ${this.frameSamples}`)
  }
}

/** A sine tone whose phase runs on across frames (no click at frame edges). */
export class ToneGenerator extends FrameGenerator {
  readonly frequencyHz: number
  readonly peak: number
  private readonly phaseStep: number
  private phase = 0

  constructor(options: ToneOptions) {
    super(options.sampleRate ?? SAMPLE_RATE, options.frameSamples ?? FRAME_SAMPLES)
    const level = options.levelDbm0 ?? -10
    if (!(options.frequencyHz > 0) || options.frequencyHz >= this.sampleRate / 2) {
      throw new RangeError(`tone frequency ${options.frequencyHz} Hz must be between 0 and ${this.sampleRate / 2} Hz`)
    }
    if (!(level <= FULL_SCALE_DBM0)) throw new RangeError(`tone level ${level} dBm0 is above full scale (+${FULL_SCALE_DBM0} dBm0)`)
    this.frequencyHz = options.frequencyHz
    this.peak = sinePeakForLevel(level)
    this.phaseStep = (2 * Math.PI * options.frequencyHz) / this.sampleRate
  }

  nextFrame(target: Int16Array = new Int16Array(this.frameSamples)): Int16Array {
    this.checkTarget(target)
    let phase = this.phase
    for (let index = 0; index < this.frameSamples; index++) {
      target[index] = Math.round(this.peak * Math.sin(phase))
      phase += this.phaseStep
    }
    // Kept within one turn so precision does not drift on long calls.
    this.phase = phase % (2 * Math.PI)
    return target
  }

  /** Restarts the sine at phase 0 (an upward zero crossing on the next sample). */
  resetPhase(): void {
    this.phase = 0
  }
}

export interface EchoProbeOptions {
  /** Default 1004 Hz, the usual test-tone frequency (not a divisor of 8 kHz, not a DTMF tone). */
  readonly frequencyHz?: number
  /** Default −10 dBm0. */
  readonly levelDbm0?: number
  /** Frames of tone at the start of each period. Default 5 (100 ms). */
  readonly burstFrames?: number
  /** Frames per period, burst included. Default 50 (1 s). */
  readonly periodFrames?: number
}

/**
 * The echo probe: a burst of tone at the start of every period, silence for
 * the rest. Every burst is the same waveform from phase 0 and starts at a
 * frame number that is a multiple of periodFrames, so the echo delay is the
 * time from a burst's start to the onset of its echo (for echoes shorter than
 * the period).
 */
export class EchoProbeGenerator extends FrameGenerator {
  readonly burstFrames: number
  readonly periodFrames: number
  private readonly tone: ToneGenerator
  private frameIndex = 0

  constructor(options: EchoProbeOptions = {}) {
    super(SAMPLE_RATE, FRAME_SAMPLES)
    this.burstFrames = options.burstFrames ?? 5
    this.periodFrames = options.periodFrames ?? 50
    if (!Number.isInteger(this.burstFrames) || !Number.isInteger(this.periodFrames) || this.burstFrames < 1 || this.periodFrames <= this.burstFrames) {
      throw new RangeError(`echo probe needs 1 ≤ burst frames (${this.burstFrames}) < period frames (${this.periodFrames})`)
    }
    this.tone = new ToneGenerator({frequencyHz: options.frequencyHz ?? 1004, levelDbm0: options.levelDbm0 ?? -10})
  }

  /** Whether frame number `frame` (0-based since the start) carries tone. */
  isBurstFrame(frame: number): boolean {
    return frame % this.periodFrames < this.burstFrames
  }

  nextFrame(target: Int16Array = new Int16Array(this.frameSamples)): Int16Array {
    this.checkTarget(target)
    const frame = this.frameIndex++
    if (frame % this.periodFrames === 0) this.tone.resetPhase()
    if (this.isBurstFrame(frame)) return this.tone.nextFrame(target)
    target.fill(0, 0, this.frameSamples)
    return target
  }
}
