// Memory back after a load (docs/operations.md, "Memory after a load"). V8
// gives back the heap a burst of calls or a flood grew only at its next major
// collection, which it schedules by allocation: an idle daemon ran none for
// 60–90 s after a flood (251 MB, idle 103 MB) and for minutes after a burst of
// calls. So once the load that grew the memory has fallen away, the daemon asks
// each of its threads for one full collection, then hands the native memory
// freed with it back to the kernel (malloc-trim.ts). `clutchcall start` runs the
// daemon with --expose-gc for this; a daemon started otherwise collects nothing.
import type {Logger} from 'pino'
import type {MallocTrim} from './malloc-trim.js'

/** How often the load and the RSS are sampled. */
export const IDLE_SAMPLE_MS = 5000
/** The load has fallen away when it is at most this share of its peak since the last collection… */
const QUIET_SHARE = 0.25
/** …for this many samples in a row (10 s): a lull between bursts is not the end of the load. */
const QUIET_SAMPLES = 2
/** A peak under this (calls + transactions + requests per second) grows nothing worth a collection. */
const MIN_PEAK = 20
/** Collect only when the RSS is this much over the lowest it was at start or after a collection. */
const RSS_GROWTH = 1.1
/** The second full collection comes this long after the first. */
const SECOND_PASS_MS = 2000
/** At most one collection per this long, whatever the load does. */
const MIN_INTERVAL_MS = 30_000

export interface LoadSample {
  /** Calls up + SIP transactions held + requests received per second in the last interval. */
  readonly load: number
  readonly rssBytes: number
  readonly atMs: number
}

/** Decides, sample by sample, when to collect; pure, for the tests. */
export class IdleCollectionPolicy {
  private peak = 0
  private quietSamples = 0
  private baselineRss: number | undefined
  private lastCollectionMs = Number.NEGATIVE_INFINITY
  /**
   * The sample after a collection may lower the baseline: the collection has given its memory back by then.
   * The lowest, not the latest: a collection made while the load's last transactions were still held
   * (32 s after a burst) leaves the RSS above idle, and once they are gone it is worth another one.
   */
  private rebaseline = false

  /** True when the threads are to be collected now. */
  next(sample: LoadSample): boolean {
    if (this.baselineRss === undefined || this.rebaseline) {
      this.baselineRss = Math.min(this.baselineRss ?? sample.rssBytes, sample.rssBytes)
      this.rebaseline = false
    }
    this.peak = Math.max(this.peak, sample.load)
    this.quietSamples = sample.load <= this.peak * QUIET_SHARE ? this.quietSamples + 1 : 0
    const due =
      this.peak >= MIN_PEAK &&
      this.quietSamples >= QUIET_SAMPLES &&
      sample.rssBytes > this.baselineRss * RSS_GROWTH &&
      sample.atMs - this.lastCollectionMs >= MIN_INTERVAL_MS
    if (!due) return false
    this.lastCollectionMs = sample.atMs
    this.peak = sample.load
    this.quietSamples = 0
    this.rebaseline = true
    return true
  }
}

export interface IdleCollectionOptions {
  /** The load now, without the request rate: calls up and transactions held. */
  readonly held: () => number
  /** Requests received since start (admitted and refused). */
  readonly requests: () => number
  /** Asks the other threads (media shards) for a full collection; fire and forget. */
  readonly collectThreads: () => void
  /** glibc's malloc_trim, where the platform has it: run after the second collection. */
  readonly trim?: MallocTrim
  readonly log: Logger
}

const megabytes = (usage: NodeJS.MemoryUsage) => ({rss: Math.round(usage.rss / 1e6), heap_used: Math.round(usage.heapUsed / 1e6), heap_total: Math.round(usage.heapTotal / 1e6), external: Math.round(usage.external / 1e6)})

/** The global `gc` that --expose-gc installs, when the daemon has it. */
const exposedGc = (): (() => void) | undefined => {
  const candidate = (globalThis as {gc?: unknown}).gc
  return typeof candidate === 'function' ? (candidate as () => void) : undefined
}

/** Full collection of every thread once a load has fallen away (see the top of this file). */
export class IdleCollector {
  private readonly policy = new IdleCollectionPolicy()
  private readonly timer: NodeJS.Timeout | undefined
  private lastRequests: number
  private lastAtMs = Date.now()

  constructor(private readonly options: IdleCollectionOptions) {
    this.lastRequests = options.requests()
    if (exposedGc() === undefined) {
      options.log.debug('no --expose-gc: memory grown by a load is given back when V8 collects on its own')
      return
    }
    this.timer = setInterval(() => this.sample(), IDLE_SAMPLE_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private sample(): void {
    const atMs = Date.now()
    const requests = this.options.requests()
    const perSecond = ((requests - this.lastRequests) * 1000) / Math.max(1, atMs - this.lastAtMs)
    this.lastRequests = requests
    this.lastAtMs = atMs
    const rssBytes = process.memoryUsage.rss()
    if (!this.policy.next({load: this.options.held() + perSecond, rssBytes, atMs})) return
    const before = process.memoryUsage()
    this.collectAll()
    // A second pass once the first one's sweeping is over: V8 then releases the pages it emptied.
    setTimeout(() => {
      this.collectAll()
      const collected = process.memoryUsage()
      const trimmed = this.trimNative()
      this.options.log.info({before_mb: megabytes(before), collected_mb: megabytes(collected), ...trimmed}, 'load over: full garbage collection of every thread')
    }, SECOND_PASS_MS).unref()
  }

  /** malloc_trim after the collections freed the native buffers they held; how long it took and the RSS after. */
  private trimNative(): {trim_ms: number; trimmed_rss_mb: number} | {trim: 'unavailable'} {
    const {trim} = this.options
    if (trim === undefined) return {trim: 'unavailable'}
    const startedAt = performance.now()
    trim()
    return {trim_ms: Math.round((performance.now() - startedAt) * 10) / 10, trimmed_rss_mb: Math.round(process.memoryUsage.rss() / 1e6)}
  }

  private collectAll(): void {
    this.options.collectThreads()
    exposedGc()?.()
  }
}
