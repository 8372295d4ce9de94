// The SIP-call half of the tracing sink: every call is one trace, recorded
// from the call registry's stages and events (nothing calls it from a call).
//
// A call's trace: a root span `call` (SERVER; it continues the trace of a
// `traceparent` on the inbound INVITE), and children `trunk.lookup`,
// `sip.setup` (the A-leg: INVITE received to final response), `rtp.setup`, one
// `dialplan.node.<type>` per node executed, and under a bridge node the B-leg's
// `sip.setup` (CLIENT), whose context goes out as `traceparent` on the B-leg INVITE.
import type {ChannelAnswer, ChannelHangupComplete} from '../../../src/calls/events.js'
import type {CallBegin, CallStage, CallStageDone, LegDialed, LegDialing, NodeEntered, NodeLeft, SipFinal} from '../../calls/stage-events.js'
import {RecordedSpan, SpanKind, type SpanAttributes} from './span-record.js'
import {extractContext, injectContext, type TraceContext} from './trace-context.js'

interface OpenCall {
  readonly root: RecordedSpan
  /** tenant.id, call.sid and transport: on every span of the call. */
  readonly common: SpanAttributes
  sipSetup: RecordedSpan | undefined
  /** The running dialplan node; stages done while it runs are its children. */
  node: {readonly id: string; readonly span: RecordedSpan} | undefined
  /** B-legs still waiting for their final response, by B-leg Call-ID, with the span they hang under. */
  readonly bLegs: Map<string, {readonly span: RecordedSpan; readonly parent: RecordedSpan}>
  /** The A-leg's final error status (sip.final), kept for a setup span that ends with the call. */
  finalStatus: number | undefined
}

/**
 * How long a call that has ended waits for its B-legs' final responses (the
 * caller hung up while the B-leg rang: its 487 comes after the call's end),
 * at most: 64·T1, the INVITE transaction's own limit.
 */
const B_LEG_GRACE_MS = 32_000

export class CallSpans {
  private readonly open = new Map<string, OpenCall>()
  /** Ended calls whose B-legs have not had their final response yet, with the timer that gives up on them. */
  private readonly closing = new Map<string, {readonly call: OpenCall; readonly timer: NodeJS.Timeout}>()

  /** `record` gets each finished span of a sampled trace. */
  constructor(private readonly record: (span: RecordedSpan) => void) {}

  get openCalls(): number {
    return this.open.size
  }

  handleStage(stage: CallStage): void {
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
      case 'sip.final':
        this.sipFinal(stage)
        break
    }
  }

  answered(event: ChannelAnswer): void {
    const call = this.open.get(event.call_sid)
    if (!call?.sipSetup) return
    call.sipSetup.attributes['sip.status_code'] = 200
    call.sipSetup.attributes['rtp.codec'] = event.codec
    this.finish(call.sipSetup.end(event.timestamp_ms))
    call.sipSetup = undefined
  }

  ended(event: ChannelHangupComplete): void {
    const call = this.open.get(event.call_sid)
    if (!call) return
    this.open.delete(event.call_sid)
    const attributes = call.root.attributes
    attributes['call.status'] = event.status
    attributes['call.q850_cause'] = event.q850_cause
    attributes['call.codec'] = event.codec
    attributes['call.duration_seconds'] = event.duration_seconds
    attributes['call.estimated_mos'] = event.estimated_mos
    if (event.status === 'failed') call.root.error = `call failed, Q.850 cause ${event.q850_cause}`
    this.endAll(call, event.end_timestamp_ms, event.status)
  }

  /** Ends every call still open (the daemon is stopping). */
  endOpen(atMs: number): void {
    for (const call of this.open.values()) this.endAll(call, atMs, 'daemon stopped')
    this.open.clear()
    for (const {call, timer} of this.closing.values()) {
      clearTimeout(timer)
      this.endBLegs(call, atMs)
    }
    this.closing.clear()
  }

  private begin(stage: CallBegin): void {
    const remote = extractContext(stage.incoming)
    const common: SpanAttributes = {'tenant.id': stage.tenant_id, 'call.sid': stage.call_sid, transport: stage.transport}
    const root = new RecordedSpan('call', SpanKind.SERVER, remote, remote !== undefined, stage.start_ms, common, {
      'trunk.id': stage.trunk_id,
      'call.direction': stage.direction,
      'sip.call_id': stage.sip_call_id,
    })
    injectContext(root, stage.context)
    // A WebRTC A-leg has no INVITE: its setup is the offer/answer, traced by the RPC that created the call.
    const sipSetup = stage.transport === 'sip' ? this.child(root, 'sip.setup', SpanKind.SERVER, stage.start_ms, common, {'sip.leg': 'a', 'sip.call_id': stage.sip_call_id}) : undefined
    this.open.set(stage.call_sid, {root, common, sipSetup, node: undefined, bLegs: new Map(), finalStatus: undefined})
  }

  private stageDone(stage: CallStageDone): void {
    const call = this.open.get(stage.call_sid) ?? this.closing.get(stage.call_sid)?.call
    if (!call) return
    // A B-leg's RTP setup hangs where its SIP setup does (the bridge node), even once the call has ended;
    // any other stage done while a node runs is that node's child, else the call's.
    // The call's stage attributes are never changed after they are published: used as they are.
    const legCallId = stage.attributes['sip.call_id']
    const bLeg = typeof legCallId === 'string' ? call.bLegs.get(legCallId) : undefined
    const span = this.child(bLeg?.parent ?? call.node?.span ?? call.root, stage.stage, SpanKind.INTERNAL, stage.start_ms, call.common, stage.attributes as SpanAttributes)
    span.error = stage.error
    this.finish(span.end(stage.end_ms))
  }

  private nodeEntered(stage: NodeEntered): void {
    const call = this.open.get(stage.call_sid)
    if (!call) return
    if (call.node) this.finish(call.node.span.end(stage.at_ms))
    const attributes = {'dialplan.node.id': stage.node_id, 'dialplan.node.type': stage.node_type}
    call.node = {id: stage.node_id, span: this.child(call.root, `dialplan.node.${stage.node_type}`, SpanKind.INTERNAL, stage.at_ms, call.common, attributes)}
  }

  private nodeLeft(stage: NodeLeft): void {
    const call = this.open.get(stage.call_sid)
    if (!call || call.node?.id !== stage.node_id) return
    call.node.span.attributes['dialplan.node.outcome'] = stage.outcome
    this.finish(call.node.span.end(stage.at_ms))
    call.node = undefined
  }

  private legDialing(stage: LegDialing): void {
    const call = this.open.get(stage.call_sid)
    if (!call) return
    const attributes: SpanAttributes = {'sip.leg': 'b', 'sip.call_id': stage.leg_call_id, 'sip.request_uri': stage.request_uri}
    if (stage.trunk_id !== undefined) attributes['trunk.id'] = stage.trunk_id
    const parent = call.node?.span ?? call.root
    const span = this.child(parent, 'sip.setup', SpanKind.CLIENT, stage.at_ms, call.common, attributes)
    call.bLegs.set(stage.leg_call_id, {span, parent})
    injectContext(span, stage.headers)
  }

  private legDialed(stage: LegDialed): void {
    const closing = this.closing.get(stage.call_sid)
    const call = this.open.get(stage.call_sid) ?? closing?.call
    const span = call?.bLegs.get(stage.leg_call_id)?.span
    if (!call || !span) return
    call.bLegs.delete(stage.leg_call_id)
    span.attributes['sip.status_code'] = stage.status
    span.attributes['sip.outcome'] = stage.outcome
    if (stage.outcome === 'failed') span.error = stage.error ?? `final response ${stage.status}`
    this.finish(span.end(stage.at_ms))
    if (closing && call.bLegs.size === 0) {
      clearTimeout(closing.timer)
      this.closing.delete(stage.call_sid)
    }
  }

  private sipFinal(stage: SipFinal): void {
    const call = this.open.get(stage.call_sid)
    if (!call) return
    call.finalStatus = stage.status
    if (call.sipSetup) call.sipSetup.attributes['sip.status_code'] = stage.status
  }

  private child(parent: TraceContext, name: string, kind: SpanKind, startMs: number, common: SpanAttributes, attributes: SpanAttributes): RecordedSpan {
    return new RecordedSpan(name, kind, parent, false, startMs, common, attributes)
  }

  private finish(span: RecordedSpan): void {
    if (span.sampled) this.record(span)
  }

  private endAll(call: OpenCall, atMs: number, outcome: string): void {
    if (call.sipSetup) {
      call.sipSetup.attributes['sip.outcome'] = outcome
      // A refused or failed setup is the failed step of the trace; busy, no answer and a cancel are outcomes, not errors.
      if (outcome === 'failed') call.sipSetup.error = call.finalStatus === undefined ? 'call failed before answer' : `final response ${call.finalStatus}`
      this.finish(call.sipSetup.end(atMs))
      call.sipSetup = undefined
    }
    if (call.node) {
      call.node.span.attributes['dialplan.node.outcome'] = 'hangup'
      this.finish(call.node.span.end(atMs))
      call.node = undefined
    }
    this.finish(call.root.end(atMs))
    if (call.bLegs.size === 0 || outcome === 'daemon stopped') {
      this.endBLegs(call, atMs)
      return
    }
    // B-legs still ringing get their final response after the call's end (a CANCEL's 487): their spans wait for it.
    const sid = call.common['call.sid'] as string
    const timer = setTimeout(() => {
      this.closing.delete(sid)
      this.endBLegs(call, Date.now())
    }, B_LEG_GRACE_MS)
    timer.unref()
    this.closing.set(sid, {call, timer})
  }

  private endBLegs(call: OpenCall, atMs: number): void {
    for (const {span} of call.bLegs.values()) this.finish(span.end(atMs))
    call.bLegs.clear()
  }
}
