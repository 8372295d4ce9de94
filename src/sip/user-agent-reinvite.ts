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

/** Answers a re-INVITE received in `call`'s dialog. */
export const answerReinvite = (call: SipCall, request: SipRequest, transaction: ServerTransaction): void => {
  const respond = (status: number, headers?: Array<[string, string]>): void => transaction.respond(buildResponse(call.core, request, status, headers === undefined ? {} : {headers}))
  if (call.reinviteInProgress === 'outgoing' || call.updateOfferInProgress) return respond(491)
  if (call.reinviteInProgress === 'incoming' || call.awaitingAck) return respond(500, [['Retry-After', String(randomInt(0, 11))]])
  const budget = call.spendBudget()
  if (!budget.ok) return respond(500, [['Retry-After', String(budget.retryAfterS)]])
  // RFC 4028 §9: a refresh below our minimum gets 422, a malformed timer header 400.
  const timer = call.sessionTimer?.decide(request)
  if (timer?.kind === 'malformed') return transaction.respond(buildResponse(call.core, request, 400, {reason: 'Bad Session-Expires or Min-SE'}))
  if (timer?.kind === 'too-small') return respond(422, [['Min-SE', String(timer.minSe)]])
  call.reinviteInProgress = 'incoming'
  call.dialog.refreshTarget(request)
  const run = async (): Promise<void> => {
    const answer = await produceAnswer(call, request)
    if (answer.kind === 'refused') return respond(answer.status)
    if (call.state === 'ended') return respond(481)
    const headers = timer?.kind === 'timer' ? (call.sessionTimer?.responseHeaders(timer) ?? []) : []
    const response = buildResponse(call.core, request, 200, {contact: true, transport: call.dialog.transport, body: answer.sdp, headers})
    if (answer.changed) {
      call.localSdp = answer.sdp
      call.remoteSdp = request.body
      call.emit('remote-sdp', request.body, 'offer')
    } else if (!answer.offerless) {
      call.remoteSdp = request.body
    }
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
