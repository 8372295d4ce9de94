// The SDK RPC half of the tracing sink: every RPC is one trace. The root span
// `rpc <method>` (SERVER) has the children `rpc.parse` and `jwt.validate`;
// a call the RPC creates continues its trace (its `call` span is a child of
// the RPC's root, through the context the RPC code hands to the call).
import type {RpcBegin, RpcEnd, RpcStage, RpcStep} from '../../rpc/activity.js'
import {RecordedSpan, SpanKind, type SpanAttributes} from './span-record.js'
import {injectContext} from './trace-context.js'

/** RPCs whose end never comes (a handler that hangs) are ended after this long, so memory stays bounded. */
const MAX_OPEN_MS = 10 * 60_000

export class RpcSpans {
  private readonly open = new Map<number, RecordedSpan>()

  /** `record` gets each finished span. */
  constructor(private readonly record: (span: RecordedSpan) => void) {}

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
    const attributes: SpanAttributes = {'tenant.id': stage.tenant_id, transport: stage.transport, 'rpc.method': stage.method}
    if (stage.method_id !== undefined) attributes['method.id'] = String(stage.method_id)
    const root = new RecordedSpan(`rpc ${stage.method}`, SpanKind.SERVER, undefined, false, stage.start_ms, attributes, {})
    const child = (name: string, step: RpcStep | undefined): void => {
      if (!step) return
      const span = new RecordedSpan(name, SpanKind.INTERNAL, root, false, step.start_ms, attributes, {})
      span.error = step.error
      this.record(span.end(step.end_ms))
    }
    child('rpc.parse', stage.parse)
    child('jwt.validate', stage.jwt)
    injectContext(root, stage.context)
    this.open.set(stage.rpc_id, root)
    this.expire(stage.start_ms)
  }

  private end(stage: RpcEnd): void {
    const root = this.open.get(stage.rpc_id)
    if (!root) return
    this.open.delete(stage.rpc_id)
    if (stage.call_sid !== undefined) root.attributes['call.sid'] = stage.call_sid
    if (stage.error_code !== undefined) {
      root.attributes['rpc.error_code'] = stage.error_code
      root.error = stage.error_message ?? stage.error_code
    }
    this.record(root.end(stage.end_ms))
  }

  /** Ends every RPC still open (the daemon is stopping). */
  endAll(atMs: number): void {
    for (const root of this.open.values()) this.record(root.end(atMs))
    this.open.clear()
  }

  private expire(nowMs: number): void {
    for (const [id, root] of this.open) {
      if (nowMs - root.startMs < MAX_OPEN_MS) break
      root.error = 'no answer recorded'
      this.record(root.end(nowMs))
      this.open.delete(id)
    }
  }
}
