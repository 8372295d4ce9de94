// re-INVITE within an established call (RFC 3261 §14): answering the
// peer's (hold, unhold, session refresh, offerless) and sending ours.
// Glare: a re-INVITE while ours is pending gets 491 (§14.2); one while the
// peer's previous is unfinished gets 500 with Retry-After.
import {randomInt} from 'node:crypto'
import {credentialsOf} from './dialog.js'
import {cseqOf, type SipRequest} from './message.js'
import {SdpError} from './sdp.js'
import {isSameSdpVersion, reanswerWithCurrentSdp} from './sdp-reinvite.js'
import type {ServerTransaction} from './transaction/types.js'
import {preciseNow} from './transport/types.js'
import type {SipCall} from './user-agent-call.js'
import {buildResponse, dialogTarget, productHeader, supportedHeader} from './user-agent-core.js'
import {failureStatus, sendRequest} from './user-agent-request.js'
import {headerEntries, type ExtraHeaders, type ReinviteResult} from './user-agent-types.js'

export type Answer = {readonly kind: 'answer'; readonly sdp: Buffer; readonly offerless: boolean; readonly changed: boolean} | {readonly kind: 'refused'; readonly status: number}

export const isSdp = (request: SipRequest): boolean => (request.headers.get('content-type') ?? 'application/sdp').split(';')[0]?.trim().toLowerCase() === 'application/sdp'

/** Our answer to the offer in a re-INVITE or UPDATE (none: an offerless re-INVITE, answered with our current SDP). */
export const produceAnswer = async (call: SipCall, request: SipRequest): Promise<Answer> => {
  if (request.body.length === 0) return {kind: 'answer', sdp: call.localSdp, offerless: true, changed: false}
  if (!isSdp(request)) return {kind: 'refused', status: 415}
  // A session refresh re-sends the same description: our current one answers it.
  if (isSameSdpVersion(call.remoteSdp, request.body)) return {kind: 'answer', sdp: call.localSdp, offerless: false, changed: false}
  try {
    const answer = call.reinviteHandler === undefined ? reanswerWithCurrentSdp(call.localSdp, request.body) : await call.reinviteHandler({sdp: request.body, request})
    return {kind: 'answer', sdp: typeof answer === 'string' ? Buffer.from(answer) : answer, offerless: false, changed: true}
  } catch (error) {
    return {kind: 'refused', status: error instanceof SdpError ? error.status : 488}
  }
}

type Refusal = {readonly status: number; readonly reason?: string; readonly headers: Array<[string, string]>}
type TimerDecision = ReturnType<NonNullable<SipCall['sessionTimer']>['decide']>

/**
 * What re-INVITE and UPDATE check before taking the peer's request (one
 * helper, so the two cannot drift apart): glare when it carries an offer
 * (RFC 3261 §14.2, RFC 3311 §5.2: 491 while an offer of ours is pending, 500
 * with Retry-After while the peer's previous one is unfinished), the per-call
 * budget (500 with Retry-After), and the session timer headers (RFC 4028 §9:
 * 400 malformed, 422 too small). Returns the refusal, or the timer decision.
 */
export const admitOffer = (call: SipCall, request: SipRequest, offer: boolean): {refusal: Refusal} | {refusal?: undefined; timer: TimerDecision | undefined} => {
  if (offer && (call.reinviteInProgress === 'outgoing' || call.updateOfferInProgress)) return {refusal: {status: 491, headers: []}}
  if (offer && (call.reinviteInProgress === 'incoming' || call.awaitingAck)) return {refusal: {status: 500, headers: [['Retry-After', String(randomInt(0, 11))]]}}
  const budget = call.spendBudget()
  if (!budget.ok) return {refusal: {status: 500, headers: [['Retry-After', String(budget.retryAfterS)]]}}
  const timer = call.sessionTimer?.decide(request)
  if (timer?.kind === 'malformed') return {refusal: {status: 400, reason: 'Bad Session-Expires or Min-SE', headers: []}}
  if (timer?.kind === 'too-small') return {refusal: {status: 422, headers: [['Min-SE', String(timer.minSe)]]}}
  return {timer}
}

/**
 * Our answer to the peer's offer (re-INVITE or UPDATE), with the call's SDP
 * state moved on: a changed offer becomes the remote SDP, its answer our
 * local SDP, and the application hears of it (`remote-sdp`). A call that
 * ended meanwhile refuses with 481.
 */
export const takeOffer = async (call: SipCall, request: SipRequest): Promise<Answer> => {
  const answer = await produceAnswer(call, request)
  if (answer.kind === 'refused') return answer
  if (call.state === 'ended') return {kind: 'refused', status: 481}
  if (answer.changed) {
    call.localSdp = answer.sdp
    call.remoteSdp = request.body
    call.emit('remote-sdp', request.body, 'offer')
  } else if (!answer.offerless) {
    call.remoteSdp = request.body
  }
  return answer
}

/** Answers a re-INVITE received in `call`'s dialog. */
export const answerReinvite = (call: SipCall, request: SipRequest, transaction: ServerTransaction): void => {
  const admitted = admitOffer(call, request, true)
  if (admitted.refusal !== undefined) {
    const {status, reason, headers} = admitted.refusal
    return transaction.respond(buildResponse(call.core, request, status, {headers, ...(reason === undefined ? {} : {reason})}))
  }
  const {timer} = admitted
  call.reinviteInProgress = 'incoming'
  call.dialog.refreshTarget(request)
  const run = async (): Promise<void> => {
    const answer = await takeOffer(call, request)
    if (answer.kind === 'refused') return transaction.respond(buildResponse(call.core, request, answer.status))
    const headers = timer?.kind === 'timer' ? (call.sessionTimer?.responseHeaders(timer) ?? []) : []
    const response = buildResponse(call.core, request, 200, {contact: true, transport: call.dialog.transport, body: answer.sdp, headers})
    transaction.respond(response)
    if (timer?.kind === 'timer') call.sessionTimer?.acceptedRemote(timer)
    const acked = call.awaitAck(response, transaction)
    // From here `awaitingAck` guards against the next re-INVITE until the ACK is in.
    call.reinviteInProgress = undefined
    const ack = await acked
    // Offerless re-INVITE: our 2xx was the offer, the ACK carries the answer (RFC 3264 §4).
    if (answer.offerless && ack !== undefined && ack.body.length > 0) {
      call.remoteSdp = ack.body
      call.emit('remote-sdp', ack.body, 'answer')
    }
  }
  run()
    .catch(() => {
      // No ACK: the call was already ended with a BYE by awaitAck.
    })
    .finally(() => {
      if (call.reinviteInProgress === 'incoming') call.reinviteInProgress = undefined
    })
}

/** Sends our re-INVITE with `sdp` as the new offer. */
export const sendReinvite = async (call: SipCall, sdp: Buffer, headers: ExtraHeaders | undefined): Promise<ReinviteResult> => {
  if (call.state === 'ended') return {ok: false, status: 481, reason: 'Call Does Not Exist'}
  if (call.state !== 'established' || call.reinviteInProgress !== undefined || call.awaitingAck) return {ok: false, status: 491, reason: 'Request Pending'}
  call.reinviteInProgress = 'outgoing'
  try {
    const extra = headerEntries(headers)
    // Every re-INVITE refreshes the session (RFC 4028 §7.4): it says so unless the caller wrote its own Session-Expires.
    const timerHeaders = call.sessionTimer === undefined || extra.some(([name]) => /^(session-expires|x)$/i.test(name)) ? [] : call.sessionTimer.requestHeaders()
    const request = call.dialog.createRequest('INVITE', {body: sdp, headers: [...productHeader(call.core), ...supportedHeader(call.core), ...timerHeaders, ...extra]})
    const target = await dialogTarget(call.dialog)
    const outcome = await sendRequest(call.core, request, target, {digest: call.digest, nextSeq: () => call.dialog.nextSequence(), later2xx: (response) => call.resendAck(response)})
    const status = outcome.kind === 'response' ? outcome.response.status : failureStatus(outcome.failure)
    if (outcome.kind === 'response' && status < 300) {
      const {response} = outcome
      call.dialog.refreshTarget(response)
      await call.sendAck(cseqOf(outcome.request).seq, credentialsOf(outcome.request))
      call.localSdp = sdp
      call.sessionTimer?.accepted2xx(response)
      if (response.body.length > 0) {
        call.remoteSdp = response.body
        call.emit('remote-sdp', response.body, 'answer')
      }
      return {ok: true, status, remoteSdp: response.body.length > 0 ? response.body : undefined}
    }
    // §12.2.1.2: a 481 or 408 (a timeout included) means the dialog is gone.
    if (status === 481) call.finish({by: 'stack', cause: 'dialog-gone', at: preciseNow()}, true)
    else if (status === 408) void call.bye()
    const reason = outcome.kind === 'response' ? outcome.response.reason : outcome.failure.kind
    return {ok: false, status, reason, response: outcome.kind === 'response' ? outcome.response : undefined}
  } catch (error) {
    return {ok: false, status: 503, reason: error instanceof Error ? error.message : String(error)}
  } finally {
    call.reinviteInProgress = undefined
  }
}
