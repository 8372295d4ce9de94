// The tracing sink (DESIGN §7): every SIP call and every SDK RPC is one
// trace, exported as OTLP protobuf to `tracing.endpoint`, over HTTP or gRPC
// (`tracing.protocol`). It
// subscribes to the call registry (the call events and the internal call
// stages of daemon/calls/stage-events.ts) and to the RPC activity; nothing
// calls it from a call. The spans are built in call-spans.ts and rpc-spans.ts.
//
// On the thread that sets calls up a span is a plain record (span-record.ts);
// batches go to a worker thread that builds the OTLP protobuf and sends it
// (README "Tracing cost": the SDK's span objects and the serialisation were
// what tracing cost the call setup rate).
//
// A collector that is down or refuses costs nothing but a warning in the log,
// at most one per WARN_EVERY_MS; `clutchcall status` then says `failing`. A
// stop waits for the last spans only while the collector is answering.
import {hostname} from 'node:os'
import {resourceFromAttributes} from '@opentelemetry/resources'
import type {SpanExporter} from '@opentelemetry/sdk-trace'
import type {Logger} from 'pino'
import type {ChannelAnswer, ChannelHangupComplete} from '../../../src/calls/events.js'
import {tracesUrl, type TracingProtocol} from '../../../src/config/tracing.js'
import {VERSION} from '../../../src/version.js'
import type {CallRegistry} from '../../calls/registry.js'
import type {CallStage} from '../../calls/stage-events.js'
import type {RpcActivity} from '../../rpc/activity.js'
import {CallSpans} from './call-spans.js'
import {ExportedTraces, type TraceExportCounts} from './exported-traces.js'
import {RpcSpans} from './rpc-spans.js'
import {SdkExporterAdapter, SpanBatcher, type SpanRecordExporter} from './span-batcher.js'
import type {SpanRecord} from './span-record.js'
import {WorkerSpanExporter} from './worker-exporter.js'

export const SERVICE_NAME = 'clutchcall-gateway'
/** At most one warning about a failing collector per minute. */
export const WARN_EVERY_MS = 60_000
/** How long a stop waits for a collector that is answering to acknowledge the last spans. */
export const STOP_FLUSH_MS = 2000
/** How long a stop waits for the first export of all (a collector not asked yet): the last spans of a short run. */
export const FIRST_EXPORT_WAIT_MS = 500

export type TracingState = 'exporting' | 'failing' | 'off'

export {tracesUrl}

export interface TracingSinkOptions {
  /**
   * The collector: `endpoint` as status shows it; `url` where spans go (over HTTP default `endpoint` + /v1/traces, over gRPC
   * default `endpoint`); `protocol` http/protobuf (the default) or grpc.
   */
  readonly config: {readonly endpoint: string; readonly url?: string | undefined; readonly protocol?: TracingProtocol | undefined}
  readonly calls: CallRegistry
  readonly log: Logger
  /** The resource's `service.instance.id`: the node name (node.name); the host name when not given. */
  readonly instanceId?: string
  /** For tests: where spans go instead of the OTLP exporter. */
  readonly exporter?: SpanExporter
  /** How often batches are sent (ms). */
  readonly exportEveryMs?: number
  /** Finished spans waiting to be sent, at most (more are dropped, with a warning). */
  readonly maxQueuedSpans?: number
}

const SCOPE = {name: 'clutchcall', version: VERSION}

export class TracingSink {
  private readonly batcher: SpanBatcher
  private readonly callSpans: CallSpans
  private rpc: {readonly spans: RpcSpans; readonly activity: RpcActivity} | undefined
  private readonly log: Logger
  private lastExportFailed = false
  /** Whether any export has been answered (acknowledged or failed) since start. */
  private answeredAny = false
  private readonly url: string
  /** `http/protobuf` or `grpc`, as status shows it. */
  readonly protocol: TracingProtocol
  private lastWarnAt = -Infinity
  private failuresSinceWarn = 0
  private failedSpansSinceWarn = 0
  private lastDropWarnAt = -Infinity
  private droppedAtLastWarn = 0
  private started = false
  private readonly exportedTraces = new ExportedTraces()

  private readonly record = (span: SpanRecord): void => this.batcher.add(span)
  // A sink never fails a call: whatever goes wrong here stays here.
  private readonly onStage = (stage: CallStage): void => this.guarded(() => this.callSpans.handleStage(stage))
  private readonly onAnswer = (event: ChannelAnswer): void => this.guarded(() => this.callSpans.answered(event))
  private readonly onHangup = (event: ChannelHangupComplete): void => this.guarded(() => this.callSpans.ended(event))

  constructor(private readonly options: TracingSinkOptions) {
    this.log = options.log.child({sink: 'tracing'})
    this.protocol = options.config.protocol ?? 'http/protobuf'
    this.url = options.config.url ?? (this.protocol === 'grpc' ? options.config.endpoint : tracesUrl(options.config.endpoint))
    const resource = {'service.name': SERVICE_NAME, 'service.version': VERSION, 'service.instance.id': options.instanceId ?? hostname()}
    const exporter: SpanRecordExporter = options.exporter
      ? new SdkExporterAdapter(options.exporter, {resource: resourceFromAttributes(resource), scope: SCOPE})
      : new WorkerSpanExporter({protocol: this.protocol, url: this.url, timeoutMillis: 5000, resource, scope: SCOPE})
    const batching = {everyMs: options.exportEveryMs ?? 1000, ...(options.maxQueuedSpans === undefined ? {} : {maxQueue: options.maxQueuedSpans})}
    this.batcher = new SpanBatcher(exporter, batching, (records, error) => this.exportResult(records, error))
    this.callSpans = new CallSpans(this.record)
  }

  get endpoint(): string {
    return this.options.config.endpoint
  }

  /** `exporting` (the last export succeeded, or none was due yet), `failing` (the last export failed), `off` after stop. */
  get state(): TracingState {
    if (!this.started) return 'off'
    return this.lastExportFailed ? 'failing' : 'exporting'
  }

  start(): void {
    if (this.started) return
    this.started = true
    const {calls} = this.options
    calls.on('stage', this.onStage)
    calls.on('CHANNEL_ANSWER', this.onAnswer)
    calls.on('CHANNEL_HANGUP_COMPLETE', this.onHangup)
    this.log.info({endpoint: this.url, protocol: this.protocol}, 'tracing on')
  }

  /** Traces the SDK RPCs published on `activity` too (see rpc-spans.ts). */
  attachRpc(activity: RpcActivity): void {
    if (this.rpc) return
    this.rpc = {spans: new RpcSpans(this.record), activity}
    activity.on('rpc', this.rpc.spans.handle)
  }

  /** Unsubscribes, ends what is still open, and sends the last spans (bounded in time). */
  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.rpc) {
      this.rpc.activity.off('rpc', this.rpc.spans.handle)
      this.rpc.spans.endAll(Date.now())
      this.rpc = undefined
    }
    const {calls} = this.options
    calls.off('stage', this.onStage)
    calls.off('CHANNEL_ANSWER', this.onAnswer)
    calls.off('CHANNEL_HANGUP_COMPLETE', this.onHangup)
    this.callSpans.endOpen(Date.now())
    await this.batcher.shutdown(this.stopWaitMs())
  }

  /**
   * How long a stop waits for the last spans, by what the collector has done so far: acknowledged
   * the last export, up to STOP_FLUSH_MS; not asked yet (the first batch is still queued), up to
   * FIRST_EXPORT_WAIT_MS; asked and never answered, or failed the last export, not at all.
   */
  private stopWaitMs(): number {
    if (this.answeredAny && !this.lastExportFailed) return STOP_FLUSH_MS
    if (!this.answeredAny && this.batcher.batchesSent === 0) return FIRST_EXPORT_WAIT_MS
    const why = this.answeredAny ? 'its last export failed' : 'it has not answered any export'
    this.log.info({endpoint: this.url}, `tracing stops without waiting for the collector: ${why}`)
    return 0
  }

  /** How many spans of a trace (32 lowercase hex) the collector acknowledged, and how many were in failed exports (the last few thousand traces). */
  traceExport(traceId: string): TraceExportCounts {
    return this.exportedTraces.get(traceId)
  }

  private guarded(handle: () => void): void {
    try {
      handle()
    } catch (error) {
      this.log.debug({err: error}, 'tracing stage dropped')
    }
  }

  private exportResult(records: readonly SpanRecord[], error: Error | undefined): void {
    this.exportedTraces.record(
      records.map((record) => record.traceId),
      error === undefined,
    )
    this.warnIfDropped()
    this.answeredAny = true
    if (error === undefined) {
      if (this.lastExportFailed) this.log.info({endpoint: this.options.config.endpoint}, 'traces are exported again')
      this.lastExportFailed = false
      return
    }
    this.lastExportFailed = true
    this.failuresSinceWarn++
    this.failedSpansSinceWarn += records.length
    const now = Date.now()
    if (now - this.lastWarnAt < WARN_EVERY_MS) return
    this.lastWarnAt = now
    this.log.warn(
      {endpoint: this.url, protocol: this.protocol, failed_exports: this.failuresSinceWarn, failed_spans: this.failedSpansSinceWarn, err: error.message},
      'traces cannot be exported (calls are not affected; next warning in a minute at the earliest)',
    )
    this.failuresSinceWarn = 0
    this.failedSpansSinceWarn = 0
  }

  /** Spans the full export queue turned away since the last warning: one warning a minute at most. */
  private warnIfDropped(): void {
    const dropped = this.batcher.dropped
    const now = Date.now()
    if (dropped === this.droppedAtLastWarn || now - this.lastDropWarnAt < WARN_EVERY_MS) return
    this.log.warn({endpoint: this.url, dropped_spans: dropped - this.droppedAtLastWarn}, 'spans dropped: the export queue is full (the collector is slow or down; calls are not affected)')
    this.lastDropWarnAt = now
    this.droppedAtLastWarn = dropped
  }
}
