// The SDK RPC half of the tracing sink: every RPC is one trace. The root span
// `rpc <method>` (SERVER) has the children `rpc.parse` and `jwt.validate`;
// a call the RPC creates continues its trace (its `call` span is a child of
// the RPC's root, through the context the RPC code hands to the call).
import {ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer} from '@opentelemetry/api'
import type {W3CTraceContextPropagator} from '@opentelemetry/core'
import type {HeaderCarrier} from '../../calls/stage-events.js'
import type {RpcBegin, RpcEnd, RpcStage, RpcStep} from '../../rpc/activity.js'

const setter = {
  set: (carrier: HeaderCarrier, key: string, value: string) => {
    carrier[key] = value
  },
}

/** RPCs whose end never comes (a handler that hangs) are ended after this long, so memory stays bounded. */
const MAX_OPEN_MS = 10 * 60_000

export class RpcSpans {
  private readonly open = new Map<number, {readonly span: Span; readonly startMs: number}>()

  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: W3CTraceContextPropagator,
  ) {}

  readonly handle = (stage: RpcStage): void => {
    // A sink never fails an RPC: whatever goes wrong here stays here.
    try {
      if (stage.kind === 'rpc.begin') this.begin(stage)
      else this.end(stage)
    } catch {
      // Dropped: the RPC itself is unaffected.
    }
  }

  private begin(stage: RpcBegin): void {
    const attributes: Attributes = {
      'tenant.id': stage.tenant_id,
      transport: stage.transport,
      'rpc.method': stage.method,
      ...(stage.method_id === undefined ? {} : {'method.id': String(stage.method_id)}),
    }
    const root = this.tracer.startSpan(`rpc ${stage.method}`, {kind: SpanKind.SERVER, startTime: stage.start_ms, attributes}, ROOT_CONTEXT)
    const context = trace.setSpan(ROOT_CONTEXT, root)
    const child = (name: string, step: RpcStep | undefined): void => {
      if (!step) return
      const span = this.tracer.startSpan(name, {startTime: step.start_ms, attributes}, context)
      if (step.error !== undefined) span.setStatus({code: SpanStatusCode.ERROR, message: step.error})
      span.end(step.end_ms)
    }
    child('rpc.parse', stage.parse)
    child('jwt.validate', stage.jwt)
    this.propagator.inject(context, stage.context, setter)
    this.open.set(stage.rpc_id, {span: root, startMs: stage.start_ms})
    this.expire(stage.start_ms)
  }

  private end(stage: RpcEnd): void {
    const open = this.open.get(stage.rpc_id)
    if (!open) return
    this.open.delete(stage.rpc_id)
    if (stage.call_sid !== undefined) open.span.setAttribute('call.sid', stage.call_sid)
    if (stage.error_code !== undefined) {
      open.span.setAttribute('rpc.error_code', stage.error_code)
      open.span.setStatus({code: SpanStatusCode.ERROR, message: stage.error_message ?? stage.error_code})
    }
    open.span.end(stage.end_ms)
  }

  /** Ends every RPC still open (the daemon is stopping). */
  endAll(atMs: number): void {
    for (const {span} of this.open.values()) span.end(atMs)
    this.open.clear()
  }

  private expire(nowMs: number): void {
    for (const [id, open] of this.open) {
      if (nowMs - open.startMs < MAX_OPEN_MS) break
      open.span.setStatus({code: SpanStatusCode.ERROR, message: 'no answer recorded'})
      open.span.end(nowMs)
      this.open.delete(id)
    }
  }
}
