// Public option and result types of the user agent (user-agent.ts).
import type {SipRequest, SipResponse} from './message.js'
import type {ReliableProvisionalMode} from './reliable-provisionals.js'
import type {SessionTimerSettings} from './session-timer.js'
import type {SipTimerConfig} from './transaction/timers.js'
import type {SipTargetResolver} from './transport/target-resolver.js'
import type {InboundContext, SipTransportLike, SipTransportProtocol} from './transport/types.js'

export interface UserAgentOptions {
  readonly transport: SipTransportLike
  /** T1, T2, T4 and the 100 Trying delay; RFC 3261 defaults. */
  readonly timers?: Partial<SipTimerConfig>
  /** Value of User-Agent (requests) and Server (responses); default `ClutchCall`. Empty string: none. */
  readonly product?: string
  /** User part of our Contact; default `clutchcall`. */
  readonly contactUser?: string
  /** Decides, before any transaction state exists, what becomes of each request received; default: every request is admitted. */
  readonly screen?: RequestScreen
  /**
   * Session timers (RFC 4028) for every call, both directions. Absent: the
   * `timer` extension is not supported (`Require: timer` gets 420,
   * Session-Expires is ignored).
   */
  readonly sessionTimers?: SessionTimerSettings
  /**
   * Replaces (RFC 3891): `replaces` is in our Supported, and an INVITE naming one of our confirmed
   * dialogs reaches the `invite` listener with `incoming.replaces` set (refused with 400/481/486
   * here when it cannot). Default false: the header is ignored and `Require: replaces` gets 420.
   */
  readonly replaces?: boolean
  /** When our provisional responses go reliably (RFC 3262); default `supported`. A reliable 18x we receive is PRACKed in every mode. */
  readonly reliableProvisionals?: ReliableProvisionalMode
  /** The Retry-After of a `busy` screen verdict's stateless 503; default 5 (`UserAgent.busyRetryAfterS` changes it later). */
  readonly busyRetryAfterS?: number
  /**
   * Health for load balancers: asked for each OPTIONS outside a dialog. Undefined: 200 (the UA
   * takes calls); a refusal: that 503, with its Retry-After, so a balancer probing with OPTIONS
   * stops sending new calls. Default: always 200.
   */
  readonly availability?: () => Unavailable | undefined
  /**
   * Where out-of-dialog requests (INVITE) go: the ordered targets of their
   * Request-URI, tried one after the other (RFC 3263 §4.3). Default
   * `addressResolver`: one target, the host's first address.
   */
  readonly resolver?: SipTargetResolver
  /**
   * A target that sends no response at all (not even 100 Trying) this long
   * is left for the next one, when there is one; default 0: only Timer B
   * (64·T1) gives up on it.
   */
  readonly targetTimeoutMs?: number
}

/** Why the UA takes no new calls now, as the 503 to a health probe says it. */
export interface Unavailable {
  /** The reason phrase of the 503 (`Draining`, `Overloaded`, …). */
  readonly reason: string
  readonly retryAfterS: number
}

/**
 * What to do with a request: `admit` it, `drop` it silently, `reject` it
 * with a stateless 403, or answer `busy` with a stateless 503 and
 * Retry-After (neither answer for ACK). `belongs` is true when it matches a
 * transaction or dialog we have (a retransmission, an in-dialog request, a
 * CANCEL of a pending INVITE).
 */
export type RequestScreen = (request: SipRequest, context: InboundContext, belongs: boolean) => 'admit' | 'drop' | 'reject' | 'busy'

export type ExtraHeaders = Iterable<readonly [string, string]> | Readonly<Record<string, string>>

export interface Credentials {
  readonly username: string
  readonly password: string
}

export interface InviteOptions {
  /** Request-URI, e.g. `sip:+14155550100@sbc.example:5060;transport=tcp`. */
  readonly requestUri: string
  /** From: a URI or name-addr; our tag is added. */
  readonly from: string
  /** To: a URI or name-addr. */
  readonly to: string
  /** Our Contact; default built from the transport's listener. */
  readonly contact?: string
  /** The SDP offer. */
  readonly sdp: Buffer | string
  /** Extra headers for the INVITE (and its authenticated retry), e.g. traceparent. */
  readonly headers?: ExtraHeaders
  /** Answers one 401/407 challenge (Digest MD5 or SHA-256). */
  readonly credentials?: Credentials
  /** Default: the Request-URI's transport parameter, else UDP. */
  readonly transport?: SipTransportProtocol
  /** Next hop (outbound proxy) as `host[:port]`; default the Request-URI's host and port. */
  readonly destination?: string
  /** Default: a random Call-ID. */
  readonly callId?: string
}

/** Timestamps (wall-clock ms, sub-ms precision) of an outgoing INVITE. */
export interface InviteTiming {
  inviteSentAt?: number
  /** First 18x (100 Trying excluded): post-dial delay ends here. */
  firstProvisionalAt?: number
  /** The 2xx. */
  answeredAt?: number
  /** The final response or local failure. */
  finalAt?: number
}

export interface ProvisionalInfo {
  readonly status: number
  readonly reason: string
  /** Early media SDP, when the 18x carries one. */
  readonly sdp?: Buffer | undefined
  /** INVITE sent → this first 18x, ms; only on the first. */
  readonly pddMs?: number | undefined
  readonly response: SipResponse
}

export interface InviteFailure {
  /** The final status, or the one standing for a local failure (408 timeout, 503 transport error, 487 cancel). */
  readonly status: number
  readonly reason: string
  /** A Reason: Q.850 header's cause when present (RFC 3326), else mapped from the status (RFC 3398). */
  readonly q850Cause: number
  /** We sent (or wanted to send) CANCEL. */
  readonly canceled: boolean
  /** `response`: a final response arrived; otherwise the status stands for what happened here. */
  readonly source: 'response' | 'timeout' | 'transport-error' | 'cancel'
  readonly response?: SipResponse | undefined
  readonly error?: Error | undefined
}

export interface HangupOptions {
  /** Adds `Reason: Q.850;cause=N` (RFC 3326). */
  readonly q850Cause?: number
  readonly text?: string
  readonly headers?: ExtraHeaders
}

export interface RejectOptions extends HangupOptions {
  /** Reason phrase; default the standard one. */
  readonly reason?: string
}

export interface CallEnd {
  /** Who ended it: our BYE, theirs, or the stack (no ACK, transport failure, 408/481 to a re-INVITE, a session timer that ran out). */
  readonly by: 'local' | 'remote' | 'stack'
  /** `session-expired`: no session refresh came in time (RFC 4028 §10); our BYE carried Q.850 cause 102. */
  readonly cause: 'bye' | 'no-ack' | 'transport-error' | 'dialog-gone' | 'closed' | 'session-expired'
  /** From a Reason: Q.850 header of the BYE, when one was sent or received. */
  readonly q850Cause?: number | undefined
  readonly request?: SipRequest | undefined
  readonly at: number
}

export interface ReinviteOffer {
  /** The peer's new offer, absent for an offerless re-INVITE (we offer, they answer in the ACK). */
  readonly sdp: Buffer | undefined
  readonly request: SipRequest
}

/** Returns our answer SDP to a changed offer (hold, unhold, new address); throw to refuse (488). */
export type ReinviteHandler = (offer: ReinviteOffer) => string | Buffer | Promise<string | Buffer>

export type ReinviteResult =
  | {readonly ok: true; readonly status: number; readonly remoteSdp: Buffer | undefined}
  | {readonly ok: false; readonly status: number; readonly reason: string; readonly response?: SipResponse | undefined}

/** The outcome of an UPDATE we sent (RFC 3311): like a re-INVITE's. */
export type UpdateResult = ReinviteResult

export type InviteResult = {readonly ok: true; readonly call: import('./user-agent-call.js').SipCall} | {readonly ok: false; readonly failure: InviteFailure}

export const headerEntries = (headers: ExtraHeaders | undefined): Array<readonly [string, string]> => {
  if (headers === undefined) return []
  if (Symbol.iterator in headers) return [...(headers as Iterable<readonly [string, string]>)]
  return Object.entries(headers as Record<string, string>)
}
