import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  ALAW_TO_ULAW,
  ULAW_TO_ALAW,
  alawToLinear,
  alawToUlawBuffer,
  decodeAlaw,
  decodeUlaw,
  encodeAlaw,
  encodeUlaw,
  linearToAlaw,
  linearToUlaw,
  ulawToAlawBuffer,
  ulawToLinear,
} from '../../../../src/media/g711.js'

// Reconstruction levels written from the G.711 segment structure, not from the
// module: µ-law level = (8m + 132)·2^e − 132 on the 16-bit scale (the 14-bit
// ((2m + 33)·2^e − 33) times 4), A-law level = (2m + 1)·8 in segment 0 and
// (2m + 33)·2^(e+2) above it (the 13-bit levels times 8).
const expectedUlawLevel = (code: number): number => {
  const inverted = ~code & 0xff
  const exponent = (inverted >> 4) & 0x07
  const mantissa = inverted & 0x0f
  const magnitude = (8 * mantissa + 132) * 2 ** exponent - 132
  return inverted & 0x80 ? 0 - magnitude : magnitude
}

const expectedAlawLevel = (code: number): number => {
  const toggled = code ^ 0x55
  const segment = (toggled >> 4) & 0x07
  const mantissa = toggled & 0x0f
  const magnitude = segment === 0 ? (2 * mantissa + 1) * 8 : (2 * mantissa + 33) * 2 ** (segment + 2)
  return toggled & 0x80 ? magnitude : -magnitude
}

describe('G.711 µ-law', () => {
  it('encodes the reference code points', () => {
    assert.equal(linearToUlaw(0), 0xff)
    assert.equal(linearToUlaw(-1), 0x7f)
    assert.equal(linearToUlaw(32767), 0x80)
    assert.equal(linearToUlaw(-32768), 0x00)
    // 100 + 132 = 232: exponent 0, mantissa (232 >> 3) & 15 = 13, inverted 0xF2.
    assert.equal(linearToUlaw(100), 0xf2)
    // 1000 + 132 = 1132: exponent 3, mantissa (1132 >> 6) & 15 = 1, inverted 0xCE.
    assert.equal(linearToUlaw(1000), 0xce)
    assert.equal(linearToUlaw(-1000), 0x4e)
  })

  it('decodes the reference code points', () => {
    assert.equal(ulawToLinear(0x00), -32124)
    assert.equal(ulawToLinear(0x80), 32124)
    assert.equal(ulawToLinear(0xff), 0)
    assert.equal(ulawToLinear(0x7f), 0)
    assert.equal(ulawToLinear(0xf2), 104)
    assert.equal(ulawToLinear(0xce), 988)
  })

  it('decodes every code to the level of its segment and step', () => {
    for (let code = 0; code < 256; code++) assert.equal(ulawToLinear(code), expectedUlawLevel(code), `code 0x${code.toString(16)}`)
  })

  it('re-encodes every decoded level to its own code (except negative zero 0x7F)', () => {
    for (let code = 0; code < 256; code++) {
      if (code === 0x7f) continue
      assert.equal(linearToUlaw(ulawToLinear(code)), code, `code 0x${code.toString(16)}`)
    }
  })

  it('keeps the round-trip error within half a step over the whole int16 range', () => {
    let previous = -Infinity
    for (let sample = -32768; sample <= 32767; sample++) {
      const decoded = ulawToLinear(linearToUlaw(sample))
      const magnitude = Math.abs(sample)
      // Half the step of segment e is 2^(e+2) ≤ (|s| + 132) / 32; beyond the clip the error grows to 32768 − 32124.
      const bound = magnitude <= 32635 ? Math.max(4, (magnitude + 132) / 32) : magnitude - 32124
      assert.ok(Math.abs(decoded - sample) <= bound, `sample ${sample} decoded ${decoded}`)
      assert.ok(decoded >= previous, `not monotonic at ${sample}`)
      previous = decoded
    }
  })

  it('buffer functions match the scalar codec', () => {
    const samples = Int16Array.from([0, -1, 1, 100, -100, 1000, -1000, 32767, -32768, 12345, -12345])
    const codes = encodeUlaw(samples)
    assert.deepEqual([...codes], [...samples].map(linearToUlaw))
    assert.deepEqual([...decodeUlaw(codes)], [...codes].map(ulawToLinear))
    const reused = Buffer.alloc(samples.length)
    assert.equal(encodeUlaw(samples, reused), reused)
    assert.throws(() => encodeUlaw(samples, Buffer.alloc(2)), RangeError)
  })
})

describe('G.711 A-law', () => {
  it('encodes the reference code points', () => {
    assert.equal(linearToAlaw(0), 0xd5)
    assert.equal(linearToAlaw(-1), 0x55)
    assert.equal(linearToAlaw(-8), 0x55)
    // 1000 >> 3 = 125: segment 2, quantization (125 >> 2) & 15 = 15, 0x2F ^ 0xD5.
    assert.equal(linearToAlaw(1000), 0xfa)
    assert.equal(linearToAlaw(32767), 0xaa)
    assert.equal(linearToAlaw(-32768), 0x2a)
  })

  it('decodes the reference code points', () => {
    assert.equal(alawToLinear(0xd5), 8)
    assert.equal(alawToLinear(0x55), -8)
    assert.equal(alawToLinear(0xfa), 1008)
    assert.equal(alawToLinear(0xaa), 32256)
    assert.equal(alawToLinear(0x2a), -32256)
  })

  it('decodes every code to the level of its segment and step', () => {
    for (let code = 0; code < 256; code++) assert.equal(alawToLinear(code), expectedAlawLevel(code), `code 0x${code.toString(16)}`)
  })

  it('re-encodes every decoded level to its own code', () => {
    for (let code = 0; code < 256; code++) assert.equal(linearToAlaw(alawToLinear(code)), code, `code 0x${code.toString(16)}`)
  })

  it('keeps the round-trip error within half a step over the whole int16 range', () => {
    let previous = -Infinity
    for (let sample = -32768; sample <= 32767; sample++) {
      const decoded = alawToLinear(linearToAlaw(sample))
      // Half the step is 8 in segments 0 and 1 and 2^(e+2) ≤ |s| / 32 above.
      const bound = Math.max(8, Math.abs(sample) / 32)
      assert.ok(Math.abs(decoded - sample) <= bound, `sample ${sample} decoded ${decoded}`)
      assert.ok(decoded >= previous, `not monotonic at ${sample}`)
      previous = decoded
    }
  })

  it('buffer functions match the scalar codec', () => {
    const samples = Int16Array.from([0, -1, 1, 1000, -1000, 32767, -32768, 4242])
    const codes = encodeAlaw(samples)
    assert.deepEqual([...codes], [...samples].map(linearToAlaw))
    assert.deepEqual([...decodeAlaw(codes)], [...codes].map(alawToLinear))
  })
})

describe('G.711 transcoding', () => {
  it('maps known codes', () => {
    // µ 0xFF (0) → A 0xD5 (+8); µ 0x80 (32124) → A 0xAA (32256); A 0xD5 (+8) → µ 0xFE (+8).
    assert.equal(ULAW_TO_ALAW[0xff], 0xd5)
    assert.equal(ULAW_TO_ALAW[0x80], 0xaa)
    assert.equal(ALAW_TO_ULAW[0xd5], 0xfe)
    assert.equal(ALAW_TO_ULAW[0xaa], 0x80)
  })

  it('keeps the level within half an A-law step and preserves order', () => {
    const byLevel = [...Array(256).keys()].sort((a, b) => ulawToLinear(a) - ulawToLinear(b))
    let previous = -Infinity
    for (const code of byLevel) {
      const level = ulawToLinear(code)
      const transcoded = alawToLinear(ULAW_TO_ALAW[code] ?? -1)
      assert.ok(Math.abs(transcoded - level) <= Math.max(8, Math.abs(level) / 32), `µ 0x${code.toString(16)}`)
      assert.ok(transcoded >= previous)
      previous = transcoded
    }
  })

  it('keeps the level within half a µ-law step from A-law', () => {
    for (let code = 0; code < 256; code++) {
      const level = alawToLinear(code)
      const transcoded = ulawToLinear(ALAW_TO_ULAW[code] ?? -1)
      assert.ok(Math.abs(transcoded - level) <= Math.max(4, (Math.abs(level) + 132) / 32), `A 0x${code.toString(16)}`)
    }
  })

  it('transcodes buffers, in place too', () => {
    const codes = Buffer.from([0xff, 0x80, 0x00, 0x7f])
    assert.deepEqual([...ulawToAlawBuffer(codes)], [...codes].map((code) => ULAW_TO_ALAW[code]))
    const inPlace = Buffer.from([0xd5, 0xaa])
    alawToUlawBuffer(inPlace, inPlace)
    assert.deepEqual([...inPlace], [0xfe, 0x80])
  })
})
