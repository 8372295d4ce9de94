// Global overload control (docs/sip-abuse-control.md, "Overload"): when the
// SIP thread falls behind — its event loop lags, is busy nearly all the time
// (requests then queue up in the kernel's socket buffer, unseen by the lag),
// or it holds more transactions than it can serve — new INVITEs get 503 with
// Retry-After while established calls and their BYEs go on. Sampled on a
// timer, so the per-INVITE check is a field read; recovery is automatic at the
// first sample under every limit.
import {monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram} from 'node:perf_hooks'
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'

/** How often lag and transactions are sampled. */
export const OVERLOAD_SAMPLE_MS = 500

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
}

/** Decides the state from one sample; pure, for the tests. */
export const isOverloaded = (limits: Config['security']['overload'], sample: OverloadSample): boolean =>
  sample.lagMs > limits.max_event_loop_lag_ms || sample.utilization > limits.max_event_loop_utilization || sample.transactions > limits.max_transactions

export class OverloadControl {
  private overloaded = false
  private histogram: IntervalHistogram | undefined
  private timer: NodeJS.Timeout | undefined
  private due = 0
  private utilization: EventLoopUtilization | undefined
  /** The first interval covers the daemon's own start-up (loading modules, binding listeners): not a sign of load. */
  private warmedUp = false

  constructor(
    private limits: Config['security']['overload'],
    private readonly transactions: () => number,
    private readonly log: Logger,
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
    }
  }

  private monitor(): void {
    this.histogram = monitorEventLoopDelay({resolution: 10})
    this.histogram.enable()
    this.utilization = performance.eventLoopUtilization()
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
    const overloaded = isOverloaded(this.limits, sample)
    if (overloaded === this.overloaded) return
    this.overloaded = overloaded
    // One line per change of state, never one per refused INVITE.
    const figures = {lag_ms: Math.round(sample.lagMs), utilization: Math.round(sample.utilization * 1000) / 1000, transactions: sample.transactions}
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
    if (!this.warmedUp) {
      this.warmedUp = true
      return
    }
    this.update({lagMs, utilization, transactions: this.transactions()})
  }
}
