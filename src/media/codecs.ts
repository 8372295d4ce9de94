// The audio codecs an RtpStream speaks, what each needs of the stream (RTP
// clock, audio rate, how long a payload plays), and converters between a
// codec and linear PCM at 8 or 16 kHz. G.711 keeps its own table paths in the
// stream (echo, relay and play never decode it); these are for the others,
// and for transcoding between a G.711 leg and a G.722 or Opus one.
import {decodeAlaw, decodeUlaw, encodeAlaw, encodeUlaw} from './g711.js'
import {G722Decoder, G722Encoder} from './g722.js'
import {OPUS_CLOCK_RATE, OpusPcmDecoder, OpusPcmEncoder, opusPacketSamples} from './opus.js'
import {Downsampler, Upsampler} from './resample.js'

export type G711Codec = 'PCMU' | 'PCMA'
/** The RTP encoding names of the audio codecs media streams handle. */
export type StreamCodec = G711Codec | 'G722' | 'opus'
export const STREAM_CODECS: readonly StreamCodec[] = ['PCMU', 'PCMA', 'G722', 'opus']

export const isG711 = (codec: StreamCodec): codec is G711Codec => codec === 'PCMU' || codec === 'PCMA'

export interface CodecProfile {
  /** The RTP timestamp clock (RFC 3551 §4.5.2: 8000 for G.722 although it samples at 16 kHz; RFC 7587: 48000 for Opus). */
  readonly clockRate: number
  /** The rate its audio is decoded and encoded at here: 8 kHz narrowband, 16 kHz wideband. */
  readonly audioRate: 8000 | 16000
}

export const CODEC_PROFILES: Readonly<Record<StreamCodec, CodecProfile>> = {
  PCMU: {clockRate: 8000, audioRate: 8000},
  PCMA: {clockRate: 8000, audioRate: 8000},
  G722: {clockRate: 8000, audioRate: 16000},
  opus: {clockRate: OPUS_CLOCK_RATE, audioRate: 16000},
}

/**
 * The longest payload accepted on a G.722 stream: 120 ms (960 octets). Longer
 * packets are dropped and counted, so a hostile peer cannot make one packet
 * cost more than six normal ones to transcode.
 */
export const G722_MAX_PAYLOAD_OCTETS = 960

/**
 * How many RTP clock ticks a payload plays for, or 0 when the payload is not
 * valid for the codec (empty, too long, a broken Opus packet): such a packet
 * is dropped and counted, and to the reception statistics it is lost.
 */
export const payloadTicks = (codec: StreamCodec, payload: Uint8Array): number => {
  switch (codec) {
    case 'opus':
      return opusPacketSamples(payload)
    case 'G722':
      // One octet is two 16 kHz samples: one tick of the 8 kHz clock.
      return payload.length <= G722_MAX_PAYLOAD_OCTETS ? payload.length : 0
    default:
      return payload.length
  }
}

/** Decodes one payload to linear PCM at `rate`; undefined when the decoder refuses it. */
export interface PcmDecoder {
  readonly rate: number
  decode(payload: Uint8Array): Int16Array | undefined
  release(): void
}

/** Encodes linear PCM at `rate` to one payload; Opus takes 2.5 to 60 ms per call, the others any length (G.722: even at 16 kHz). */
export interface PcmEncoder {
  readonly rate: number
  encode(samples: Int16Array): Uint8Array
  release(): void
}

const noop = (): void => {}

/** A decoder of `codec` giving PCM at `rate` (8000 or 16000), resampling when the codec's own rate differs. */
export const createPcmDecoder = (codec: StreamCodec, rate: 8000 | 16000): PcmDecoder => {
  if (codec === 'opus') {
    // libopus decodes straight to the rate asked for.
    const opus = new OpusPcmDecoder(rate)
    return {rate, decode: (payload) => opus.decode(payload), release: () => opus.delete()}
  }
  if (codec === 'G722') {
    const g722 = new G722Decoder()
    if (rate === 16000) return {rate, decode: (payload) => g722.decode(payload), release: noop}
    const down = new Downsampler()
    return {rate, decode: (payload) => down.process(g722.decode(payload)), release: noop}
  }
  const decode = codec === 'PCMU' ? decodeUlaw : decodeAlaw
  if (rate === 8000) return {rate, decode: (payload) => decode(payload), release: noop}
  const up = new Upsampler()
  return {rate, decode: (payload) => up.process(decode(payload)), release: noop}
}

/** An encoder of `codec` taking PCM at `rate` (8000 or 16000); `maxBitrate` caps Opus (the receiver's maxaveragebitrate). */
export const createPcmEncoder = (codec: StreamCodec, rate: 8000 | 16000, maxBitrate?: number): PcmEncoder => {
  if (codec === 'opus') {
    const opus = new OpusPcmEncoder(rate, maxBitrate)
    return {rate, encode: (samples) => opus.encode(samples), release: () => opus.delete()}
  }
  if (codec === 'G722') {
    const g722 = new G722Encoder()
    if (rate === 16000) return {rate, encode: (samples) => g722.encode(samples), release: noop}
    const up = new Upsampler()
    return {rate, encode: (samples) => g722.encode(up.process(samples)), release: noop}
  }
  const encode = codec === 'PCMU' ? encodeUlaw : encodeAlaw
  if (rate === 8000) return {rate, encode: (samples) => encode(samples), release: noop}
  const down = new Downsampler()
  return {rate, encode: (samples) => encode(down.process(samples)), release: noop}
}

/** The rate two codecs meet at: wideband only when both carry it. */
export const pivotRate = (a: StreamCodec, b: StreamCodec): 8000 | 16000 => (CODEC_PROFILES[a].audioRate === 16000 && CODEC_PROFILES[b].audioRate === 16000 ? 16000 : 8000)
