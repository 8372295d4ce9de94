import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {describe, it} from 'node:test'
import {G722Decoder, G722Encoder} from '../../../../src/media/g722.js'

const RATE = 16000

const tone = (frequencyHz: number, amplitude: number, samples = RATE): Int16Array =>
  Int16Array.from({length: samples}, (_, index) => Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * index) / RATE)))

/** SNR of `decoded` against `input` at the codec's delay (searched: a pure tone repeats), skipping the first 0.1 s of adaptation. */
const snrDb = (input: Int16Array, decoded: Int16Array): number => {
  let best = Number.NEGATIVE_INFINITY
  for (let lag = 0; lag < 64; lag++) {
    let signal = 0
    let noise = 0
    for (let index = RATE / 10; index < input.length - 64; index++) {
      signal += (input[index] as number) ** 2
      noise += ((input[index] as number) - (decoded[index + lag] as number)) ** 2
    }
    best = Math.max(best, 10 * Math.log10(signal / noise))
  }
  return best
}

const roundTrip = (input: Int16Array): Int16Array => new G722Decoder().decode(new G722Encoder().encode(input))

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

describe('G.722 sub-band ADPCM', () => {
  it('codes two 16 kHz samples per octet', () => {
    const octets = new G722Encoder().encode(tone(1000, 8000, 320))
    assert.equal(octets.length, 160, '20 ms: 320 samples, 160 octets (RTP clock 8000: one tick per octet)')
    assert.equal(new G722Decoder().decode(octets).length, 320)
  })

  it('carries a tone in the lower band with a high SNR, loud or quiet', () => {
    for (const frequencyHz of [300, 1000, 3000]) {
      for (const amplitude of [10000, 1000]) {
        const snr = snrDb(tone(frequencyHz, amplitude), roundTrip(tone(frequencyHz, amplitude)))
        assert.ok(snr > 35, `${frequencyHz} Hz at ${amplitude}: SNR ${snr.toFixed(1)} dB`)
      }
    }
  })

  it('carries a 5 kHz tone (the higher sub-band: wideband, beyond anything G.711 can carry)', () => {
    const input = tone(5000, 8000)
    const snr = snrDb(input, roundTrip(input))
    assert.ok(snr > 18, `5 kHz: SNR ${snr.toFixed(1)} dB`)
  })

  it('keeps silence quiet', () => {
    const decoded = roundTrip(new Int16Array(RATE))
    assert.ok(decoded.every((sample) => Math.abs(sample) <= 4), `largest ${Math.max(...decoded.map(Math.abs))}`)
  })

  it('is bit-exact with the ITU-T fixed-point algorithm as libspandsp (baresip, Asterisk, FreeSWITCH) implements it', () => {
    // A deterministic input: two tones (one per sub-band) and pseudo-random noise.
    // The digests are of libspandsp 0.0.6's g722_encode and g722_decode (64 kbit/s)
    // on this very input, taken through its C API.
    const input = new Int16Array(RATE)
    let seed = 1
    for (let index = 0; index < input.length; index++) {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff
      input[index] = Math.round(9000 * Math.sin((2 * Math.PI * 1000 * index) / RATE) + 4000 * Math.sin((2 * Math.PI * 5200 * index) / RATE) + (((seed >> 16) % 2000) - 1000))
    }
    const octets = new G722Encoder().encode(input)
    assert.equal(sha256(octets), 'a71d0e271d53d922b8ff92e6d66e6d2b9f0449cc0c6e3bbef7284f70e11e6a29')
    const decoded = new G722Decoder().decode(octets)
    assert.equal(sha256(new Uint8Array(decoded.buffer)), '4a0c05b68840393f52355fa0463d214af799fe0d90e13cec0527dbd6034b46a1')
  })

  it('decodes any octets (garbage is noise, never a failure) and recovers on good audio', () => {
    const decoder = new G722Decoder()
    const garbage = Uint8Array.from({length: 4000}, (_, index) => (index * 151 + 7) & 0xff)
    const noise = decoder.decode(garbage)
    assert.equal(noise.length, 8000)
    // The predictor's leakage forgets the garbage: a fresh encoder's tone decodes cleanly after a short while.
    const input = tone(1000, 8000)
    const decoded = decoder.decode(new G722Encoder().encode(input))
    const snr = snrDb(input.subarray(RATE / 2), decoded.subarray(RATE / 2))
    assert.ok(snr > 30, `after garbage: SNR ${snr.toFixed(1)} dB`)
  })

  it('encodes frame by frame exactly as in one go (state carries across calls)', () => {
    const input = tone(1000, 8000, 3200)
    const whole = new G722Encoder().encode(input)
    const encoder = new G722Encoder()
    const framed = Buffer.concat(Array.from({length: 10}, (_, frame) => encoder.encode(input.subarray(frame * 320, frame * 320 + 320))))
    assert.deepEqual(Buffer.from(whole), framed)
  })

  it('refuses a target too small', () => {
    assert.throws(() => new G722Encoder().encode(new Int16Array(320), new Uint8Array(10)), RangeError)
    assert.throws(() => new G722Decoder().decode(new Uint8Array(160), new Int16Array(10)), RangeError)
  })
})
