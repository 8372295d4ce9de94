// Tones for audio checks: a sine to send, and the Goertzel power of one
// frequency in what came back.

/** `samples` of a sine at `frequencyHz` sampled at `rate`, from sample `start` on (to continue a previous frame). */
export const sine = (frequencyHz: number, rate: number, samples: number, amplitude = 8000, start = 0): Int16Array =>
  Int16Array.from({length: samples}, (_, index) => Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * (start + index)) / rate)))

/** Goertzel power of one frequency in samples at `sampleRate` (default 8 kHz), normalized by the block length. */
export const goertzel = (samples: Int16Array, frequencyHz: number, sampleRate = 8000): number => {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRate)
  let previous = 0
  let beforePrevious = 0
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious
    beforePrevious = previous
    previous = current
  }
  return (previous ** 2 + beforePrevious ** 2 - coefficient * previous * beforePrevious) / samples.length
}
