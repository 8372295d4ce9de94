// Call transfer within an established call (RFC 3515 REFER, RFC 6665
// NOTIFY): answering the peer's REFER (the application decides through the
// call's referHandler, then reports the new call's progress in NOTIFYs
// carrying message/sipfrag), and sending ours (202, then NOTIFYs until a
// final sipfrag, within a deadline). Bounds: one REFER in progress per call
// each way (another gets 491), MAX_REFERS_PER_CALL received per call (then
// 403), MAX_NOTIFYS_PER_REFER NOTIFYs taken per REFER of ours (then the
// transfer counts as failed), a decision within REFER_DECISION_TIMEOUT_MS.
import {parseEvent, parseReferTo, parseSipfrag, parseSubscriptionState, ReferError, SIPFRAG_CONTENT_TYPE, formatReferTo, formatSipfrag, type ReferTarget, type ReplacesValue} from './refer.js'
import {cseqOf, type SipRequest} from './message.js'
import type {ServerTransaction} from './transaction/types.js'
import type {SipCall} from './user-agent-call.js'
import {buildResponse, dialogTarget, productHeader} from './user-agent-core.js'
import {failureStatus, sendRequest} from './user-agent-request.js'
import {headerEntries, type ExtraHeaders} from './user-agent-types.js'

/** REFERs a peer may send in one call, accepted or not; past it they get 403 (a REFER flood costs a counter). */
export const MAX_REFERS_PER_CALL = 5
/** NOTIFYs taken for one REFER of ours; past it the transfer is given up as failed. */
export const MAX_NOTIFYS_PER_REFER = 32
/** How long the application may take to accept or refuse a REFER before it gets 500. */
export const REFER_DECISION_TIMEOUT_MS = 10_000
/** How long our implicit subscription lasts (Subscription-State expires), when the application gives no figure. */
export const DEFAULT_REFER_SUBSCRIPTION_S = 60

/** The body a NOTIFY without sipfrag or with a bad one stands for. */
const UNKNOWN_PROGRESS = {status: 500, reason: 'No Sipfrag'}

/**
 * A REFER the peer sent, waiting for the application: `accept` it (202 and
 * the first NOTIFY, `100 Trying`), then `progress` and `finish` with the new
 * call's status; or `reject` it. Every NOTIFY goes in order, one at a time.
 */
export class IncomingRefer {
  readonly target: ReferTarget
  /** The Referred-By value, as sent. */
  readonly referredBy: string | undefined
  /** The `id` of our NOTIFYs' Event header: the REFER's CSeq number (RFC 3515 §2.4.6). */
  readonly eventId: string
  state: 'pending' | 'accepted' | 'rejected' | 'finished' = 'pending'
  private notifying: Promise<unknown> = Promise.resolve()
  private readonly decisionTimer: NodeJS.Timeout
  private expiresS = DEFAULT_REFER_SUBSCRIPTION_S

  constructor(
    readonly call: SipCall,
    readonly request: SipRequest,
    private readonly transaction: ServerTransaction,
    target: ReferTarget,
  ) {
    this.target = target
    this.referredBy = request.headers.get('referred-by')
    this.eventId = String(cseqOf(request).seq)
    this.decisionTimer = setTimeout(() => this.reject(500, 'Transfer Decision Timeout'), REFER_DECISION_TIMEOUT_MS)
  }

  /** 202 Accepted, then NOTIFY `100 Trying` with the subscription active for `expiresS` (RFC 3515 §2.4.4). */
  accept(options: {expiresS?: number} = {}): boolean {
    if (this.state !== 'pending') return false
    clearTimeout(this.decisionTimer)
    this.state = 'accepted'
    this.expiresS = options.expiresS ?? DEFAULT_REFER_SUBSCRIPTION_S
    this.transaction.respond(buildResponse(this.call.core, this.request, 202, {contact: true, transport: this.call.dialog.transport}))
    void this.notify(100, 'Trying', false)
    return true
  }

  /** A final refusal (403, 603, …) with a reason phrase that says why. */
  reject(status: number, reason: string): boolean {
    if (this.state !== 'pending') return false
    clearTimeout(this.decisionTimer)
    this.state = 'rejected'
    this.call.incomingRefer = undefined
    this.transaction.respond(buildResponse(this.call.core, this.request, status, {reason}))
    return true
  }

  /** A provisional status of the new call (180 Ringing, 183 …), the subscription staying active. */
  progress(status: number, reason: string): Promise<number> {
    if (this.state !== 'accepted' || status >= 200) return Promise.resolve(0)
    return this.notify(status, reason, false)
  }

  /** The new call's final status, in the NOTIFY that ends the subscription; resolves with that NOTIFY's response status. */
  finish(status: number, reason: string): Promise<number> {
    if (this.state !== 'accepted') return Promise.resolve(0)
    this.state = 'finished'
    if (this.call.incomingRefer === this) this.call.incomingRefer = undefined
    return this.notify(status, reason, true)
  }

  /** @internal The call ended before a decision: nothing more is sent. */
  abandon(): void {
    clearTimeout(this.decisionTimer)
    if (this.state === 'pending' || this.state === 'accepted') this.state = 'finished'
  }

  private notify(status: number, reason: string, final: boolean): Promise<number> {
    const send = async (): Promise<number> => {
      if (this.call.state === 'ended') return 481
      const subscriptionState = final ? 'terminated;reason=noresource' : `active;expires=${this.expiresS}`
      const request = this.call.dialog.createRequest('NOTIFY', {
        body: formatSipfrag(status, reason),
        contentType: SIPFRAG_CONTENT_TYPE,
        headers: [['Event', `refer;id=${this.eventId}`], ['Subscription-State', subscriptionState], ...productHeader(this.call.core)],
      })
      try {
        const target = await dialogTarget(this.call.dialog)
        const outcome = await sendRequest(this.call.core, request, target, {digest: this.call.digest, nextSeq: () => this.call.dialog.nextSequence()})
        return outcome.kind === 'response' ? outcome.response.status : failureStatus(outcome.failure)
      } catch {
        return 503
      }
    }
    const sent = this.notifying.then(send, send)
    this.notifying = sent
    return sent
  }
}

/** Answers a REFER received in `call`'s dialog: checks it, then hands it to the call's referHandler. */
export const answerRefer = (call: SipCall, request: SipRequest, transaction: ServerTransaction): void => {
  const respond = (status: number, reason?: string): void => transaction.respond(buildResponse(call.core, request, status, reason === undefined ? {} : {reason}))
  call.refersReceived++
  if (call.refersReceived > MAX_REFERS_PER_CALL) return respond(403, 'Too Many Transfer Requests')
  if (call.state !== 'established') return respond(491)
  if (call.incomingRefer !== undefined) return respond(491)
  let target: ReferTarget
  try {
    target = parseReferTo(request.headers.values('refer-to'))
  } catch (error) {
    if (error instanceof ReferError) return respond(error.status, error.reason)
    return respond(400, 'Malformed Refer-To')
  }
  const handler = call.referHandler
  if (handler === undefined) return respond(603, 'Transfer Not Supported')
  const refer = new IncomingRefer(call, request, transaction, target)
  call.incomingRefer = refer
  try {
    handler(refer)
  } catch {
    refer.reject(500, 'Transfer Handler Failed')
  }
}

/** What became of a REFER we sent. */
export type ReferOutcome =
  /** The new call reached a 2xx (its sipfrag); ending our call is up to the caller. */
  | {readonly ok: true; readonly status: number; readonly reason: string}
  | {
      readonly ok: false
      /** `refer`: the REFER itself was refused; `notify`: the new call failed (its sipfrag); `timeout`: no final NOTIFY in time; `ended`: our call ended first; `limit`: too many NOTIFYs. */
      readonly stage: 'refer' | 'notify' | 'timeout' | 'ended' | 'limit'
      readonly status: number
      readonly reason: string
    }

export interface ReferOptions {
  /** Referred-By (RFC 3892), a name-addr; none when absent. */
  readonly referredBy?: string
  /** An attended transfer: the dialog at the target the new call replaces (RFC 3891). */
  readonly replaces?: ReplacesValue
  /** How long to wait for the final NOTIFY after the REFER, ms; default 30 s. */
  readonly timeoutMs?: number
  readonly headers?: ExtraHeaders
  /** Each provisional sipfrag status (100 Trying, 180 Ringing, …). */
  readonly progress?: (status: number, reason: string) => void
}

/** @internal A REFER of ours waiting for its NOTIFYs. */
export interface ReferSubscription {
  readonly eventId: string
  notifies: number
  settle(outcome: ReferOutcome): void
  progress(status: number, reason: string): void
}

/** Sends a REFER for `target` in `call`'s dialog and follows the NOTIFYs to the transfer's end. */
export const sendRefer = async (call: SipCall, target: string, options: ReferOptions = {}): Promise<ReferOutcome> => {
  if (call.state !== 'established') return {ok: false, stage: 'refer', status: 481, reason: 'Call Does Not Exist'}
  if (call.outgoingRefer !== undefined) return {ok: false, stage: 'refer', status: 491, reason: 'Request Pending'}
  let referTo: string
  try {
    referTo = formatReferTo(target, options.replaces)
  } catch (error) {
    return {ok: false, stage: 'refer', status: error instanceof ReferError ? error.status : 400, reason: error instanceof ReferError ? error.reason : 'Malformed Refer-To'}
  }
  const request = call.dialog.createRequest('REFER', {
    headers: [['Refer-To', referTo], ...(options.referredBy === undefined ? [] : [['Referred-By', options.referredBy] as [string, string]]), ...productHeader(call.core), ...headerEntries(options.headers)],
  })
  let settle!: (outcome: ReferOutcome) => void
  const settled = new Promise<ReferOutcome>((resolve) => (settle = resolve))
  let done = false
  const timeoutMs = options.timeoutMs ?? 30_000
  let timer: NodeJS.Timeout | undefined
  const subscription: ReferSubscription = {
    eventId: String(cseqOf(request).seq),
    notifies: 0,
    settle: (outcome) => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      if (call.outgoingRefer === subscription) call.outgoingRefer = undefined
      settle(outcome)
    },
    progress: (status, reason) => options.progress?.(status, reason),
  }
  // A NOTIFY may overtake the 202 (RFC 3515 §2.4.4): the subscription is known before the REFER leaves.
  call.outgoingRefer = subscription
  void (async () => {
    try {
      const hop = await dialogTarget(call.dialog)
      const outcome = await sendRequest(call.core, request, hop, {digest: call.digest, nextSeq: () => call.dialog.nextSequence()})
      if (outcome.kind === 'failure') return subscription.settle({ok: false, stage: 'refer', status: failureStatus(outcome.failure), reason: outcome.failure.kind})
      const {response} = outcome
      if (response.status >= 300) return subscription.settle({ok: false, stage: 'refer', status: response.status, reason: response.reason})
      if (!done) timer = setTimeout(() => subscription.settle({ok: false, stage: 'timeout', status: 408, reason: 'No Final NOTIFY'}), timeoutMs)
    } catch (error) {
      subscription.settle({ok: false, stage: 'refer', status: 503, reason: error instanceof Error ? error.message : String(error)})
    }
  })()
  return settled
}

/**
 * Answers a NOTIFY received in `call`'s dialog: only the `refer` package, only
 * for the REFER of ours in progress (481 otherwise: RFC 6665 §4.1.3), with a
 * sipfrag body; a final status or a terminated subscription ends the transfer.
 */
export const answerNotify = (call: SipCall, request: SipRequest, transaction: ServerTransaction): void => {
  const respond = (status: number, extra: {reason?: string; headers?: Array<[string, string]>} = {}): void => transaction.respond(buildResponse(call.core, request, status, extra))
  let event
  let state
  try {
    event = parseEvent(request.headers.get('event') ?? '')
    state = parseSubscriptionState(request.headers.get('subscription-state') ?? '')
  } catch {
    return respond(400, {reason: 'Bad Event or Subscription-State'})
  }
  if (event.package !== 'refer') return respond(489, {headers: [['Allow-Events', 'refer']]})
  const subscription = call.outgoingRefer
  if (subscription === undefined || (event.id !== undefined && event.id !== subscription.eventId)) return respond(481, {reason: 'Subscription Does Not Exist'})
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (request.body.length > 0 && contentType !== 'message/sipfrag') return respond(415, {headers: [['Accept', 'message/sipfrag']]})
  respond(200)
  subscription.notifies++
  if (subscription.notifies > MAX_NOTIFYS_PER_REFER) return subscription.settle({ok: false, stage: 'limit', status: 500, reason: 'Too Many NOTIFYs'})
  const frag = request.body.length === 0 ? undefined : (parseSipfrag(request.body) ?? UNKNOWN_PROGRESS)
  if (frag !== undefined && frag.status >= 200) {
    return subscription.settle(frag.status < 300 ? {ok: true, status: frag.status, reason: frag.reason} : {ok: false, stage: 'notify', status: frag.status, reason: frag.reason})
  }
  if (state.state === 'terminated') return subscription.settle({ok: false, stage: 'notify', status: frag?.status ?? 500, reason: `subscription terminated${state.reason === undefined ? '' : ` (${state.reason})`}`})
  if (frag !== undefined) subscription.progress(frag.status, frag.reason)
}
