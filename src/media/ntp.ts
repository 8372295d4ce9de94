// NTP timestamps as RTCP carries them (RFC 3550 §4): 32 bits of seconds since
// 1900 and 32 bits of fraction, plus the "compact" middle 32 bits (16.16
// fixed point) used by LSR, DLSR and the round-trip computation of §6.4.1.

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_OFFSET_SECONDS = 2_208_988_800
const TWO_POW_32 = 0x1_0000_0000
/** Compact NTP units per second (1/65536 s each). */
export const COMPACT_NTP_UNITS_PER_SECOND = 65536

export interface NtpTimestamp {
  readonly seconds: number
  readonly fraction: number
}

/** Unix time in ms → 64-bit NTP timestamp, wrapping into NTP era 1 after 2036 (RFC 5905 §6). */
export const unixMsToNtp = (unixMs: number): NtpTimestamp => {
  const wholeSeconds = Math.floor(unixMs / 1000)
  const remainderMs = unixMs - wholeSeconds * 1000
  return {
    seconds: (wholeSeconds + NTP_UNIX_OFFSET_SECONDS) % TWO_POW_32,
    fraction: Math.min(TWO_POW_32 - 1, Math.floor((remainderMs * TWO_POW_32) / 1000)),
  }
}

/**
 * 64-bit NTP timestamp → Unix time in ms. Seconds with the top bit clear are
 * read as era 1 (from 2036-02-07), the convention of RFC 2030 §3.
 */
export const ntpToUnixMs = (seconds: number, fraction: number): number => {
  const era = seconds < 0x8000_0000 ? TWO_POW_32 : 0
  return (seconds + era - NTP_UNIX_OFFSET_SECONDS) * 1000 + (fraction * 1000) / TWO_POW_32
}

/** The middle 32 bits of a 64-bit NTP timestamp (RFC 3550 §6.4.1 LSR). */
export const compactNtp = (seconds: number, fraction: number): number => (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0

/** Unix time in ms → compact NTP (16.16 seconds, modulo 65536 s). */
export const unixMsToCompactNtp = (unixMs: number): number => {
  const ntp = unixMsToNtp(unixMs)
  return compactNtp(ntp.seconds, ntp.fraction)
}

/** A duration in compact NTP units (1/65536 s) → ms. */
export const compactNtpToMs = (units: number): number => (units * 1000) / COMPACT_NTP_UNITS_PER_SECOND

/** A duration in ms → compact NTP units, as a DLSR field holds it. */
export const msToCompactNtp = (ms: number): number => Math.min(0xffffffff, Math.max(0, Math.round((ms * COMPACT_NTP_UNITS_PER_SECOND) / 1000)))

// Each of A, LSR and DLSR is truncated to 1/65536 s, so a true round trip of
// ~0 can come out a few units negative; anything more negative is bogus.
const NEGATIVE_TOLERANCE_UNITS = 66

/**
 * Round-trip time per RFC 3550 §6.4.1: A − LSR − DLSR in 1/65536 s, where A is
 * the compact NTP arrival time of the report block. Undefined when the peer
 * has not received an SR yet (LSR = 0) or the result is negative beyond
 * rounding (clock trouble on either side).
 */
export const roundTripTimeUnits = (arrivalCompactNtp: number, lastSenderReport: number, delaySinceLastSenderReport: number): number | undefined => {
  if (lastSenderReport === 0) return undefined
  // Modulo-2^32 arithmetic, read as signed: the compact clock wraps every 18 h.
  const signed = (arrivalCompactNtp - lastSenderReport - delaySinceLastSenderReport) | 0
  if (signed < -NEGATIVE_TOLERANCE_UNITS) return undefined
  return Math.max(0, signed)
}

/** Round-trip time in ms from a report block that arrived at `arrivalUnixMs`. */
export const roundTripTimeMs = (
  arrivalUnixMs: number,
  block: {readonly lastSenderReport: number; readonly delaySinceLastSenderReport: number},
): number | undefined => {
  const units = roundTripTimeUnits(unixMsToCompactNtp(arrivalUnixMs), block.lastSenderReport, block.delaySinceLastSenderReport)
  return units === undefined ? undefined : compactNtpToMs(units)
}
