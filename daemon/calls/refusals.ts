// Refused call attempts: INVITEs the gateway answered with a final error
// before any dialplan ran (admission, credentials, SDP, draining, media
// ports). Inbound call code publishes one per refusal on the call registry;
// the metrics sink counts them by reason (docs/call-accounting.md).

/** Why an attempt was refused: the `reason` label of `clutchcall_call_attempts_refused_total`. A fixed set, so the label stays bounded. */
export const REFUSAL_REASONS = [
  /** 403: the source address is in no trunk's CIDRs and no credential-only trunk serves the number. */
  'unknown_source',
  /** 404: the source is known but no trunk of it serves the called number. */
  'no_route',
  /** 401 again: credentials were presented and were wrong (a caller without any gets a challenge, which is no refusal). */
  'auth_failed',
  /** 488: an INVITE without an SDP offer. */
  'no_offer',
  /** 400: an SDP offer that does not parse. */
  'bad_sdp',
  /** 488: no audio stream, or no codec in common. */
  'no_common_codec',
  /** 503: the gateway is draining (stop or SIGTERM). */
  'draining',
  /** 503: no RTP port or media shard for the call. */
  'no_media_ports',
  /** 503 with Retry-After: the SIP thread is overloaded (security.overload). */
  'overload',
  /** 503 with Retry-After: the gateway holds security.limits.max_dialogs dialogs. */
  'dialog_limit',
] as const

export type RefusalReason = (typeof REFUSAL_REASONS)[number]

/** Metric label and CDR value for an attempt that no tenant can be held to (an unknown source). */
export const NO_TENANT = 'none'

export interface RefusedAttempt {
  readonly reason: RefusalReason
  /** The final SIP status sent (401 for failed credentials); 0 when the request was dropped unanswered (security.unknown_sources: drop). */
  readonly status: number
  /** The tenant and trunk the attempt is attributed to, `none` when its source is unknown. */
  readonly tenant_id: string
  readonly trunk_id: string
  /** The call recorded for it (CDR, events, trace); absent for an unknown source, which gets nothing but the counter. */
  readonly call_sid?: string
}
