// Estimated call quality with the ITU-T G.107 E-model: R = Ro − Is − Id −
// Ie,eff + A, every terminal and network parameter at its G.107 default
// (Table 3) except the codec, packet loss and delay, which come from the call.
// The one function the metric, the CDR, the call event and the span all use.
//
// Wideband codecs (G.722, Opus) are rated with the G.107.1 wideband E-model,
// R_wb = 129 − Id,wb − Ie,eff,wb, and R_wb is brought to the narrowband
// R scale as G.107.1 does for MOS (R = R_wb / 1.29) before Annex B, so the
// MOS stays on the one 1..4.5 scale (docs/codecs.md#mos). Id,wb is the
// narrowband delay impairment on the wideband scale (× 1.29): G.107.1 keeps
// G.107's delay and echo formulas.

export type MosCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus'

export interface MosInput {
  readonly codec: MosCodec
  /** Packet loss in percent, 0..100. */
  readonly packetLossPercent: number
  /** G.107 BurstR: 1 for random loss, above 1 for bursty loss. Default 1. */
  readonly burstRatio?: number
  /**
   * Mouth-to-ear one-way delay in ms (RTCP RTT / 2 where known, plus jitter
   * buffer and packetization). Default 0.
   */
  readonly oneWayDelayMs?: number
}

export interface MosEstimate {
  /** R on the narrowband scale (a wideband codec's R_wb / 1.29). */
  readonly rFactor: number
  /** Annex B mapping of R, clamped to [1, 4.5]. */
  readonly mos: number
}

interface CodecImpairment {
  /** Equipment impairment factor: Ie (narrowband) or Ie,wb (wideband). */
  readonly ie: number
  /** Packet-loss robustness factor. */
  readonly bpl: number
  /** Rated with the G.107.1 wideband model. */
  readonly wideband: boolean
}

// G.711 with packet-loss concealment (G.711 Appendix I): ITU-T G.113
// Appendix I, Table I.3 gives Ie = 0, Bpl = 25.1.
const G711_WITH_PLC: CodecImpairment = {ie: 0, bpl: 25.1, wideband: false}

// G.722 at 64 kbit/s: Ie,wb = 13 (ITU-T G.113 Appendix IV, the wideband
// impairment factors). For Bpl no value is used from G.113: G.722's receivers
// conceal loss by waveform extrapolation (G.722 Appendices III and IV) as
// G.711's do, so it takes G.711's 25.1.
const G722_64K: CodecImpairment = {ie: 13, bpl: 25.1, wideband: true}

const CODEC_IMPAIRMENTS: Readonly<Record<MosCodec, CodecImpairment>> = {
  PCMU: G711_WITH_PLC,
  PCMA: G711_WITH_PLC,
  G722: G722_64K,
  // G.113 lists no values for Opus. Rated as G.722 at 64 kbit/s: wideband, with
  // no credit for in-band FEC or for audio beyond 7 kHz (a conservative choice).
  opus: G722_64K,
}

/** The wideband scale's best rating (G.107.1 Ro,wb) and its ratio to the narrowband one. */
const RO_WIDEBAND = 129
const WIDEBAND_SCALE = 1.29

// G.107 Table 3 default values.
const SLR = 8 // send loudness rating, dB
const RLR = 2 // receive loudness rating, dB
const STMR = 15 // sidetone masking rating, dB
const LSTR = 18 // listener sidetone rating, dB
const DS = 3 // D-value of telephone, send side
const TELR = 65 // talker echo loudness rating, dB
const WEPL = 110 // weighted echo path loss, dB
const QDU = 1 // quantizing distortion units
const NC = -70 // circuit noise referred to the 0 dBr point, dBm0p
const NFOR = -64 // noise floor at the receive side, dBmp
const PS = 35 // room noise at the send side, dB(A)
const PR = 35 // room noise at the receive side, dB(A)
const ADVANTAGE = 0 // advantage factor A
const MINIMUM_PERCEIVABLE_DELAY_MS = 100 // mT
const DELAY_SENSITIVITY = 1 // sT

const log10 = Math.log10

// Ro, the basic signal-to-noise ratio (G.107 §7.2). It depends on defaults only.
const OLR = SLR + RLR
const NOS = PS - SLR - DS - 100 + 0.004 * (PS - OLR - DS - 14) ** 2
const PRE = PR + 10 * log10(1 + 10 ** ((10 - LSTR) / 10))
const NOR = RLR - 121 + PRE + 0.008 * (PRE - 35) ** 2
const NFO = NFOR + RLR
const NO = 10 * log10(10 ** (NC / 10) + 10 ** (NOS / 10) + 10 ** (NOR / 10) + 10 ** (NFO / 10))
const RO = 15 - 1.5 * (SLR + NO)

// Iolr and Iq (G.107 §7.3) do not depend on delay either.
const XOLR = OLR + 0.2 * (64 + NO - RLR)
const IOLR = 20 * ((1 + (XOLR / 8) ** 8) ** (1 / 8) - XOLR / 8)
const Q = 37 - 15 * log10(QDU)
const G = 1.07 + 0.258 * Q + 0.0602 * Q ** 2
const IQ = 15 * log10(1 + 10 ** ((RO - 100) / 15 + 46 / 8.4 - G / 9) + 10 ** (46 / 30 - G / 40))

/** Ist, the sidetone impairment (G.107 §7.3); STMRo varies with the echo path delay T. */
const sidetoneImpairment = (echoDelayMs: number): number => {
  const stmro = -10 * log10(10 ** (-STMR / 10) + Math.exp(-echoDelayMs / 4) * 10 ** (-TELR / 10))
  return (
    12 * (1 + ((stmro - 13) / 6) ** 8) ** (1 / 8) -
    28 * (1 + ((stmro + 1) / 19.4) ** 35) ** (1 / 35) -
    13 * (1 + ((stmro - 3) / 33) ** 13) ** (1 / 13) +
    29
  )
}

/** Idte, talker echo (G.107 §7.4); below 1 ms an echo is heard as sidetone, not echo. */
const talkerEchoImpairment = (echoDelayMs: number): number => {
  if (echoDelayMs < 1) return 0
  const roe = -1.5 * (NO - RLR)
  const terv = TELR - 40 * log10((1 + echoDelayMs / 10) / (1 + echoDelayMs / 150)) + 6 * Math.exp(-0.3 * echoDelayMs ** 2)
  // STMR is 15 dB (≥ 9), so TERV needs no sidetone correction.
  const re = 80 + 2.5 * (terv - 14)
  return ((roe - re) / 2 + Math.sqrt((roe - re) ** 2 / 4 + 100) - 1) * (1 - Math.exp(-echoDelayMs))
}

/** Idle, listener echo (G.107 §7.4), from the round-trip delay Tr of the 4-wire loop. */
const listenerEchoImpairment = (roundTripMs: number): number => {
  const rle = 10.5 * (WEPL + 7) * (roundTripMs + 1) ** -0.25
  return (RO - rle) / 2 + Math.sqrt((RO - rle) ** 2 / 4 + 169)
}

/** Idd, pure delay (G.107 §7.4): zero up to mT = 100 ms of absolute delay Ta. */
const absoluteDelayImpairment = (absoluteDelayMs: number): number => {
  if (absoluteDelayMs <= MINIMUM_PERCEIVABLE_DELAY_MS) return 0
  const x = log10(absoluteDelayMs / MINIMUM_PERCEIVABLE_DELAY_MS) / log10(2)
  return 25 * ((1 + x ** (6 * DELAY_SENSITIVITY)) ** (1 / (6 * DELAY_SENSITIVITY)) - 3 * (1 + (x / 3) ** (6 * DELAY_SENSITIVITY)) ** (1 / (6 * DELAY_SENSITIVITY)) + 2)
}

/** MOS from R (G.107 Annex B). */
export const mosFromR = (r: number): number => {
  if (r < 0) return 1
  if (r > 100) return 4.5
  const mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6
  // The polynomial dips just below 1 for small R; the scale's floor is 1.
  return Math.min(4.5, Math.max(1, mos))
}

const requireFinite = (name: string, value: number): void => {
  if (!Number.isFinite(value)) throw new RangeError(`${name} must be a finite number, got ${value}`)
}

/**
 * The E-model estimate for one stream. Delay enters as the echo-path delay T
 * and absolute delay Ta (both the one-way delay) and as the 4-wire round trip
 * Tr (twice it), the usual reading for a VoIP path with echo control at both
 * ends (G.107 Table 3 defaults for TELR and WEPL).
 */
export const estimateMos = (input: MosInput): MosEstimate => {
  const impairment = CODEC_IMPAIRMENTS[input.codec]
  if (impairment === undefined) throw new RangeError(`no E-model values for codec ${String(input.codec)}`)
  requireFinite('packetLossPercent', input.packetLossPercent)
  const burstRatio = input.burstRatio ?? 1
  requireFinite('burstRatio', burstRatio)
  const oneWayDelayMs = input.oneWayDelayMs ?? 0
  requireFinite('oneWayDelayMs', oneWayDelayMs)

  const ppl = Math.min(100, Math.max(0, input.packetLossPercent))
  // BurstR below 1 would mean loss more spread out than random, outside the model.
  const burstR = Math.max(1, burstRatio)
  const delay = Math.max(0, oneWayDelayMs)

  const id = talkerEchoImpairment(delay) + listenerEchoImpairment(2 * delay) + absoluteDelayImpairment(delay)
  if (impairment.wideband) {
    // G.107.1: Ie,eff,wb = Ie,wb + (Ro,wb − Ie,wb)·Ppl/(Ppl/BurstR + Bpl); R_wb, then R = R_wb / 1.29.
    const ieEffWideband = impairment.ie + ((RO_WIDEBAND - impairment.ie) * ppl) / (ppl / burstR + impairment.bpl)
    const rWideband = RO_WIDEBAND - WIDEBAND_SCALE * id - ieEffWideband + ADVANTAGE
    const rFactor = rWideband / WIDEBAND_SCALE
    return {rFactor, mos: mosFromR(rFactor)}
  }
  const is = IOLR + sidetoneImpairment(delay) + IQ
  // G.107 §7.5: effective equipment impairment under packet loss.
  const ieEff = impairment.ie + ((95 - impairment.ie) * ppl) / (ppl / burstR + impairment.bpl)
  const rFactor = RO - is - id - ieEff + ADVANTAGE
  return {rFactor, mos: mosFromR(rFactor)}
}

/**
 * The MOS a stream reports, live and final alike: none (null) until it has
 * received a packet, since there is nothing to rate (the E-model of a silent
 * stream would say 4.4); else the estimate rounded to 2 decimals. The CDR
 * column is not nullable and stores "none" as 0.
 */
export const reportedMos = (packetsReceived: number, estimatedMos: number): number | null =>
  packetsReceived > 0 ? Number(estimatedMos.toFixed(2)) : null
