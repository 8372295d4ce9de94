// Opus (RFC 6716) for RTP legs (RFC 7587): packet checks from the TOC byte,
// and libopus (WebAssembly, through opusscript) as a mono encoder or decoder
// at a chosen rate. opusscript is CommonJS and instantiates its WebAssembly
// when loaded, so it is loaded only when the first Opus stream needs it; the
// WebRTC side (daemon/webrtc/opus-transcoder.ts) shares the same loader.
import {createRequire} from 'node:module'
import type OpusScriptType from 'opusscript'

const require = createRequire(import.meta.url)
let loaded: typeof OpusScriptType | undefined
/** The opusscript constructor, loaded on first use. */
export const opusScript = (): typeof OpusScriptType => (loaded ??= require('opusscript') as typeof OpusScriptType)

/** Opus's RTP clock is 48 kHz whatever the audio bandwidth (RFC 7587 §4.1). */
export const OPUS_CLOCK_RATE = 48000
/**
 * The longest packet accepted: 60 ms. RFC 6716 allows 120 ms, but the
 * WebAssembly decoder's buffers hold 60 ms, and no voice peer sends longer
 * packets (RFC 7587 §4.2 suggests at most 60 ms for interactive use).
 */
export const OPUS_MAX_PACKET_SAMPLES = 2880
/** The longest packet in octets the decoder takes (three frames of the longest code, 1275 octets each). */
export const OPUS_MAX_PACKET_OCTETS = 3 * 1276
const MAX_FRAME_OCTETS = 1275

/** Samples at 48 kHz per frame for each TOC configuration (RFC 6716 Table 2). */
const FRAME_SAMPLES_BY_CONFIG = Int32Array.from({length: 32}, (_, config) => {
  if (config < 12) return [480, 960, 1920, 2880][config % 4] as number
  if (config < 16) return [480, 960][config % 2] as number
  return [120, 240, 480, 960][config % 4] as number
})

/** A frame length field (RFC 6716 §3.2.1) at `offset`: [length, octets used], or undefined past the end. */
const frameLength = (packet: Uint8Array, offset: number): [number, number] | undefined => {
  const first = packet[offset]
  if (first === undefined) return undefined
  if (first < 252) return [first, 1]
  const second = packet[offset + 1]
  return second === undefined ? undefined : [first + 4 * second, 2]
}

/**
 * The audio a packet carries, in 48 kHz samples, or 0 when it breaks RFC
 * 6716 §3.4 (R1-R7: empty, frame lengths that do not add up, a frame over
 * 1275 octets) or runs longer than OPUS_MAX_PACKET_SAMPLES.
 */
export const opusPacketSamples = (packet: Uint8Array): number => {
  const length = packet.length
  if (length === 0 || length > OPUS_MAX_PACKET_OCTETS) return 0
  const toc = packet[0] as number
  const perFrame = FRAME_SAMPLES_BY_CONFIG[toc >> 3] as number
  let frames: number
  switch (toc & 3) {
    case 0:
      if (length - 1 > MAX_FRAME_OCTETS) return 0
      frames = 1
      break
    case 1:
      if ((length - 1) % 2 !== 0 || (length - 1) / 2 > MAX_FRAME_OCTETS) return 0
      frames = 2
      break
    case 2: {
      const field = frameLength(packet, 1)
      if (field === undefined || field[0] > length - 1 - field[1] || length - 1 - field[1] - field[0] > MAX_FRAME_OCTETS || field[0] > MAX_FRAME_OCTETS) return 0
      frames = 2
      break
    }
    default: {
      const count = packet[1]
      if (count === undefined) return 0
      frames = count & 0x3f
      if (frames === 0) return 0
      const vbr = (count & 0x80) !== 0
      let offset = 2
      let padding = 0
      if ((count & 0x40) !== 0) {
        // Padding length: octets of 255 add 254 each, the first other octet ends it.
        for (;;) {
          const octet = packet[offset++]
          if (octet === undefined) return 0
          padding += octet === 255 ? 254 : octet
          if (octet !== 255) break
        }
      }
      let remaining = length - offset - padding
      if (remaining < 0) return 0
      if (vbr) {
        for (let frame = 0; frame < frames - 1; frame++) {
          const field = frameLength(packet, offset)
          if (field === undefined) return 0
          offset += field[1]
          remaining -= field[1] + field[0]
          if (field[0] > MAX_FRAME_OCTETS || remaining < 0) return 0
        }
        if (remaining > MAX_FRAME_OCTETS) return 0
      } else if (remaining % frames !== 0 || remaining / frames > MAX_FRAME_OCTETS) {
        return 0
      }
    }
  }
  const samples = frames * perFrame
  return samples > OPUS_MAX_PACKET_SAMPLES ? 0 : samples
}

const OPUS_SET_BITRATE = 4002
const OPUS_SET_COMPLEXITY = 4010
/**
 * Encoder settings for SIP legs: complexity 3 of 10 and 24 kbit/s for 16 kHz
 * input (wideband), 12 kbit/s for 8 kHz input (audio from a narrowband leg).
 * Measured in npm run bench:codecs (docs/codecs.md).
 */
export const OPUS_COMPLEXITY = 3
const bitrateFor = (rate: number): number => (rate >= 16000 ? 24000 : 12000)

/** RFC 7587 §6.1: maxaveragebitrate ranges over 6000–510000 bit/s. */
export const OPUS_MIN_BITRATE = 6000
export const OPUS_MAX_BITRATE = 510_000
/** A maxaveragebitrate we act on: an integer within the RFC's range. */
export const isOpusBitrate = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= OPUS_MIN_BITRATE && (value as number) <= OPUS_MAX_BITRATE

/** The bitrate we encode at for `rate` input: ours, or less when the receiver's maxaveragebitrate asks for less. */
export const opusBitrate = (rate: number, maxBitrate?: number): number => Math.min(bitrateFor(rate), maxBitrate ?? Number.POSITIVE_INFINITY)

/** Mono linear PCM at `rate` (8000 or 16000) → Opus packets, at most `maxBitrate` bit/s when given. */
export class OpusPcmEncoder {
  private readonly codec: OpusScriptType

  constructor(
    readonly rate: number,
    maxBitrate?: number,
  ) {
    this.codec = new (opusScript())(rate as 8000 | 16000, 1, opusScript().Application.VOIP)
    this.codec.encoderCTL(OPUS_SET_COMPLEXITY, OPUS_COMPLEXITY)
    this.codec.encoderCTL(OPUS_SET_BITRATE, opusBitrate(rate, maxBitrate))
  }

  /** One frame (2.5 to 60 ms of samples at the encoder's rate) → one packet. */
  encode(samples: Int16Array): Buffer {
    return Buffer.from(this.codec.encode(Buffer.from(samples.buffer, samples.byteOffset, samples.length * 2), samples.length))
  }

  delete(): void {
    this.codec.delete()
  }
}

/** Opus packets (mono or stereo) → mono linear PCM at `rate` (libopus resamples and downmixes). */
export class OpusPcmDecoder {
  private readonly codec: OpusScriptType

  constructor(readonly rate: number) {
    this.codec = new (opusScript())(rate as 8000 | 16000, 1, opusScript().Application.VOIP)
  }

  /** The packet's samples, or undefined when libopus refuses it. Check the packet with opusPacketSamples first. */
  decode(packet: Uint8Array): Int16Array | undefined {
    let decoded: Buffer
    try {
      decoded = this.codec.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.length))
    } catch {
      return undefined
    }
    // A copy: the Buffer opusscript returns is its own, but may not be 2-aligned for an Int16Array view.
    const samples = new Int16Array(decoded.length >> 1)
    for (let index = 0; index < samples.length; index++) samples[index] = decoded.readInt16LE(index * 2)
    return samples
  }

  delete(): void {
    this.codec.delete()
  }
}
