// Global overload control (docs/sip-abuse-control.md, "Overload"): when the
// SIP thread falls behind — its event loop lags, is busy nearly all the time
// with requests it admits (they then queue up in the kernel's socket buffer,
// unseen by the lag), or it holds more transactions than it can serve — new
// INVITEs get 503 with Retry-After while established calls and their BYEs go
// on. Sampled on a timer, so the per-INVITE check is a field read; recovery is
// automatic at the first sample under every limit.
import {monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram} from 'node:perf_hooks'
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'

/** How often lag and transactions are sampled. */
export const OVERLOAD_SAMPLE_MS = 500

/**
 * A busy loop is the flood's doing, not the callers', while the abuse guard turned away at least
 * this many requests for each one it admitted: refusing calls would not relieve it (the guard
 * already drops the flood as cheaply as it can), it would only turn away the callers.
 */
export const FLOOD_RATIO = 10

/** Requests the abuse guard admitted and turned away, counted since start. */
export interface ScreenCounts {
  readonly admitted: number
  readonly refused: number
}

export interface OverloadSample {
  /** The worst event-loop delay in the last interval, in milliseconds. */
  readonly lagMs: number
  /**
   * The share of the last interval the event loop spent working rather than waiting for I/O, 0 to 1
   * (performance.eventLoopUtilization). A UDP socket with requests queued keeps it at 1 while the
   * loop still turns often enough for the lag to stay small: the loop reads a batch of datagrams
   * per turn, then runs its timers.
   */
  readonly utilization: number
  readonly transactions: number
  /** Requests the abuse guard admitted, and turned away, in the interval. */
  readonly admitted: number
  readonly refused: number
}

/** The interval's traffic was mostly a flood the guard turned away (FLOOD_RATIO). */
export const floodBound = (sample: Pick<OverloadSample, 'admitted' | 'refused'>): boolean => sample.refused > 0 && sample.refused >= FLOOD_RATIO * sample.admitted

/** Busy with requests it admitted: the loop's part of overload. */
const busyWithCallers = (limits: Config['security']['overload'], sample: OverloadSample): boolean => sample.utilization > limits.max_event_loop_utilization && !floodBound(sample)

/**
 * Decides the state from one sample and the one before it; pure, for the tests. The utilization
 * counts once two samples in a row (a second) are over it: a burst of half a second, which the
 * socket buffer absorbs, is no overload.
 */
export const isOverloaded = (limits: Config['security']['overload'], sample: OverloadSample, previous: OverloadSample | undefined): boolean =>
  sample.lagMs > limits.max_event_loop_lag_ms ||
  sample.transactions > limits.max_transactions ||
  (busyWithCallers(limits, sample) && previous !== undefined && busyWithCallers(limits, previous))

export class OverloadControl {
  private overloaded = false
  private histogram: IntervalHistogram | undefined
  private timer: NodeJS.Timeout | undefined
  private due = 0
  private utilization: EventLoopUtilization | undefined
  private screened: ScreenCounts = {admitted: 0, refused: 0}
  private previous: OverloadSample | undefined
  /** The first interval covers the daemon's own start-up (loading modules, binding listeners): not a sign of load. */
  private warmedUp = false

  constructor(
    private limits: Config['security']['overload'],
    private readonly transactions: () => number,
    private readonly log: Logger,
    /** The abuse guard's counts (SipGuard.counts); none: every busy loop counts. */
    private readonly screening: () => ScreenCounts = () => ({admitted: 0, refused: 0}),
  ) {
    if (limits.enabled) this.monitor()
  }

  /** New limits (a config reload): sampling starts or stops with `enabled`; switched off, INVITEs are taken at once. */
  reconfigure(limits: Config['security']['overload']): void {
    const wasEnabled = this.limits.enabled
    this.limits = limits
    if (limits.enabled && !wasEnabled) {
      this.warmedUp = true
      this.monitor()
    } else if (!limits.enabled && wasEnabled) {
      this.stop()
      this.histogram = undefined
      this.timer = undefined
      if (this.overloaded) this.log.info('SIP overload control switched off: new INVITEs are taken again')
      this.overloaded = false
      this.previous = undefined
    }
  }

  private monitor(): void {
    this.histogram = monitorEventLoopDelay({resolution: 10})
    this.histogram.enable()
    this.utilization = performance.eventLoopUtilization()
    this.screened = {...this.screening()}
    this.due = performance.now() + OVERLOAD_SAMPLE_MS
    this.timer = setInterval(() => this.sample(), OVERLOAD_SAMPLE_MS)
    this.timer.unref()
  }

  /** True while new INVITEs are to be refused with 503. */
  get active(): boolean {
    return this.overloaded
  }

  get retryAfterS(): number {
    return this.limits.retry_after_s
  }

  /** Applies one sample (the timer's, or a test's). */
  update(sample: OverloadSample): void {
    const overloaded = isOverloaded(this.limits, sample, this.previous)
    this.previous = sample
    if (overloaded === this.overloaded) return
    this.overloaded = overloaded
    // One line per change of state, never one per refused INVITE.
    const figures = {lag_ms: Math.round(sample.lagMs), utilization: Math.round(sample.utilization * 1000) / 1000, transactions: sample.transactions, admitted: sample.admitted, refused: sample.refused}
    if (overloaded) this.log.warn(figures, 'SIP overloaded: new INVITEs get 503 until it recovers')
    else this.log.info(figures, 'SIP overload over: new INVITEs are taken again')
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.histogram?.disable()
  }

  private sample(): void {
    if (!this.histogram) return
    // The histogram is in nanoseconds; max over the interval, since a single long stall is what callers feel.
    // How late this timer fired covers a stall the histogram recorded only after we read it.
    const now = performance.now()
    const lagMs = Math.max(this.histogram.max / 1e6, now - this.due)
    this.due = now + OVERLOAD_SAMPLE_MS
    this.histogram.reset()
    const total = performance.eventLoopUtilization()
    const utilization = performance.eventLoopUtilization(total, this.utilization).utilization
    this.utilization = total
    const screened = {...this.screening()}
    const admitted = screened.admitted - this.screened.admitted
    const refused = screened.refused - this.screened.refused
    this.screened = screened
    if (!this.warmedUp) {
      this.warmedUp = true
      return
    }
    this.update({lagMs, utilization, transactions: this.transactions(), admitted, refused})
  }
}
