// RFC 3261 timer values (§17.1.1.1, Table 4 of Appendix A). T1, T2 and T4
// are configurable (tests shorten them); every other timer derives from them.

export interface SipTimerConfig {
  /** RTT estimate; default 500 ms. */
  readonly t1: number
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses; default 4 s. */
  readonly t2: number
  /** Maximum time a message stays in the network; default 5 s. */
  readonly t4: number
  /** An INVITE server transaction sends 100 Trying when the TU has not answered within this; default 200 ms (§17.2.1). */
  readonly trying: number
}

export const DEFAULT_SIP_TIMERS: SipTimerConfig = {t1: 500, t2: 4_000, t4: 5_000, trying: 200}

export const sipTimers = (overrides?: Partial<SipTimerConfig>): SipTimerConfig => {
  const timers = {...DEFAULT_SIP_TIMERS, ...overrides}
  for (const [name, value] of Object.entries(timers)) {
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`SIP timer ${name} must be a positive number of milliseconds, got ${value}`)
  }
  return timers
}

/** 64·T1: Timers B, F, H, J, L, M and the UAS wait for ACK (§13.3.1.4). */
export const transactionTimeout = (timers: SipTimerConfig): number => 64 * timers.t1

/** The next retransmission interval: doubling, capped at T2 where the RFC caps it. */
export const nextInterval = (current: number, timers: SipTimerConfig, capped: boolean): number =>
  capped ? Math.min(current * 2, timers.t2) : current * 2
