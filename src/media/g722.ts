// ITU-T G.722 (09/2012) 7 kHz audio coding at 64 kbit/s: sub-band ADPCM,
// written from the Recommendation's block descriptions (§3 encoder, §4
// decoder, §6 computational details). 16 kHz 16-bit linear PCM in, one octet
// per two samples out: the upper two bits carry the higher sub-band (IH),
// the lower six the lower sub-band (IL), the octet layout of RTP payload 9
// (RFC 3551 §4.5.2). Only mode 1 (64 kbit/s, 6-bit lower band) is spoken, as
// on every RTP session; a decoder still follows the 4-bit embedded core for
// its predictor, as the standard requires of every mode.
//
// Scale: the transmit QMF gain leaves the sub-band signals at half the 16-bit
// input (the 15-bit range of the ADPCM blocks), and the receive QMF doubles
// them back, so a full-scale 16-bit signal stays full scale end to end.

/** QMF coefficients h0…h23 of G.722 Table 1, scaled by 2^13 (the filter's DC gain is 8192). */
const QMF: readonly number[] = [3, -11, -11, 53, 12, -156, 32, 362, -210, -805, 951, 3876, 3876, 951, -805, -210, 362, 32, -156, 12, 53, -11, -11, 3]
const QMF_EVEN = Int32Array.from({length: 12}, (_, index) => QMF[2 * index] as number)
const QMF_ODD = Int32Array.from({length: 12}, (_, index) => QMF[2 * index + 1] as number)

// Lower sub-band quantizer (Table 6): the decision levels of the 30 magnitude
// intervals on the scale where DETL multiplies them by 2^-12, and the 6-bit
// code of each interval for a negative and for a positive difference signal.
const Q6 = Int32Array.from([0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714, 786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919])
const IL_NEGATIVE = Int32Array.from([0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4])
const IL_POSITIVE = Int32Array.from([0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32])

// Inverse quantizer outputs, scaled so that DETL multiplies them by 2^-15:
// 6-bit (QQ6, the decoder's output) by code, and the 4-bit embedded core
// (QQ4, what both predictors follow) by the code's upper four bits.
const QQ6 = Int32Array.from([
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776,
  -2400, -2032, -1688, -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400,
  2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
])
const QQ4 = Int32Array.from([0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0])
/** The magnitude class of each 4-bit code, indexing the lower-band log scale factor step WL. */
const RIL_CLASS = Int32Array.from([0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0])
const WL = Int32Array.from([-60, -30, 58, 172, 334, 538, 1198, 3042])

// Higher sub-band (Table 9): one decision level, 2-bit codes, outputs and log steps.
const QH_DECISION = 564
const IH_NEGATIVE = Int32Array.from([0, 1, 0])
const IH_POSITIVE = Int32Array.from([0, 3, 2])
const QQ2 = Int32Array.from([-7408, -1616, 7408, 1616])
const RIH_CLASS = Int32Array.from([2, 1, 2, 1])
const WH = Int32Array.from([0, -214, 798])

/** The antilog table of SCALEL/SCALEH: 2048·2^(i/32), rounded (G.722 Table 10). */
const ILB = Int32Array.from({length: 32}, (_, index) => Math.round(2048 * 2 ** (index / 32)))

const NBL_MAX = 18432
const NBH_MAX = 22528
/** Reset values of the quantizer scale factors (§6.1, RESET). */
const DETL_RESET = 32
const DETH_RESET = 8
/** LIMIT: the reconstructed sub-band signals stay within 15 bits. */
const SUBBAND_LIMIT = 16383

const sat16 = (value: number): number => (value > 32767 ? 32767 : value < -32768 ? -32768 : value)

/** DETL or DETH from the log scale factor (SCALEL, SCALEH): `shift` is 8 for the lower band, 10 for the higher. */
const scaleFactor = (nb: number, shift: number): number => {
  const mantissa = ILB[(nb >> 6) & 31] as number
  const exponent = shift - (nb >> 11)
  return (exponent < 0 ? mantissa << -exponent : mantissa >> exponent) << 2
}

/**
 * The adaptive predictor of one sub-band (block 4: RECONS, PARREC, UPPOL2,
 * UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC): a two-pole, six-zero
 * filter whose coefficients (Q14) follow the signs of the quantized
 * difference signal. Encoder and decoder run the same one on the same input,
 * so they stay in step without side information.
 */
class SubbandPredictor {
  /** The prediction s(n) for the next sample. */
  estimate = 0
  /** The quantizer scale factor DET and its log NB. */
  scale: number
  logScale = 0
  private zeroSum = 0
  private a1 = 0
  private a2 = 0
  // r(n-1), r(n-2): reconstructed signal; p(n-1), p(n-2): partial reconstruction.
  private r1 = 0
  private r2 = 0
  private p1 = 0
  private p2 = 0
  // Quantized differences d(n-1)…d(n-6) and zero coefficients b1…b6, index 0 unused.
  private readonly d = new Int32Array(7)
  private readonly b = new Int32Array(7)

  constructor(resetScale: number) {
    this.scale = resetScale
  }

  update(dq: number): void {
    const r0 = sat16(this.estimate + dq)
    const p0 = sat16(this.zeroSum + dq)
    const s0 = p0 >> 15
    const s1 = this.p1 >> 15
    const s2 = this.p2 >> 15
    // UPPOL2: a2 leaks by 2^-7 and moves by 2^-7 with the sign correlations, bounded by 0.75.
    const f = sat16(this.a1 << 2)
    let term = s0 === s1 ? -f : f
    if (term > 32767) term = 32767
    let a2 = (s0 === s2 ? 128 : -128) + (term >> 7) + ((this.a2 * 32512) >> 15)
    if (a2 > 12288) a2 = 12288
    else if (a2 < -12288) a2 = -12288
    // UPPOL1: a1 leaks by 2^-8 and moves by 3·2^-8, bounded by 1 - 2^-4 - a2.
    let a1 = sat16((s0 === s1 ? 192 : -192) + ((this.a1 * 32640) >> 15))
    const bound = sat16(15360 - a2)
    if (a1 > bound) a1 = bound
    else if (a1 < -bound) a1 = -bound
    // UPZERO: each b leaks by 2^-8 and moves by 2^-7 when d(n) is not zero.
    const step = dq === 0 ? 0 : 128
    const sd = dq >> 15
    const d = this.d
    const b = this.b
    for (let index = 1; index <= 6; index++) {
      const move = (d[index] as number) >> 15 === sd ? step : -step
      b[index] = sat16(move + (((b[index] as number) * 32640) >> 15))
    }
    // DELAYA
    for (let index = 6; index > 1; index--) d[index] = d[index - 1] as number
    d[1] = dq
    this.r2 = this.r1
    this.r1 = r0
    this.p2 = this.p1
    this.p1 = p0
    this.a1 = a1
    this.a2 = a2
    // FILTEP, FILTEZ, PREDIC
    const poleSum = sat16(((this.a1 * sat16(this.r1 + this.r1)) >> 15) + ((this.a2 * sat16(this.r2 + this.r2)) >> 15))
    let zeroSum = 0
    for (let index = 6; index >= 1; index--) zeroSum = sat16(zeroSum + (((b[index] as number) * sat16((d[index] as number) * 2)) >> 15))
    this.zeroSum = zeroSum
    this.estimate = sat16(poleSum + zeroSum)
  }
}

/** LOGSCL + SCALEL after a lower-band code's upper four bits `ril`. */
const adaptLower = (band: SubbandPredictor, ril: number): void => {
  let nb = ((band.logScale * 127) >> 7) + (WL[RIL_CLASS[ril] as number] as number)
  nb = nb < 0 ? 0 : nb > NBL_MAX ? NBL_MAX : nb
  band.logScale = nb
  band.scale = scaleFactor(nb, 8)
}

/** LOGSCH + SCALEH after a higher-band code. */
const adaptHigher = (band: SubbandPredictor, ih: number): void => {
  let nb = ((band.logScale * 127) >> 7) + (WH[RIH_CLASS[ih] as number] as number)
  nb = nb < 0 ? 0 : nb > NBH_MAX ? NBH_MAX : nb
  band.logScale = nb
  band.scale = scaleFactor(nb, 10)
}

/** Octets a G.722 payload of `samples` 16 kHz samples takes (two samples per octet). */
export const G722_SAMPLES_PER_OCTET = 2

export class G722Encoder {
  private readonly lower = new SubbandPredictor(DETL_RESET)
  private readonly higher = new SubbandPredictor(DETH_RESET)
  // The input history, newest first: x(j), x(j-1), … x(j-23).
  private readonly history = new Int32Array(24)

  /**
   * Encodes 16 kHz samples (an even count) into `target` (one octet per two
   * samples, allocated when absent); returns the octets written.
   */
  encode(samples: Int16Array, target: Uint8Array = new Uint8Array(samples.length >> 1)): Uint8Array {
    const pairs = samples.length >> 1
    if (target.length < pairs) throw new RangeError(`target holds ${target.length} octets, need ${pairs}`)
    const history = this.history
    for (let pair = 0; pair < pairs; pair++) {
      history.copyWithin(2, 0, 22)
      history[1] = samples[2 * pair] as number
      history[0] = samples[2 * pair + 1] as number
      // Transmit QMF: xA over the even lags, xB over the odd ones.
      let even = 0
      let odd = 0
      for (let index = 0; index < 12; index++) {
        even += (history[2 * index] as number) * (QMF_EVEN[index] as number)
        odd += (history[2 * index + 1] as number) * (QMF_ODD[index] as number)
      }
      const il = this.encodeLower((even + odd) >> 14)
      const ih = this.encodeHigher((even - odd) >> 14)
      target[pair] = (ih << 6) | il
    }
    return target.length === pairs ? target : target.subarray(0, pairs)
  }

  private encodeLower(xl: number): number {
    const band = this.lower
    const el = sat16(xl - band.estimate)
    // QUANTL compares the one's-complement magnitude with the scaled decision levels.
    const magnitude = el >= 0 ? el : -(el + 1)
    let interval = 1
    while (interval < 30 && magnitude >= (((Q6[interval] as number) * band.scale) >> 12)) interval++
    const il = el < 0 ? (IL_NEGATIVE[interval] as number) : (IL_POSITIVE[interval] as number)
    const ril = il >> 2
    const dlt = (band.scale * (QQ4[ril] as number)) >> 15
    adaptLower(band, ril)
    band.update(dlt)
    return il
  }

  private encodeHigher(xh: number): number {
    const band = this.higher
    const eh = sat16(xh - band.estimate)
    const magnitude = eh >= 0 ? eh : -(eh + 1)
    const large = magnitude >= ((QH_DECISION * band.scale) >> 12) ? 2 : 1
    const ih = eh < 0 ? (IH_NEGATIVE[large] as number) : (IH_POSITIVE[large] as number)
    const dh = (band.scale * (QQ2[ih] as number)) >> 15
    adaptHigher(band, ih)
    band.update(dh)
    return ih
  }
}

export class G722Decoder {
  private readonly lower = new SubbandPredictor(DETL_RESET)
  private readonly higher = new SubbandPredictor(DETH_RESET)
  // Receive QMF inputs, newest first: xd = rL - rH and xs = rL + rH.
  private readonly difference = new Int32Array(12)
  private readonly sum = new Int32Array(12)

  /** Decodes octets into 16 kHz samples, two per octet, into `target` (allocated when absent). */
  decode(octets: Uint8Array, target: Int16Array = new Int16Array(octets.length * 2)): Int16Array {
    const count = octets.length
    if (target.length < 2 * count) throw new RangeError(`target holds ${target.length} samples, need ${2 * count}`)
    const difference = this.difference
    const sum = this.sum
    for (let index = 0; index < count; index++) {
      const octet = octets[index] as number
      const rl = this.decodeLower(octet & 0x3f)
      const rh = this.decodeHigher(octet >> 6)
      difference.copyWithin(1, 0, 11)
      sum.copyWithin(1, 0, 11)
      difference[0] = rl - rh
      sum[0] = rl + rh
      let first = 0
      let second = 0
      for (let tap = 0; tap < 12; tap++) {
        first += (difference[tap] as number) * (QMF_EVEN[tap] as number)
        second += (sum[tap] as number) * (QMF_ODD[tap] as number)
      }
      target[2 * index] = sat16(first >> 11)
      target[2 * index + 1] = sat16(second >> 11)
    }
    return target.length === 2 * count ? target : target.subarray(0, 2 * count)
  }

  private decodeLower(il: number): number {
    const band = this.lower
    // The output uses all six bits; the predictor, like the encoder's, only the 4-bit core.
    let rl = band.estimate + ((band.scale * (QQ6[il] as number)) >> 15)
    rl = rl > SUBBAND_LIMIT ? SUBBAND_LIMIT : rl < -SUBBAND_LIMIT - 1 ? -SUBBAND_LIMIT - 1 : rl
    const ril = il >> 2
    const dlt = (band.scale * (QQ4[ril] as number)) >> 15
    adaptLower(band, ril)
    band.update(dlt)
    return rl
  }

  private decodeHigher(ih: number): number {
    const band = this.higher
    const dh = (band.scale * (QQ2[ih] as number)) >> 15
    let rh = band.estimate + dh
    rh = rh > SUBBAND_LIMIT ? SUBBAND_LIMIT : rh < -SUBBAND_LIMIT - 1 ? -SUBBAND_LIMIT - 1 : rh
    adaptHigher(band, ih)
    band.update(dh)
    return rh
  }
}
