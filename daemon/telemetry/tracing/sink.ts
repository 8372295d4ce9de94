// The tracing sink (DESIGN §7): every SIP call is one trace, exported over
// OTLP/HTTP (protobuf) to `tracing.endpoint`. It subscribes to the call
// registry (the call events and the internal call stages of
// daemon/calls/stage-events.ts); nothing calls it from a call.
//
// A call's trace: a root span `call` (SERVER; it continues the trace of a
// `traceparent` on the inbound INVITE), and children `trunk.lookup`,
// `sip.setup` (the A-leg: INVITE received to final response), `rtp.setup`, one
// `dialplan.node.<type>` per node executed, and under a bridge node the B-leg's
// `sip.setup` (CLIENT), whose context goes out as `traceparent` on the B-leg INVITE.
//
// A collector that is down or refuses costs nothing but a warning in the log,
// at most one per WARN_EVERY_MS; `clutchcall status` then says `failing`.
import {hostname} from 'node:os'
import {ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer} from '@opentelemetry/api'
import {ExportResultCode, W3CTraceContextPropagator, type ExportResult} from '@opentelemetry/core'
import {resourceFromAttributes} from '@opentelemetry/resources'
import {BatchSpanProcessor, TracerProvider, type IdGenerator, type ReadableSpan, type SpanExporter} from '@opentelemetry/sdk-trace'
import type {Logger} from 'pino'
import type {ChannelAnswer, ChannelHangupComplete} from '../../../src/calls/events.js'
import type {Config} from '../../../src/config/schema.js'
import {VERSION} from '../../../src/version.js'
import type {CallRegistry} from '../../calls/registry.js'
import type {RpcActivity} from '../../rpc/activity.js'
import {RpcSpans} from './rpc-spans.js'
import {WorkerSpanExporter} from './worker-exporter.js'
import type {CallBegin, CallStage, HeaderCarrier, LegDialed, LegDialing, NodeEntered, NodeLeft, CallStageDone} from '../../calls/stage-events.js'
import {ExportedTraces, type TraceExportCounts} from './exported-traces.js'

export const SERVICE_NAME = 'clutchcall-gateway'
/** At most one warning about a failing collector per minute. */
export const WARN_EVERY_MS = 60_000
/** How long a stop waits for the last spans to leave. */
const STOP_FLUSH_MS = 2000

export type TracingState = 'exporting' | 'failing' | 'off'

export interface TracingSinkOptions {
  readonly config: Config['tracing']
  readonly calls: CallRegistry
  readonly log: Logger
  /** For tests: where spans go instead of the OTLP exporter. */
  readonly exporter?: SpanExporter
  /** How often the batch processor sends (ms). */
  readonly exportEveryMs?: number
}

/** The OTLP/HTTP traces URL of a base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` convention: `/v1/traces` appended). */
export const tracesUrl = (endpoint: string): string => `${endpoint.replace(/\/+$/, '')}/v1/traces`

interface CallSpans {
  readonly root: Span
  readonly rootContext: Context
  readonly tenantId: string
  readonly callSid: string
  readonly transport: string
  sipSetup: Span | undefined
  /** The running dialplan node, with the context of its span (built once, for the spans under it). */
  node: {readonly id: string; readonly span: Span; readonly context: Context} | undefined
  readonly bLegs: Map<string, Span>
}

// Span IDs as the SDK's RandomIdGenerator makes them (Math.random, lowercase hex, never all zero), without a Buffer write and hex slice per ID.
const HEX = Array.from({length: 256}, (_, byte) => byte.toString(16).padStart(2, '0'))
const randomHex = (bytes: number): string => {
  let id = ''
  let zero = true
  for (let index = 0; index < bytes; index += 4) {
    const word = (Math.random() * 2 ** 32) >>> 0
    if (word !== 0) zero = false
    id += HEX[word >>> 24]! + HEX[(word >>> 16) & 0xff]! + HEX[(word >>> 8) & 0xff]! + HEX[word & 0xff]!
  }
  return zero ? `${id.slice(0, -2)}01` : id
}
const idGenerator: IdGenerator = {generateTraceId: () => randomHex(16), generateSpanId: () => randomHex(8)}

const getter = {
  keys: (carrier: HeaderCarrier) => Object.keys(carrier),
  get: (carrier: HeaderCarrier, key: string) => carrier[key.toLowerCase()],
}
const setter = {
  set: (carrier: HeaderCarrier, key: string, value: string) => {
    carrier[key] = value
  },
}

/** Watches every export: success or failure decides the state and the (rate-limited) warning, and is remembered per trace. */
class WatchedExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly onResult: (result: ExportResult, spans: readonly ReadableSpan[]) => void,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    try {
      this.inner.export(spans, (result) => {
        this.onResult(result, spans)
        resultCallback(result)
      })
    } catch (error) {
      const result = {code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error))}
      this.onResult(result, spans)
      resultCallback(result)
    }
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown()
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve()
  }
}

export class TracingSink {
  private readonly provider: TracerProvider
  private readonly tracer: Tracer
  private readonly propagator = new W3CTraceContextPropagator()
  private rpc: {readonly spans: RpcSpans; readonly activity: RpcActivity} | undefined
  private readonly open = new Map<string, CallSpans>()
  private readonly log: Logger
  private lastExportFailed = false
  private lastWarnAt = -Infinity
  private failuresSinceWarn = 0
  private exported = 0
  private failed = 0
  private started = false
  private readonly exportedTraces = new ExportedTraces()

  private readonly onStage = (stage: CallStage): void => this.handleStage(stage)
  private readonly onAnswer = (event: ChannelAnswer): void => this.answered(event)
  private readonly onHangup = (event: ChannelHangupComplete): void => this.ended(event)

  constructor(private readonly options: TracingSinkOptions) {
    this.log = options.log.child({sink: 'tracing'})
    const resource = {'service.name': SERVICE_NAME, 'service.version': VERSION, 'service.instance.id': `${hostname()}:${process.pid}`}
    const inner = options.exporter ?? new WorkerSpanExporter({url: tracesUrl(options.config.endpoint), timeoutMillis: 5000, resource})
    const exporter = new WatchedExporter(inner, (result, spans) => this.exportResult(result, spans))
    this.provider = new TracerProvider({
      resource: resourceFromAttributes(resource),
      idGenerator,
      spanProcessors: [new BatchSpanProcessor({exporter, scheduledDelayMillis: options.exportEveryMs ?? 1000, maxQueueSize: 8192, maxExportBatchSize: 512, exportTimeoutMillis: 10_000})],
    })
    this.tracer = this.provider.getTracer('clutchcall')
  }

  get endpoint(): string {
    return this.options.config.endpoint
  }

  /** `exporting` (the last export succeeded, or none was due yet), `failing` (the last export failed), `off` after stop. */
  get state(): TracingState {
    if (!this.started) return 'off'
    return this.lastExportFailed ? 'failing' : 'exporting'
  }

  get counts(): {readonly batchesExported: number; readonly batchesFailed: number; readonly openCalls: number} {
    return {batchesExported: this.exported, batchesFailed: this.failed, openCalls: this.open.size}
  }

  start(): void {
    if (this.started) return
    this.started = true
    const {calls} = this.options
    calls.on('stage', this.onStage)
    calls.on('CHANNEL_ANSWER', this.onAnswer)
    calls.on('CHANNEL_HANGUP_COMPLETE', this.onHangup)
    this.log.info({endpoint: tracesUrl(this.options.config.endpoint)}, 'tracing on')
  }

  /** Unsubscribes, ends what is still open, and sends the last spans (bounded in time). */
  /** Traces the SDK RPCs published on `activity` too (see rpc-spans.ts). */
  attachRpc(activity: RpcActivity): void {
    if (this.rpc) return
    this.rpc = {spans: new RpcSpans(this.tracer, this.propagator), activity}
    activity.on('rpc', this.rpc.spans.handle)
  }

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
    for (const spans of this.open.values()) this.endAll(spans, Date.now(), 'daemon stopped')
    this.open.clear()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_FLUSH_MS)
      timer.unref()
    })
    await Promise.race([this.provider.shutdown().catch(() => undefined), timeout])
    clearTimeout(timer)
  }

  /** How many spans of a trace (32 lowercase hex) the collector acknowledged, and how many were in failed exports (the last few thousand traces). */
  traceExport(traceId: string): TraceExportCounts {
    return this.exportedTraces.get(traceId)
  }

  private exportResult(result: ExportResult, spans: readonly ReadableSpan[]): void {
    this.exportedTraces.record(
      spans.map((span) => span.spanContext().traceId),
      result.code === ExportResultCode.SUCCESS,
    )
    if (result.code === ExportResultCode.SUCCESS) {
      this.exported++
      if (this.lastExportFailed) this.log.info({endpoint: this.options.config.endpoint}, 'traces are exported again')
      this.lastExportFailed = false
      return
    }
    this.failed++
    this.lastExportFailed = true
    this.failuresSinceWarn++
    const now = Date.now()
    if (now - this.lastWarnAt < WARN_EVERY_MS) return
    this.lastWarnAt = now
    this.log.warn({endpoint: tracesUrl(this.options.config.endpoint), failed_exports: this.failuresSinceWarn, err: result.error?.message}, 'traces cannot be exported (calls are not affected; next warning in a minute at the earliest)')
    this.failuresSinceWarn = 0
  }

  private handleStage(stage: CallStage): void {
    // A sink never fails a call: whatever goes wrong here stays here.
    try {
      switch (stage.kind) {
        case 'call.begin':
          this.begin(stage)
          break
        case 'stage':
          this.stageDone(stage)
          break
        case 'node.entered':
          this.nodeEntered(stage)
          break
        case 'node.left':
          this.nodeLeft(stage)
          break
        case 'leg.dialing':
          this.legDialing(stage)
          break
        case 'leg.dialed':
          this.legDialed(stage)
          break
      }
    } catch (error) {
      this.log.debug({err: error}, 'tracing stage dropped')
    }
  }

  private begin(stage: CallBegin): void {
    const parent = this.propagator.extract(ROOT_CONTEXT, stage.incoming, getter)
    const root = this.tracer.startSpan(
      'call',
      {
        kind: SpanKind.SERVER,
        startTime: stage.start_ms,
        attributes: {'tenant.id': stage.tenant_id, 'call.sid': stage.call_sid, transport: stage.transport, 'trunk.id': stage.trunk_id, 'call.direction': stage.direction, 'sip.call_id': stage.sip_call_id},
      },
      parent,
    )
    const rootContext = trace.setSpan(ROOT_CONTEXT, root)
    this.propagator.inject(rootContext, stage.context, setter)
    // A WebRTC A-leg has no INVITE: its setup is the offer/answer, traced by the RPC that created the call.
    const sipSetup =
      stage.transport === 'sip'
        ? this.tracer.startSpan(
            'sip.setup',
            {kind: SpanKind.SERVER, startTime: stage.start_ms, attributes: {'tenant.id': stage.tenant_id, 'call.sid': stage.call_sid, transport: stage.transport, 'sip.leg': 'a', 'sip.call_id': stage.sip_call_id}},
            rootContext,
          )
        : undefined
    this.open.set(stage.call_sid, {root, rootContext, tenantId: stage.tenant_id, callSid: stage.call_sid, transport: stage.transport, sipSetup, node: undefined, bLegs: new Map()})
  }

  private stageDone(stage: CallStageDone): void {
    const spans = this.open.get(stage.call_sid)
    if (!spans) return
    // A stage done while a node runs (a B-leg's RTP setup, under its bridge node) is that node's child, else the call's.
    const attributes: Attributes = {'tenant.id': spans.tenantId, 'call.sid': spans.callSid, transport: spans.transport}
    for (const key in stage.attributes) attributes[key] = stage.attributes[key]
    const span = this.tracer.startSpan(stage.stage, {startTime: stage.start_ms, attributes}, spans.node?.context ?? spans.rootContext)
    if (stage.error !== undefined) span.setStatus({code: SpanStatusCode.ERROR, message: stage.error})
    span.end(stage.end_ms)
  }

  private nodeEntered(stage: NodeEntered): void {
    const spans = this.open.get(stage.call_sid)
    if (!spans) return
    spans.node?.span.end(stage.at_ms)
    const span = this.tracer.startSpan(
      `dialplan.node.${stage.node_type}`,
      {startTime: stage.at_ms, attributes: {'tenant.id': spans.tenantId, 'call.sid': spans.callSid, transport: spans.transport, 'dialplan.node.id': stage.node_id, 'dialplan.node.type': stage.node_type}},
      spans.rootContext,
    )
    spans.node = {id: stage.node_id, span, context: trace.setSpan(spans.rootContext, span)}
  }

  private nodeLeft(stage: NodeLeft): void {
    const spans = this.open.get(stage.call_sid)
    if (!spans || spans.node?.id !== stage.node_id) return
    spans.node.span.setAttribute('dialplan.node.outcome', stage.outcome)
    spans.node.span.end(stage.at_ms)
    spans.node = undefined
  }

  private legDialing(stage: LegDialing): void {
    const spans = this.open.get(stage.call_sid)
    if (!spans) return
    const attributes: Attributes = {'tenant.id': spans.tenantId, 'call.sid': spans.callSid, transport: spans.transport, 'sip.leg': 'b', 'sip.call_id': stage.leg_call_id, 'sip.request_uri': stage.request_uri}
    if (stage.trunk_id !== undefined) attributes['trunk.id'] = stage.trunk_id
    const span = this.tracer.startSpan('sip.setup', {kind: SpanKind.CLIENT, startTime: stage.at_ms, attributes}, spans.node?.context ?? spans.rootContext)
    spans.bLegs.set(stage.leg_call_id, span)
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), stage.headers, setter)
  }

  private legDialed(stage: LegDialed): void {
    const span = this.open.get(stage.call_sid)?.bLegs.get(stage.leg_call_id)
    if (!span) return
    this.open.get(stage.call_sid)?.bLegs.delete(stage.leg_call_id)
    span.setAttributes({'sip.status_code': stage.status, 'sip.outcome': stage.outcome})
    if (stage.outcome === 'failed') span.setStatus({code: SpanStatusCode.ERROR, message: `final response ${stage.status}`})
    span.end(stage.at_ms)
  }

  private answered(event: ChannelAnswer): void {
    const spans = this.open.get(event.call_sid)
    if (!spans?.sipSetup) return
    spans.sipSetup.setAttributes({'sip.status_code': 200, 'rtp.codec': event.codec})
    spans.sipSetup.end(event.timestamp_ms)
    spans.sipSetup = undefined
  }

  private ended(event: ChannelHangupComplete): void {
    const spans = this.open.get(event.call_sid)
    if (!spans) return
    this.open.delete(event.call_sid)
    try {
      spans.root.setAttributes({
        'call.status': event.status,
        'call.q850_cause': event.q850_cause,
        'call.codec': event.codec,
        'call.duration_seconds': event.duration_seconds,
        'call.estimated_mos': event.estimated_mos,
      })
      if (event.status === 'failed') spans.root.setStatus({code: SpanStatusCode.ERROR, message: `call failed, Q.850 cause ${event.q850_cause}`})
      this.endAll(spans, event.end_timestamp_ms, event.status)
    } catch (error) {
      this.log.debug({err: error}, 'tracing end dropped')
    }
  }

  private endAll(spans: CallSpans, atMs: number, outcome: string): void {
    if (spans.sipSetup) {
      spans.sipSetup.setAttribute('sip.outcome', outcome)
      spans.sipSetup.end(atMs)
      spans.sipSetup = undefined
    }
    if (spans.node) {
      spans.node.span.setAttribute('dialplan.node.outcome', 'hangup')
      spans.node.span.end(atMs)
      spans.node = undefined
    }
    for (const span of spans.bLegs.values()) span.end(atMs)
    spans.bLegs.clear()
    spans.root.end(atMs)
  }
}
