// The typed call events of DESIGN §1: emitted by the call registry, consumed by
// every telemetry sink and streamed to `clutchcall calls tail` over the admin socket.
import type {CallDirection, CdrRecord} from '../cdr/record.js'

export type CallState = 'ringing' | 'answered' | 'ending'

interface EventBase {
  readonly call_sid: string
  /** When the event happened, epoch milliseconds. */
  readonly timestamp_ms: number
}

export interface ChannelCreate extends EventBase {
  readonly type: 'CHANNEL_CREATE'
  readonly tenant_id: string
  readonly trunk_id: string
  readonly direction: CallDirection
  readonly from_number: string
  readonly to_number: string
  readonly sip_call_id: string
}

export interface ChannelAnswer extends EventBase {
  readonly type: 'CHANNEL_ANSWER'
  readonly tenant_id: string
  readonly trunk_id: string
  readonly codec: string
}

/** Periodic media quality of a live call (every second while media flows). */
export interface ChannelQuality extends EventBase {
  readonly type: 'CHANNEL_QUALITY'
  readonly tenant_id: string
  readonly trunk_id: string
  readonly codec: string
  readonly packets_sent: number
  readonly packets_received: number
  readonly packets_lost: number
  /** Loss over the last interval, 0..1. */
  readonly loss_ratio: number
  readonly jitter_ms: number
  readonly rtt_ms: number | null
  /** null until the stream has received a packet (nothing to rate yet); the CDR then says 0. */
  readonly estimated_mos: number | null
}

/**
 * A call transfer (REFER, docs/sip-transfer.md): one when a transfer is
 * refused, one when it ends. The CDR has no column for it; this event and
 * the call's log are where a transfer shows.
 */
export interface ChannelTransfer extends EventBase {
  readonly type: 'CHANNEL_TRANSFER'
  readonly tenant_id: string
  readonly trunk_id: string
  /** `received`: a peer's REFER asked the gateway to place the new call; `sent`: the gateway's REFER asked the peer to. */
  readonly refer: 'received' | 'sent'
  /** The leg the REFER travelled on: `a` (the caller's) or `b` (a bridged callee's). */
  readonly leg: 'a' | 'b'
  /** The transfer target, a sip:, sips: or tel: URI. */
  readonly target: string
  /** `refused`: the policy or the peer said no; `completed`: the new call was answered; `failed`: it was not. */
  readonly result: 'refused' | 'completed' | 'failed'
  /** The SIP status that decided it: the REFER's refusal, or the new call's final status. */
  readonly sip_status: number
  readonly reason: string
}

/** Carries every CDR field (DESIGN §5). */
export interface ChannelHangupComplete extends EventBase, CdrRecord {
  readonly type: 'CHANNEL_HANGUP_COMPLETE'
}

export type CallEvent = ChannelCreate | ChannelAnswer | ChannelQuality | ChannelTransfer | ChannelHangupComplete
export type CallEventType = CallEvent['type']

/** A live call as `calls list` and `calls tail` show it. */
export interface CallSummary {
  readonly call_sid: string
  readonly sip_call_id: string
  readonly tenant_id: string
  readonly trunk_id: string
  readonly direction: CallDirection
  readonly from_number: string
  readonly to_number: string
  readonly state: CallState
  readonly start_timestamp_ms: number
  readonly answer_timestamp_ms: number | null
  readonly codec: string
  readonly jitter_ms: number
  readonly loss_ratio: number
  /** null until the call's stream has received a packet (as in CHANNEL_QUALITY). */
  readonly estimated_mos: number | null
  /** The dialplan node the call is in now. */
  readonly node: string | null
}
