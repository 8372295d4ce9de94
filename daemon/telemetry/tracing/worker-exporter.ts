// Hands batches of spans to the OTLP export thread (export-worker.ts). On the
// thread that sets calls up, an export is the OTLP protobuf encoding
// (otlp-encoder.ts) and one postMessage that transfers the bytes; the export
// thread sends them with the OpenTelemetry OTLP/HTTP or OTLP/gRPC transport
// (the same bytes either way).
import {Worker} from 'node:worker_threads'
import type {SpanRecordExporter} from './span-batcher.js'
import type {SpanRecord} from './span-record.js'
import {OtlpTraceEncoder, type OtlpOrigin} from './otlp-encoder.js'
import type {TracingProtocol} from '../../../src/config/tracing.js'

export interface ExportWorkerData {
  /** `http/protobuf` (the default): POST to `url`; `grpc`: TraceService/Export at `url`. */
  readonly protocol?: TracingProtocol
  readonly url: string
  readonly timeoutMillis: number
  /** For tests: the first gRPC retry backoff (ms; 1000 otherwise). */
  readonly initialBackoffMs?: number
}

/** `request`: an encoded ExportTraceServiceRequest holding `spans` spans. */
export type ExportWorkerRequest = {readonly type: 'export'; readonly id: number; readonly request: Uint8Array; readonly spans: number} | {readonly type: 'shutdown'}
export type ExportWorkerReply = {readonly type: 'result'; readonly id: number; readonly ok: boolean; readonly error?: string} | {readonly type: 'shutdown'}

/** How long the thread gets to end by itself; the sink has already waited (up to 2 s) for the answers to what it sent. */
const SHUTDOWN_WAIT_MS = 500

export class WorkerSpanExporter implements SpanRecordExporter {
  private readonly worker: Worker
  private readonly encoder: OtlpTraceEncoder
  private nextId = 1
  private readonly pending = new Map<number, (error: Error | undefined) => void>()
  private stopped: (() => void) | undefined
  private failure: Error | undefined

  constructor(data: ExportWorkerData & OtlpOrigin) {
    this.encoder = new OtlpTraceEncoder(data)
    const workerData: ExportWorkerData = {
      protocol: data.protocol ?? 'http/protobuf',
      url: data.url,
      timeoutMillis: data.timeoutMillis,
      ...(data.initialBackoffMs === undefined ? {} : {initialBackoffMs: data.initialBackoffMs}),
    }
    this.worker = new Worker(new URL('./export-worker.js', import.meta.url), {workerData})
    // The daemon's stop decides when tracing ends (shutdown); the thread alone keeps nothing alive.
    this.worker.unref()
    this.worker.on('message', (message: ExportWorkerReply) => {
      if (message.type === 'shutdown') {
        this.stopped?.()
        return
      }
      const done = this.pending.get(message.id)
      this.pending.delete(message.id)
      done?.(message.ok ? undefined : new Error(message.error ?? 'export failed'))
    })
    // A thread that dies fails what it held and every export after: the sink's warning and `failing` state say so.
    const fail = (error: Error): void => {
      this.failure = error
      for (const done of this.pending.values()) done(error)
      this.pending.clear()
      this.stopped?.()
    }
    this.worker.on('error', fail)
    this.worker.on('exit', (code) => fail(new Error(`the OTLP export thread exited (code ${code})`)))
  }

  export(records: readonly SpanRecord[], done: (error: Error | undefined) => void): void {
    if (this.failure) {
      done(this.failure)
      return
    }
    const id = this.nextId++
    this.pending.set(id, done)
    const request: ExportWorkerRequest = {type: 'export', id, request: this.encoder.encode(records), spans: records.length}
    this.worker.postMessage(request, [request.request.buffer as ArrayBuffer])
  }

  /** Ends the thread: with `wait`, it gets SHUTDOWN_WAIT_MS to finish its exports; without, it is ended now. */
  async shutdown(options: {readonly wait: boolean} = {wait: true}): Promise<void> {
    if (!this.failure && options.wait) {
      const stopped = new Promise<void>((resolve) => (this.stopped = resolve))
      const request: ExportWorkerRequest = {type: 'shutdown'}
      this.worker.postMessage(request)
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, SHUTDOWN_WAIT_MS).unref())])
    }
    this.worker.removeAllListeners('exit')
    await this.worker.terminate()
    this.failure ??= new Error('the OTLP exporter has been shut down')
    // What the thread still held when it was ended did not reach the collector.
    for (const done of this.pending.values()) done(this.failure)
    this.pending.clear()
  }
}
