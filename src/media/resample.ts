// 2:1 sample-rate conversion between 8 kHz (G.711) and 16 kHz (G.722, the
// wideband pivot): one linear-phase low-pass FIR (a Blackman-windowed sinc
// cut at 3.7 kHz) run as a decimator or as a polyphase interpolator. It
// removes what a narrowband leg cannot carry before decimating (no aliasing
// of 4-8 kHz content into the telephone band) and the images that inserting
// samples makes when interpolating. State carries across calls, so a stream
// is converted frame by frame without clicks at frame edges.

const TAPS = 32
const CUTOFF_HZ = 3700
const RATE = 16000

/** The filter at 16 kHz, unit DC gain. */
const designLowPass = (): Float64Array => {
  const taps = new Float64Array(TAPS)
  const centre = (TAPS - 1) / 2
  const fc = CUTOFF_HZ / RATE
  let sum = 0
  for (let index = 0; index < TAPS; index++) {
    const t = index - centre
    const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t)
    const window = 0.42 - 0.5 * Math.cos((2 * Math.PI * index) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * index) / (TAPS - 1))
    taps[index] = sinc * window
    sum += taps[index] as number
  }
  for (let index = 0; index < TAPS; index++) taps[index] = (taps[index] as number) / sum
  return taps
}

const LOW_PASS = designLowPass()
// Interpolation: the zero-stuffed input has every other sample zero, so each
// output phase uses every other tap (doubled, to make up for the zeros).
const PHASE_EVEN = Float64Array.from({length: TAPS / 2}, (_, index) => 2 * (LOW_PASS[2 * index] as number))
const PHASE_ODD = Float64Array.from({length: TAPS / 2}, (_, index) => 2 * (LOW_PASS[2 * index + 1] as number))

const clamp16 = (value: number): number => {
  const rounded = Math.round(value)
  return rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded
}

/** 16 kHz → 8 kHz. */
export class Downsampler {
  // The last TAPS - 1 input samples, oldest first, ahead of each call's input.
  private buffer = new Float64Array(TAPS - 1 + 640)

  /** Converts an even number of 16 kHz samples into half as many 8 kHz ones. */
  process(input: Int16Array, target: Int16Array = new Int16Array(input.length >> 1)): Int16Array {
    const outputs = input.length >> 1
    if (target.length < outputs) throw new RangeError(`target holds ${target.length} samples, need ${outputs}`)
    const history = TAPS - 1
    if (this.buffer.length < history + input.length) {
      const grown = new Float64Array(history + input.length)
      grown.set(this.buffer.subarray(0, history))
      this.buffer = grown
    }
    const buffer = this.buffer
    for (let index = 0; index < input.length; index++) buffer[history + index] = input[index] as number
    for (let out = 0; out < outputs; out++) {
      // The output at input position 2·out + 1 (the newest of each pair).
      const end = history + 2 * out + 1
      let acc = 0
      for (let tap = 0; tap < TAPS; tap++) acc += (LOW_PASS[tap] as number) * (buffer[end - tap] as number)
      target[out] = clamp16(acc)
    }
    buffer.copyWithin(0, input.length, input.length + history)
    return target.length === outputs ? target : target.subarray(0, outputs)
  }
}

/** 8 kHz → 16 kHz. */
export class Upsampler {
  private buffer = new Float64Array(TAPS / 2 - 1 + 320)

  /** Converts 8 kHz samples into twice as many 16 kHz ones. */
  process(input: Int16Array, target: Int16Array = new Int16Array(input.length * 2)): Int16Array {
    const outputs = input.length * 2
    if (target.length < outputs) throw new RangeError(`target holds ${target.length} samples, need ${outputs}`)
    const history = TAPS / 2 - 1
    if (this.buffer.length < history + input.length) {
      const grown = new Float64Array(history + input.length)
      grown.set(this.buffer.subarray(0, history))
      this.buffer = grown
    }
    const buffer = this.buffer
    for (let index = 0; index < input.length; index++) buffer[history + index] = input[index] as number
    for (let index = 0; index < input.length; index++) {
      const end = history + index
      let even = 0
      let odd = 0
      for (let tap = 0; tap < TAPS / 2; tap++) {
        const sample = buffer[end - tap] as number
        even += (PHASE_EVEN[tap] as number) * sample
        odd += (PHASE_ODD[tap] as number) * sample
      }
      target[2 * index] = clamp16(even)
      target[2 * index + 1] = clamp16(odd)
    }
    buffer.copyWithin(0, input.length, input.length + history)
    return target.length === outputs ? target : target.subarray(0, outputs)
  }
}
