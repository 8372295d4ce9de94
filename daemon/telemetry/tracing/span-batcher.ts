// Finished spans wait here and leave in batches, as the SDK's
// BatchSpanProcessor sends them: every `everyMs`, or as soon as a full batch
// is queued. The queue is bounded: past `maxQueue` spans are dropped and
// counted, so a collector that is down never grows the daemon's memory.
import {ExportResultCode} from '@opentelemetry/core'
import type {SpanExporter} from '@opentelemetry/sdk-trace'
import {toReadableSpan, type SpanOrigin, type SpanRecord} from './span-record.js'

/** Where batches go: the export thread, or (tests) an OpenTelemetry SpanExporter. */
export interface SpanRecordExporter {
  /** `done` gets undefined when the collector took the batch, else why not. */
  export(records: readonly SpanRecord[], done: (error: Error | undefined) => void): void
  /** `wait: false`: end now, failing what is still unanswered (the collector is not answering). */
  shutdown(options?: {readonly wait: boolean}): Promise<void>
}

export interface SpanBatcherOptions {
  readonly everyMs: number
  readonly maxBatch?: number
  readonly maxQueue?: number
  /** Batches handed over and not yet answered; more wait in the queue. */
  readonly maxInFlight?: number
}

export type BatchResult = (records: readonly SpanRecord[], error: Error | undefined) => void

export class SpanBatcher {
  private queue: SpanRecord[] = []
  private timer: NodeJS.Timeout | undefined
  private inFlight = 0
  private sentCount = 0
  private readonly idle = new Set<() => void>()
  private readonly maxBatch: number
  private readonly maxQueue: number
  private readonly maxInFlight: number
  /** Spans dropped because the queue was full. */
  dropped = 0

  constructor(
    private readonly exporter: SpanRecordExporter,
    private readonly options: SpanBatcherOptions,
    private readonly onResult: BatchResult,
  ) {
    this.maxBatch = options.maxBatch ?? 512
    this.maxQueue = options.maxQueue ?? 8192
    this.maxInFlight = options.maxInFlight ?? 4
  }

  add(record: SpanRecord): void {
    if (this.queue.length >= this.maxQueue) {
      this.dropped++
      return
    }
    this.queue.push(record)
    if (this.queue.length >= this.maxBatch) this.send()
    else if (!this.timer) {
      this.timer = setTimeout(this.onTimer, this.options.everyMs)
      this.timer.unref()
    }
  }

  private readonly onTimer = (): void => {
    this.timer = undefined
    this.send()
  }

  /** Hands over what is queued, a batch at a time, while fewer than maxInFlight are unanswered. */
  private send(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch)
      this.queue = batch === this.queue ? [] : this.queue.slice(this.maxBatch)
      this.inFlight++
      this.sentCount++
      let answered = false
      const done = (error: Error | undefined): void => {
        if (answered) return
        answered = true
        this.inFlight--
        try {
          this.onResult(batch, error)
        } finally {
          if (this.queue.length >= this.maxBatch) this.send()
          else if (this.queue.length > 0 && !this.timer) this.onTimer()
          if (this.inFlight === 0 && this.queue.length === 0) for (const resolve of this.idle) resolve()
        }
      }
      try {
        this.exporter.export(batch, done)
      } catch (error) {
        done(error instanceof Error ? error : new Error(String(error)))
      }
    }
  }

  /**
   * Sends everything queued, waits (at most `waitMs`) for the answers, then shuts the exporter down:
   * gracefully when every batch was answered, at once when some were not (they fail).
   * `waitMs` 0: nothing more is sent or waited for; what is queued is dropped.
   */
  async shutdown(waitMs: number): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (waitMs <= 0) {
      this.queue = []
      await this.exporter.shutdown({wait: false}).catch(() => undefined)
      return
    }
    this.send()
    if (this.inFlight > 0 || this.queue.length > 0) {
      let resolveIdle: () => void = () => undefined
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        new Promise<void>((resolve) => this.idle.add((resolveIdle = resolve))),
        // Not unref'd: the stop is waiting on it.
        new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
      ])
      this.idle.delete(resolveIdle)
      clearTimeout(timer)
    }
    await this.exporter.shutdown({wait: this.inFlight === 0}).catch(() => undefined)
  }

  /** Batches handed to the exporter since the start. */
  get batchesSent(): number {
    return this.sentCount
  }
}

/** Feeds batches to an OpenTelemetry SpanExporter (tests use the SDK's in-memory one). */
export class SdkExporterAdapter implements SpanRecordExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly origin: SpanOrigin,
  ) {}

  export(records: readonly SpanRecord[], done: (error: Error | undefined) => void): void {
    this.inner.export(
      records.map((record) => toReadableSpan(record, this.origin)),
      (result) => done(result.code === ExportResultCode.SUCCESS ? undefined : (result.error ?? new Error('export failed'))),
    )
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }
}
