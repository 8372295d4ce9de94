// Internal call stages: what a call went through on its way up (trunk lookup,
// SIP setup, RTP setup, each dialplan node). Call code publishes them on the
// call registry; sinks that want them (tracing) subscribe to `stage`. They are
// not call events: `calls tail` and the admin stream never see them.
import type {CallDirection} from '../../src/cdr/record.js'

/** How the call's A-leg reached the gateway (the span attribute `transport`). */
export type CallTransport = 'sip' | 'webrtc' | 'quic' | 'webtransport'

/** Header name → value, filled in by subscribers that propagate context (W3C `traceparent`, `tracestate`). */
export type HeaderCarrier = Record<string, string>

/** A call begins (published just before its CHANNEL_CREATE). */
export interface CallBegin {
  readonly kind: 'call.begin'
  readonly call_sid: string
  readonly tenant_id: string
  readonly trunk_id: string
  readonly direction: CallDirection
  readonly transport: CallTransport
  readonly sip_call_id: string
  /** When the call's first message arrived (inbound INVITE), epoch ms. */
  readonly start_ms: number
  /** Context propagation headers taken from the INVITE (`traceparent`, `tracestate`) when it carried them. */
  readonly incoming: HeaderCarrier
  /** Filled in (synchronously) by a subscriber that traces the call: the call's own `traceparent`, for its logger's `trace_id`. */
  readonly context: HeaderCarrier
}

/**
 * The call is about to be answered: published just before an inbound 200 OK
 * leaves (an SDK call: once its far end has answered), so that a subscriber can
 * record the answer first (the CDR journal: carriers bill from the 200 OK, and
 * CHANNEL_ANSWER comes only with the ACK).
 */
export interface CallAnswering {
  readonly kind: 'call.answering'
  readonly call_sid: string
  readonly codec: string
  readonly at_ms: number
}

/** A finished stage with its own interval: trunk lookup, RTP setup. */
export interface CallStageDone {
  readonly kind: 'stage'
  readonly call_sid: string
  readonly stage: 'trunk.lookup' | 'rtp.setup'
  readonly start_ms: number
  readonly end_ms: number
  readonly attributes: Readonly<Record<string, string | number | boolean>>
  /** Why the stage failed, when it did. */
  readonly error?: string
}

export interface NodeEntered {
  readonly kind: 'node.entered'
  readonly call_sid: string
  readonly node_id: string
  readonly node_type: string
  readonly at_ms: number
}

export interface NodeLeft {
  readonly kind: 'node.left'
  readonly call_sid: string
  readonly node_id: string
  readonly outcome: string
  readonly at_ms: number
}

/**
 * An outbound leg's INVITE is about to leave. Subscribers may add headers to
 * `headers` (synchronously): they go on the INVITE.
 */
export interface LegDialing {
  readonly kind: 'leg.dialing'
  readonly call_sid: string
  readonly leg_call_id: string
  readonly request_uri: string
  readonly trunk_id: string | undefined
  readonly at_ms: number
  readonly headers: HeaderCarrier
}

/** The outbound leg's INVITE got its final response (or none: status 0). */
export interface LegDialed {
  readonly kind: 'leg.dialed'
  readonly call_sid: string
  readonly leg_call_id: string
  readonly status: number
  readonly outcome: string
  readonly at_ms: number
  /** Why it never reached a callee (a DNS lookup that failed, a transport error), when that is the reason. */
  readonly error?: string
}

/** The A-leg's INVITE got a final error response from us (a refusal, busy, a cancel's 487): the end of its SIP setup. */
export interface SipFinal {
  readonly kind: 'sip.final'
  readonly call_sid: string
  readonly status: number
  readonly at_ms: number
}

export type CallStage = CallBegin | CallAnswering | CallStageDone | NodeEntered | NodeLeft | LegDialing | LegDialed | SipFinal
