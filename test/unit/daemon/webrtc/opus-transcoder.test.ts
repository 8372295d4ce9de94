import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {FRAME_SAMPLES, OpusTranscoder} from '../../../../daemon/webrtc/opus-transcoder.js'
import {linearToUlaw, ULAW_DECODE_TABLE} from '../../../../src/media/g711.js'

const tone = (frame: number, hz: number): Buffer =>
  Buffer.from(Array.from({length: FRAME_SAMPLES}, (_, index) => linearToUlaw(Math.round(8000 * Math.sin((2 * Math.PI * hz * (frame * FRAME_SAMPLES + index)) / 8000)))))

const power = (ulaw: Uint8Array): number => {
  let sum = 0
  for (const code of ulaw) sum += (ULAW_DECODE_TABLE[code] ?? 0) ** 2
  return sum / ulaw.length
}

describe('OpusTranscoder', () => {
  it('carries a tone through Opus and back as 20 ms µ-law frames with its power kept', () => {
    const encoder = new OpusTranscoder()
    const decoder = new OpusTranscoder()
    const out: Buffer[] = []
    for (let frame = 0; frame < 25; frame++) {
      const packet = encoder.encodeFromUlaw(tone(frame, 440))
      assert.ok(packet.length > 0 && packet.length < FRAME_SAMPLES, `an Opus packet (${packet.length} bytes) smaller than G.711`)
      out.push(...decoder.decodeToUlaw(packet))
    }
    assert.equal(out.length, 25)
    assert.ok(out.every((frame) => frame.length === FRAME_SAMPLES))
    // After the codec's start-up, the decoded tone has the power of the original (within a factor of 2).
    const ratio = power(Buffer.concat(out.slice(10))) / power(Buffer.concat(Array.from({length: 15}, (_, index) => tone(index + 10, 440))))
    assert.ok(ratio > 0.5 && ratio < 2, `power ratio ${ratio}`)
    encoder.delete()
    decoder.delete()
  })

  it('gives no frames for an empty packet (no concealment audio is invented), and silence stays quiet', () => {
    const transcoder = new OpusTranscoder()
    assert.deepEqual(transcoder.decodeToUlaw(Buffer.alloc(0)), [])
    const quiet = transcoder.decodeToUlaw(transcoder.encodeFromUlaw(Buffer.alloc(FRAME_SAMPLES, 0xff)))
    assert.ok(quiet.every((frame) => power(frame) < 100), 'silence decodes to near silence')
    transcoder.delete()
  })
})
