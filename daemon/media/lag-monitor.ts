// Event-loop lag of a media shard: a probe timer re-armed every `probeMs`
// records how late it fires (actual − due, in µs) and the samples go out in
// one batch per second. Raw samples rather than perf_hooks'
// monitorEventLoopDelay percentiles, so the main thread can feed each one to
// the clutchcall_codec_engine_lag_us histogram and its buckets stay exact.
// libuv timers have 1 ms resolution: an idle loop shows lags between 0 and
// about 1000 µs; a shard that is busy with packets shows more.
import {performance} from 'node:perf_hooks'

export class LagMonitor {
  private timer: NodeJS.Timeout | undefined
  private running = false
  private due = 0
  private samples: number[] = []
  private batchStarted = 0

  constructor(
    private readonly probeMs: number,
    private readonly batchMs: number,
    private readonly onBatch: (samplesUs: Float64Array) => void,
  ) {
    if (!(probeMs > 0) || !(batchMs >= probeMs)) throw new RangeError(`lag probe every ${probeMs} ms, batches every ${batchMs} ms: need 0 < probe ≤ batch`)
  }

  start(): void {
    if (this.running) return
    this.running = true
    this.batchStarted = performance.now()
    this.arm()
  }

  stop(): void {
    this.running = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }

  private arm(): void {
    this.due = performance.now() + this.probeMs
    this.timer = setTimeout(this.probe, this.probeMs)
    // The probe must not be what keeps a shard alive.
    this.timer.unref()
  }

  private readonly probe = (): void => {
    const now = performance.now()
    this.samples.push(Math.max(0, Math.round((now - this.due) * 1000)))
    if (now - this.batchStarted >= this.batchMs) {
      const batch = Float64Array.from(this.samples)
      this.samples = []
      this.batchStarted = now
      this.onBatch(batch)
    }
    if (this.running) this.arm()
  }
}

/** The p-th percentile (0..100) of the samples, nearest-rank; 0 for none. */
export const percentile = (samples: ArrayLike<number>, p: number): number => {
  if (samples.length === 0) return 0
  const sorted = Float64Array.from(samples).sort()
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)))
  return sorted[rank - 1] ?? 0
}
