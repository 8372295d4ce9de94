// ITU-T G.711 µ-law and A-law companding, bit-exact with the classic Sun
// Microsystems reference code (g711.c) that most telephony stacks share.
// The scalar functions define the codec; the buffer functions run on tables
// built from them once at load, because they run for every sample of every
// stream.

const ULAW_BIAS = 0x84
const ULAW_CLIP = 32635

/** µ-law encode of one 16-bit linear sample (G.711 §3, Sun reference with bias 0x84, clip 32635). */
export const linearToUlaw = (sample: number): number => {
  let magnitude = sample < 0 ? -sample : sample
  const sign = sample < 0 ? 0x80 : 0
  if (magnitude > ULAW_CLIP) magnitude = ULAW_CLIP
  magnitude += ULAW_BIAS
  // The segment (exponent) is the position of the highest set bit above bit 7.
  const exponent = Math.max(0, 31 - Math.clz32(magnitude >> 7))
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f
  return ~(sign | (exponent << 4) | mantissa) & 0xff
}

/** µ-law decode of one code to a 16-bit linear sample (range ±32124). */
export const ulawToLinear = (code: number): number => {
  const inverted = ~code & 0xff
  const magnitude = (((inverted & 0x0f) << 3) + ULAW_BIAS) << ((inverted & 0x70) >> 4)
  return inverted & 0x80 ? ULAW_BIAS - magnitude : magnitude - ULAW_BIAS
}

// Upper ends of the A-law segments on the 13-bit magnitude scale.
const ALAW_SEGMENT_ENDS = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff] as const

/** A-law encode of one 16-bit linear sample (G.711 §2; even bits toggled with 0x55). */
export const linearToAlaw = (sample: number): number => {
  let scaled = sample >> 3
  let mask: number
  if (scaled >= 0) {
    mask = 0xd5
  } else {
    mask = 0x55
    scaled = -scaled - 1
  }
  let segment = 0
  while (segment < 8 && scaled > (ALAW_SEGMENT_ENDS[segment] ?? 0)) segment++
  // A 16-bit input never exceeds the last segment (4095 on the 13-bit scale).
  const quantized = segment < 2 ? (scaled >> 1) & 0x0f : (scaled >> segment) & 0x0f
  return ((segment << 4) | quantized) ^ mask
}

/** A-law decode of one code to a 16-bit linear sample (range ±32256). */
export const alawToLinear = (code: number): number => {
  const toggled = (code ^ 0x55) & 0xff
  let magnitude = (toggled & 0x0f) << 4
  const segment = (toggled & 0x70) >> 4
  if (segment === 0) magnitude += 8
  else magnitude = (magnitude + 0x108) << (segment - 1)
  return toggled & 0x80 ? magnitude : -magnitude
}

const buildEncodeTable = (encode: (sample: number) => number): Uint8Array => {
  // Indexed by the sample's 16-bit two's complement pattern (sample & 0xffff).
  const table = new Uint8Array(65536)
  for (let pattern = 0; pattern < 65536; pattern++) table[pattern] = encode((pattern << 16) >> 16)
  return table
}

const buildDecodeTable = (decode: (code: number) => number): Int16Array => {
  const table = new Int16Array(256)
  for (let code = 0; code < 256; code++) table[code] = decode(code)
  return table
}

const ULAW_ENCODE = buildEncodeTable(linearToUlaw)
const ALAW_ENCODE = buildEncodeTable(linearToAlaw)
const ULAW_DECODE = buildDecodeTable(ulawToLinear)
const ALAW_DECODE = buildDecodeTable(alawToLinear)

// Transcoding goes through the linear value: each decoded level is re-quantized
// by the other law's encoder, as a µ-law/A-law tandem through a linear stage
// would. One 256-entry lookup per sample instead of decode plus encode.
const buildTranscodeTable = (decode: Int16Array, encode: Uint8Array): Uint8Array => {
  const table = new Uint8Array(256)
  for (let code = 0; code < 256; code++) table[code] = encode[(decode[code] ?? 0) & 0xffff] ?? 0
  return table
}

/** µ-law code → A-law code. */
export const ULAW_TO_ALAW: Uint8Array = buildTranscodeTable(ULAW_DECODE, ALAW_ENCODE)
/** A-law code → µ-law code. */
export const ALAW_TO_ULAW: Uint8Array = buildTranscodeTable(ALAW_DECODE, ULAW_ENCODE)
/** µ-law code → linear sample, for callers that index per sample. */
export const ULAW_DECODE_TABLE: Int16Array = ULAW_DECODE
/** A-law code → linear sample, for callers that index per sample. */
export const ALAW_DECODE_TABLE: Int16Array = ALAW_DECODE

const encodeWith = (table: Uint8Array, samples: Int16Array, target: Uint8Array): void => {
  if (target.length < samples.length) throw new RangeError(`target holds ${target.length} codes, need ${samples.length}`)
  for (let index = 0; index < samples.length; index++) target[index] = table[(samples[index] ?? 0) & 0xffff] ?? 0
}

const decodeWith = (table: Int16Array, codes: Uint8Array, target: Int16Array): void => {
  if (target.length < codes.length) throw new RangeError(`target holds ${target.length} samples, need ${codes.length}`)
  for (let index = 0; index < codes.length; index++) target[index] = table[codes[index] ?? 0] ?? 0
}

const translateWith = (table: Uint8Array, codes: Uint8Array, target: Uint8Array): void => {
  if (target.length < codes.length) throw new RangeError(`target holds ${target.length} codes, need ${codes.length}`)
  for (let index = 0; index < codes.length; index++) target[index] = table[codes[index] ?? 0] ?? 0
}

/** Encodes PCM16 samples to µ-law codes, into `target` when given (reuse it per frame). */
export const encodeUlaw = (samples: Int16Array, target: Buffer = Buffer.allocUnsafe(samples.length)): Buffer => {
  encodeWith(ULAW_ENCODE, samples, target)
  return target
}

/** Encodes PCM16 samples to A-law codes, into `target` when given. */
export const encodeAlaw = (samples: Int16Array, target: Buffer = Buffer.allocUnsafe(samples.length)): Buffer => {
  encodeWith(ALAW_ENCODE, samples, target)
  return target
}

/** Decodes µ-law codes to PCM16 samples, into `target` when given. */
export const decodeUlaw = (codes: Uint8Array, target: Int16Array = new Int16Array(codes.length)): Int16Array => {
  decodeWith(ULAW_DECODE, codes, target)
  return target
}

/** Decodes A-law codes to PCM16 samples, into `target` when given. */
export const decodeAlaw = (codes: Uint8Array, target: Int16Array = new Int16Array(codes.length)): Int16Array => {
  decodeWith(ALAW_DECODE, codes, target)
  return target
}

/** Transcodes µ-law codes to A-law codes (in place when `target` is `codes`). */
export const ulawToAlawBuffer = (codes: Uint8Array, target: Buffer = Buffer.allocUnsafe(codes.length)): Buffer => {
  translateWith(ULAW_TO_ALAW, codes, target)
  return target
}

/** Transcodes A-law codes to µ-law codes (in place when `target` is `codes`). */
export const alawToUlawBuffer = (codes: Uint8Array, target: Buffer = Buffer.allocUnsafe(codes.length)): Buffer => {
  translateWith(ALAW_TO_ULAW, codes, target)
  return target
}
