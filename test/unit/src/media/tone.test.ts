import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {EchoProbeGenerator, FRAME_SAMPLES, ToneGenerator} from '../../../../src/media/tone.js'
import {decodeAlaw, decodeUlaw} from '../../../../src/media/g711.js'

const collect = (next: () => Int16Array, frames: number): Int16Array => {
  const all = new Int16Array(frames * FRAME_SAMPLES)
  for (let frame = 0; frame < frames; frame++) all.set(next(), frame * FRAME_SAMPLES)
  return all
}

/** Sign changes, skipping exact zeros. */
const zeroCrossings = (samples: Int16Array): number => {
  let crossings = 0
  let previousSign = 0
  for (const sample of samples) {
    const sign = Math.sign(sample)
    if (sign === 0) continue
    if (previousSign !== 0 && sign !== previousSign) crossings++
    previousSign = sign
  }
  return crossings
}

/** Goertzel power of one frequency, normalized by the block length. */
const goertzel = (samples: Int16Array, frequencyHz: number, sampleRate = 8000): number => {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / sampleRate)
  let s1 = 0
  let s2 = 0
  for (const sample of samples) {
    const s0 = sample + coefficient * s1 - s2
    s2 = s1
    s1 = s0
  }
  return (s1 * s1 + s2 * s2 - coefficient * s1 * s2) / samples.length ** 2
}

describe('ToneGenerator', () => {
  it('produces the requested frequency (zero crossings and Goertzel)', () => {
    const tone = new ToneGenerator({frequencyHz: 440})
    const second = collect(() => tone.nextFrame(), 50)
    // 440 cycles in one second cross zero 880 times.
    const crossings = zeroCrossings(second)
    assert.ok(Math.abs(crossings - 880) <= 1, `${crossings} crossings`)
    const at440 = goertzel(second, 440)
    for (const other of [350, 400, 480, 880, 1000]) assert.ok(at440 > 1000 * goertzel(second, other), `440 Hz vs ${other} Hz`)
  })

  it('keeps the phase continuous across frames', () => {
    const frequency = 1004
    const tone = new ToneGenerator({frequencyHz: frequency, levelDbm0: -10})
    const frames = collect(() => tone.nextFrame(), 500)
    for (let index = 0; index < frames.length; index++) {
      const ideal = tone.peak * Math.sin((2 * Math.PI * frequency * index) / 8000)
      assert.ok(Math.abs((frames[index] ?? 0) - ideal) <= 1, `sample ${index}`)
    }
  })

  it('sets the level in dBm0 against the +3.17 dBm0 full scale', () => {
    // −10 dBm0 is 13.17 dB below full scale: 32767 · 10^(−13.17/20) = 7193.4.
    const tone = new ToneGenerator({frequencyHz: 1004, levelDbm0: -10})
    const second = collect(() => tone.nextFrame(), 50)
    const peak = Math.max(...second.map(Math.abs))
    assert.ok(peak >= 7188 && peak <= 7193, `peak ${peak}`)
    assert.throws(() => new ToneGenerator({frequencyHz: 1000, levelDbm0: 4}), RangeError)
    assert.throws(() => new ToneGenerator({frequencyHz: 4000}), RangeError)
  })

  it('emits G.711 frames that decode to the same tone', () => {
    const pcm = new ToneGenerator({frequencyHz: 697})
    const ulaw = new ToneGenerator({frequencyHz: 697})
    const alaw = new ToneGenerator({frequencyHz: 697})
    const reusedCodes = Buffer.alloc(FRAME_SAMPLES)
    for (let frame = 0; frame < 10; frame++) {
      const linear = pcm.nextFrame()
      const viaUlaw = decodeUlaw(ulaw.nextUlawFrame(reusedCodes))
      const viaAlaw = decodeAlaw(alaw.nextAlawFrame())
      for (let index = 0; index < FRAME_SAMPLES; index++) {
        const sample = linear[index] ?? 0
        assert.ok(Math.abs((viaUlaw[index] ?? 0) - sample) <= Math.max(4, (Math.abs(sample) + 132) / 32))
        assert.ok(Math.abs((viaAlaw[index] ?? 0) - sample) <= Math.max(8, Math.abs(sample) / 32))
      }
    }
  })

  it('fills a caller-owned frame', () => {
    const tone = new ToneGenerator({frequencyHz: 1000})
    const frame = new Int16Array(FRAME_SAMPLES)
    assert.equal(tone.nextFrame(frame), frame)
    assert.ok(frame.some((sample) => sample !== 0))
    assert.throws(() => tone.nextFrame(new Int16Array(10)), RangeError)
  })
})

describe('EchoProbeGenerator', () => {
  it('sends identical bursts at the start of every period and silence between', () => {
    const probe = new EchoProbeGenerator({burstFrames: 5, periodFrames: 50})
    const frames = Array.from({length: 110}, () => probe.nextFrame())
    const energy = frames.map((frame) => frame.reduce((sum, sample) => sum + sample * sample, 0))
    for (let index = 0; index < frames.length; index++) {
      const inBurst = index % 50 < 5
      assert.equal((energy[index] ?? 0) > 0, inBurst, `frame ${index}`)
      assert.equal(probe.isBurstFrame(index), inBurst)
    }
    // Each burst starts at phase 0 with the 1004 Hz default.
    for (const start of [0, 50, 100]) {
      assert.deepEqual(frames[start], frames[0])
      assert.equal(frames[start]?.[0], 0)
    }
    const burst = new Int16Array(5 * FRAME_SAMPLES)
    frames.slice(0, 5).forEach((frame, index) => burst.set(frame, index * FRAME_SAMPLES))
    assert.ok(goertzel(burst, 1004) > 1000 * goertzel(burst, 697))
  })

  it('rejects a burst as long as the period', () => {
    assert.throws(() => new EchoProbeGenerator({burstFrames: 5, periodFrames: 5}), RangeError)
  })
})
