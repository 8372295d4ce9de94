// The Call Detail Record of DESIGN §8: one per call, with these exact column
// names. The daemon builds it when a call ends; it travels in the
// CHANNEL_HANGUP_COMPLETE event, to the CDR writer, and to `calls tail`.

/** Final status of a call (DESIGN §5): the CDR `status` and the metric `result` label. */
export type CallStatus = 'completed' | 'busy' | 'no-answer' | 'canceled' | 'failed'
export const CALL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'no-answer', 'canceled', 'failed']

export type CallDirection = 'inbound' | 'outbound'

/** Metric label and CDR value for a call that came through no trunk. */
export const NO_TRUNK = 'none'

export interface CdrRecord {
  readonly call_sid: string
  readonly tenant_id: string
  /** The trunk id, or `none` (as in the metric label) when no trunk carried the call. */
  readonly trunk_id: string
  readonly direction: CallDirection
  readonly from_number: string
  readonly to_number: string
  /** Epoch milliseconds; written to ClickHouse as an ISO-8601 UTC string with milliseconds. */
  readonly start_timestamp_ms: number
  readonly answer_timestamp_ms: number | null
  readonly end_timestamp_ms: number
  /** Whole seconds from answer to end (the billable time); 0 when never answered. */
  readonly duration_seconds: number
  readonly q850_cause: number
  readonly status: CallStatus
  /** RTP encoding name (`PCMU`, `PCMA`, `opus`), empty when no media was negotiated. */
  readonly codec: string
  readonly packets_sent: number
  readonly packets_received: number
  readonly packets_lost: number
  readonly bytes_sent: number
  readonly jitter_ms: number
  readonly estimated_mos: number
  /** Empty when the call was not recorded. */
  readonly recording_url: string
  /** Set when the call went through an AI agent node. */
  readonly agent_id: string
}

export const CDR_COLUMNS = [
  'call_sid', 'tenant_id', 'trunk_id', 'direction', 'from_number', 'to_number', 'start_timestamp_ms', 'answer_timestamp_ms', 'end_timestamp_ms',
  'duration_seconds', 'q850_cause', 'status', 'codec', 'packets_sent', 'packets_received', 'packets_lost', 'bytes_sent', 'jitter_ms', 'estimated_mos',
  'recording_url', 'agent_id',
] as const satisfies ReadonlyArray<keyof CdrRecord>

/** `CA` followed by 32 lowercase hex digits (DESIGN §5). */
export const CALL_SID_PATTERN = /^CA[0-9a-f]{32}$/
