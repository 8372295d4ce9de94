import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {createPcmDecoder, createPcmEncoder, payloadTicks, type StreamCodec} from '../../../../src/media/codecs.js'
import {encodeUlaw} from '../../../../src/media/g711.js'
import {G722Encoder} from '../../../../src/media/g722.js'
import {OpusPcmDecoder, OpusPcmEncoder, opusPacketSamples} from '../../../../src/media/opus.js'
import {Downsampler, Upsampler} from '../../../../src/media/resample.js'
import {createRtpPacket, type RtpPacket} from '../../../../src/media/rtp.js'
import {RelayTranscoder, type TranscodedFrame} from '../../../../src/media/transcoder.js'
import {goertzel, sine} from '../../../helpers/tone.js'


const power = goertzel

const rms = (samples: Int16Array): number => Math.sqrt(samples.reduce((sum, sample) => sum + sample * sample, 0) / Math.max(1, samples.length))

const concat = (parts: Int16Array[]): Int16Array => {
  const all = new Int16Array(parts.reduce((sum, part) => sum + part.length, 0))
  let offset = 0
  for (const part of parts) {
    all.set(part, offset)
    offset += part.length
  }
  return all
}

const packet = (payload: Uint8Array, sequenceNumber: number, timestamp: number, ssrc = 0x1234): RtpPacket => ({...createRtpPacket(), payload: Buffer.from(payload), sequenceNumber, timestamp, ssrc})

describe('Opus packets (RFC 6716 §3)', () => {
  // TOC: config << 3 | stereo << 2 | code. Config 9 is SILK wideband 20 ms, 16 is CELT 2.5 ms, 11 is SILK WB 60 ms.
  const toc = (config: number, code: number): number => (config << 3) | code

  it('counts the audio of each frame-count code', () => {
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 0), 1, 2, 3])), 960, 'one 20 ms frame')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 1), 1, 2, 3, 4])), 1920, 'two equal frames')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 2), 1, 7, 8, 9])), 1920, 'two frames, the first of one octet')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(16, 3), 3, 1, 2, 3])), 360, 'three CBR 2.5 ms frames')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(16, 3), 0x80 | 2, 1, 5, 6])), 240, 'two VBR frames')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 3), 0x40 | 1, 2, 5, 0, 0])), 960, 'one frame with two octets of padding')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 0)])), 960, 'a frame of no octets (DTX) is still 20 ms')
  })

  it('refuses what R1-R7 forbid, and packets over 60 ms', () => {
    assert.equal(opusPacketSamples(new Uint8Array(0)), 0, 'empty (R1)')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 1), 1, 2, 3])), 0, 'code 1 with an odd remainder (R3)')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 2), 9, 1])), 0, 'code 2 whose first frame runs past the end (R4)')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 2)])), 0, 'code 2 without its length')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 3), 0])), 0, 'code 3 with no frames (R5)')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 3)])), 0, 'code 3 without its count octet')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(16, 3), 3, 1, 2])), 0, 'CBR octets not divisible by the count (R6)')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(9, 3), 0x40 | 1, 200])), 0, 'padding longer than the packet (R7)')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(16, 3), 0x80 | 3, 200, 1])), 0, 'VBR lengths past the end')
    assert.equal(opusPacketSamples(Uint8Array.from([toc(11, 1), 1, 2])), 0, '2 × 60 ms is over 60 ms')
    assert.equal(opusPacketSamples(new Uint8Array(1278).fill(0x48, 0, 1)), 0, 'a single frame over 1275 octets (R2)')
  })

  it('round-trips a wideband tone through libopus', () => {
    const encoder = new OpusPcmEncoder(16000)
    const decoder = new OpusPcmDecoder(16000)
    const decoded: Int16Array[] = []
    for (let frame = 0; frame < 50; frame++) {
      const opus = encoder.encode(sine(5000, 16000, 320, 8000, frame * 320))
      assert.equal(opusPacketSamples(opus), 960, 'our packets pass our own check')
      decoded.push(decoder.decode(opus) ?? new Int16Array(0))
    }
    const audio = concat(decoded).subarray(3200)
    assert.ok(power(audio, 5000, 16000) > 100 * power(audio, 1000, 16000), '5 kHz survives (wideband)')
    assert.ok(rms(audio) > 2000, `RMS ${rms(audio).toFixed(0)}`)
    encoder.delete()
    decoder.delete()
  })
})

describe('Opus bitrate for the receiver (RFC 7587 maxaveragebitrate)', () => {
  /** Mean packet size of 2 s of a wideband tone. */
  const meanPacket = (encoder: {encode(samples: Int16Array): Uint8Array}): number => {
    let octets = 0
    for (let frame = 0; frame < 100; frame++) octets += encoder.encode(sine(440, 16000, 320, 9000, frame * 320)).length
    return octets / 100
  }

  it('encodes at or under the receiver\'s maximum, never above our own rate', () => {
    const ours = new OpusPcmEncoder(16000)
    const capped = new OpusPcmEncoder(16000, 8000)
    const generous = new OpusPcmEncoder(16000, 64000)
    const [oursSize, cappedSize, generousSize] = [meanPacket(ours), meanPacket(capped), meanPacket(generous)]
    for (const encoder of [ours, capped, generous]) encoder.delete()
    // 24 kbit/s is 60 octets a 20 ms packet; 8 kbit/s is 20.
    assert.ok(oursSize > 45 && oursSize <= 66, `our own rate: ${oursSize} octets a packet`)
    assert.ok(cappedSize <= 22, `capped at 8 kbit/s: ${cappedSize} octets a packet`)
    assert.ok(Math.abs(generousSize - oursSize) < 3, `a higher maximum changes nothing: ${generousSize} vs ${oursSize}`)
    const viaFactory = createPcmEncoder('opus', 16000, 8000)
    assert.ok(meanPacket(viaFactory) <= 22)
    viaFactory.release()
  })
})

describe('2:1 resampling', () => {
  it('keeps a telephone-band tone through up- and downsampling, frame by frame', () => {
    const up = new Upsampler()
    const down = new Downsampler()
    const out: Int16Array[] = []
    for (let frame = 0; frame < 25; frame++) out.push(down.process(up.process(sine(1000, 8000, 160, 8000, frame * 160))))
    const audio = concat(out).subarray(400)
    assert.ok(Math.abs(rms(audio) - 8000 / Math.SQRT2) < 300, `RMS ${rms(audio).toFixed(0)}`)
    assert.ok(power(audio, 1000, 8000) > 1000 * power(audio, 2500, 8000))
  })

  it('removes what an 8 kHz leg cannot carry instead of folding it into the band', () => {
    // 6 kHz at 16 kHz would alias to 2 kHz at 8 kHz.
    const out = new Downsampler().process(sine(6000, 16000, 3200))
    assert.ok(rms(out.subarray(100)) < 200, `RMS after decimation ${rms(out.subarray(100)).toFixed(0)}`)
  })
})

describe('payloadTicks', () => {
  it('is one per octet for G.711 and G.722, the TOC duration for Opus, 0 for a payload to refuse', () => {
    assert.equal(payloadTicks('PCMU', new Uint8Array(160)), 160)
    assert.equal(payloadTicks('G722', new Uint8Array(160)), 160, '20 ms: 320 samples at 16 kHz, 160 ticks of the 8 kHz clock')
    assert.equal(payloadTicks('G722', new Uint8Array(0)), 0)
    assert.equal(payloadTicks('G722', new Uint8Array(961)), 0, 'over 120 ms')
    assert.equal(payloadTicks('opus', Uint8Array.from([0x48, 1])), 960)
    assert.equal(payloadTicks('opus', new Uint8Array(0)), 0)
  })
})

describe('RelayTranscoder', () => {
  const run = (from: StreamCodec, to: StreamCodec, inputs: Array<{payload: Uint8Array; timestamp: number}>): Array<{payload: Buffer; timestamp: number; ticks: number; marker: boolean}> => {
    const transcoder = new RelayTranscoder(from, to)
    const out: Array<{payload: Buffer; timestamp: number; ticks: number; marker: boolean}> = []
    const emit = (frame: TranscodedFrame): void => {
      out.push({payload: Buffer.from(frame.packet.payload), timestamp: frame.packet.timestamp, ticks: frame.ticks, marker: frame.packet.marker})
    }
    inputs.forEach((input, index) => assert.ok(transcoder.push(packet(input.payload, index, input.timestamp), emit)))
    transcoder.release()
    return out
  }

  it('turns a G.722 tone into 20 ms µ-law frames on the same 8 kHz clock, keeping a loss as a gap', () => {
    const encoder = new G722Encoder()
    const inputs = Array.from({length: 50}, (_, frame) => ({payload: encoder.encode(sine(1000, 16000, 320, 8000, frame * 320)), timestamp: 1000 + frame * 160}))
    const out = run('G722', 'PCMU', inputs.filter((_, index) => index !== 20))
    assert.equal(out.length, 49)
    assert.ok(out.every((frame) => frame.payload.length === 160 && frame.ticks === 160))
    const steps = out.slice(1).map((frame, index) => (frame.timestamp - (out[index]?.timestamp ?? 0)) >>> 0)
    assert.deepEqual([...new Set(steps)].sort((a, b) => a - b), [160, 320], 'contiguous, and one gap where a packet was lost')
    assert.equal(out[20]?.marker, true, 'the frame after the gap starts a new segment')
    const decoder = createPcmDecoder('PCMU', 8000)
    const audio = concat(out.map((frame) => decoder.decode(frame.payload) ?? new Int16Array(0))).subarray(800)
    assert.ok(power(audio, 1000, 8000) > 100 * power(audio, 3000, 8000), 'the 1 kHz tone came through')
  })

  it('turns PCMU into Opus on the 48 kHz clock, gathering 10 ms packets into 20 ms frames', () => {
    const inputs = Array.from({length: 100}, (_, frame) => ({payload: encodeUlaw(sine(1000, 8000, 80, 8000, frame * 80)), timestamp: frame * 80}))
    const out = run('PCMU', 'opus', inputs)
    assert.equal(out.length, 50)
    assert.ok(out.every((frame) => frame.ticks === 960 && opusPacketSamples(frame.payload) === 960))
    assert.ok(out.slice(1).every((frame, index) => ((frame.timestamp - (out[index]?.timestamp ?? 0)) >>> 0) === 960))
    const decoder = new OpusPcmDecoder(8000)
    const audio = concat(out.map((frame) => decoder.decode(frame.payload) ?? new Int16Array(0))).subarray(1600)
    decoder.delete()
    assert.ok(power(audio, 1000, 8000) > 100 * power(audio, 3000, 8000), 'the 1 kHz tone came through')
  })

  it('carries 16 kHz audio between two wideband codecs (Opus to G.722)', () => {
    const encoder = createPcmEncoder('opus', 16000)
    const inputs = Array.from({length: 50}, (_, frame) => ({payload: encoder.encode(sine(5000, 16000, 320, 8000, frame * 320)), timestamp: frame * 960}))
    encoder.release()
    const out = run('opus', 'G722', inputs)
    assert.equal(out.length, 50)
    const decoder = createPcmDecoder('G722', 16000)
    const audio = concat(out.map((frame) => decoder.decode(frame.payload) ?? new Int16Array(0))).subarray(3200)
    assert.ok(power(audio, 5000, 16000) > 100 * power(audio, 1000, 16000), '5 kHz is kept: no narrowband step between them')
  })

  it('refuses a payload the decoder cannot take, or one of more than 120 ms', () => {
    const transcoder = new RelayTranscoder('opus', 'PCMU')
    assert.equal(transcoder.push(packet(Uint8Array.from([0x4b, 0xff, 0xff]), 1, 0), () => assert.fail('nothing emitted')), false)
    transcoder.release()
    const g711 = new RelayTranscoder('PCMU', 'G722')
    assert.equal(g711.push(packet(new Uint8Array(1200), 1, 0), () => assert.fail('nothing emitted')), false, '150 ms of µ-law')
    g711.release()
    g711.release()
  })
})
