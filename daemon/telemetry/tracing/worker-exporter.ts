// A SpanExporter that hands the OTLP work (protobuf serialisation and the
// HTTP request) to a worker thread: on the main thread an export is a copy of
// each span into a plain record and one postMessage. Measured in README
// "Tracing cost": serialisation and sending were about a third of what
// tracing cost the call setup path.
import {Worker} from 'node:worker_threads'
import type {AttributeValue, HrTime, SpanStatus} from '@opentelemetry/api'
import {ExportResultCode, type ExportResult} from '@opentelemetry/core'
import type {ReadableSpan, SpanExporter, TimedEvent} from '@opentelemetry/sdk-trace'

export interface ExportWorkerData {
  readonly url: string
  readonly timeoutMillis: number
  readonly resource: Readonly<Record<string, AttributeValue>>
}

/** A finished span as it crosses to the worker (structured clone: no functions, no class instances). */
export interface PlainSpan {
  readonly name: string
  readonly kind: number
  readonly traceId: string
  readonly spanId: string
  readonly traceFlags: number
  readonly parentSpanId?: string
  readonly parentIsRemote?: boolean
  readonly startTime: HrTime
  readonly endTime: HrTime
  readonly status: SpanStatus
  readonly attributes: Readonly<Record<string, unknown>>
  readonly events: TimedEvent[]
  readonly droppedAttributesCount: number
  readonly scope: string
  readonly scopeVersion?: string
}

export type ExportWorkerRequest = {readonly type: 'export'; readonly id: number; readonly spans: readonly PlainSpan[]} | {readonly type: 'shutdown'}
export type ExportWorkerReply = {readonly type: 'result'; readonly id: number; readonly ok: boolean; readonly error?: string} | {readonly type: 'shutdown'}

const plain = (span: ReadableSpan): PlainSpan => {
  const context = span.spanContext()
  const parent = span.parentSpanContext
  return {
    name: span.name,
    kind: span.kind,
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.traceFlags,
    ...(parent ? {parentSpanId: parent.spanId, parentIsRemote: parent.isRemote === true} : {}),
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: span.attributes,
    events: span.events,
    droppedAttributesCount: span.droppedAttributesCount,
    scope: span.instrumentationScope.name,
    ...(span.instrumentationScope.version === undefined ? {} : {scopeVersion: span.instrumentationScope.version}),
  }
}

const SHUTDOWN_WAIT_MS = 3000

export class WorkerSpanExporter implements SpanExporter {
  private readonly worker: Worker
  private nextId = 1
  private readonly pending = new Map<number, (result: ExportResult) => void>()
  private stopped: (() => void) | undefined
  private failure: Error | undefined

  constructor(data: ExportWorkerData) {
    this.worker = new Worker(new URL('./export-worker.js', import.meta.url), {workerData: data})
    // The daemon's stop decides when tracing ends (shutdown); the thread alone keeps nothing alive.
    this.worker.unref()
    this.worker.on('message', (message: ExportWorkerReply) => {
      if (message.type === 'shutdown') {
        this.stopped?.()
        return
      }
      const done = this.pending.get(message.id)
      this.pending.delete(message.id)
      done?.(message.ok ? {code: ExportResultCode.SUCCESS} : {code: ExportResultCode.FAILED, error: new Error(message.error ?? 'export failed')})
    })
    // A thread that dies fails what it held and every export after: the sink's warning and `failing` state say so.
    const fail = (error: Error): void => {
      this.failure = error
      for (const done of this.pending.values()) done({code: ExportResultCode.FAILED, error})
      this.pending.clear()
      this.stopped?.()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`the OTLP export thread exited (code ${code})`)))
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    if (this.failure) {
      resultCallback({code: ExportResultCode.FAILED, error: this.failure})
      return
    }
    const id = this.nextId++
    this.pending.set(id, resultCallback)
    const request: ExportWorkerRequest = {type: 'export', id, spans: spans.map(plain)}
    this.worker.postMessage(request)
  }

  async shutdown(): Promise<void> {
    if (!this.failure) {
      const stopped = new Promise<void>((resolve) => (this.stopped = resolve))
      const request: ExportWorkerRequest = {type: 'shutdown'}
      this.worker.postMessage(request)
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS).unref())])
    }
    this.worker.removeAllListeners('exit')
    await this.worker.terminate()
    this.failure ??= new Error('the OTLP exporter has been shut down')
  }

  async forceFlush(): Promise<void> {}
}
