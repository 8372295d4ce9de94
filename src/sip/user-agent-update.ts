// UPDATE within an established call (RFC 3311): answering the peer's (a
// session refresh without a body, or a new offer answered like a re-INVITE
// offer) and sending ours (the session refresh of user-agent-session-timer.ts,
// or a new offer). An UPDATE is a target refresh (§5.2) and, being a
// non-INVITE request, has no ACK. Glare follows §5.2: an offer while ours is
// pending gets 491, one while the peer's own offer is still being answered
// gets 500 with Retry-After.
import {type SipRequest} from './message.js'
import type {ServerTransaction} from './transaction/types.js'
import {preciseNow} from './transport/types.js'
import type {SipCall} from './user-agent-call.js'
import {buildResponse, dialogTarget, productHeader, supportedHeader} from './user-agent-core.js'
import {admitOffer, isSdp, takeOffer} from './user-agent-reinvite.js'
import {failureStatus, sendRequest} from './user-agent-request.js'
import {headerEntries, type ExtraHeaders, type UpdateResult} from './user-agent-types.js'

/** Answers an UPDATE received in `call`'s dialog: the checks and the offer handling are the re-INVITE's (user-agent-reinvite.ts). */
export const answerUpdate = (call: SipCall, request: SipRequest, transaction: ServerTransaction): void => {
  const respond = (status: number, headers: Array<[string, string]> = [], body?: Buffer): void =>
    transaction.respond(buildResponse(call.core, request, status, {headers, ...(status < 300 ? {contact: true, transport: call.dialog.transport} : {}), ...(body === undefined ? {} : {body})}))
  const offer = request.body.length > 0
  if (offer && !isSdp(request)) return respond(415, [['Accept', 'application/sdp']])
  const admitted = admitOffer(call, request, offer)
  if (admitted.refusal !== undefined) {
    const {status, reason, headers} = admitted.refusal
    return transaction.respond(buildResponse(call.core, request, status, {headers, ...(reason === undefined ? {} : {reason})}))
  }
  const {timer} = admitted
  const timerHeaders = timer?.kind === 'timer' ? (call.sessionTimer?.responseHeaders(timer) ?? []) : []
  call.dialog.refreshTarget(request)
  if (!offer) {
    respond(200, timerHeaders)
    if (timer?.kind === 'timer') call.sessionTimer?.acceptedRemote(timer)
    return
  }
  call.reinviteInProgress = 'incoming'
  const run = async (): Promise<void> => {
    const answer = await takeOffer(call, request)
    if (answer.kind === 'refused') return respond(answer.status)
    respond(200, timerHeaders, answer.sdp)
    if (timer?.kind === 'timer') call.sessionTimer?.acceptedRemote(timer)
  }
  run()
    .catch(() => respond(500))
    .finally(() => {
      if (call.reinviteInProgress === 'incoming') call.reinviteInProgress = undefined
    })
}

/** Sends our UPDATE: with `sdp` a new offer, without it a session refresh. */
export const sendUpdate = async (call: SipCall, sdp: Buffer | undefined, headers: ExtraHeaders | undefined): Promise<UpdateResult> => {
  if (call.state === 'ended') return {ok: false, status: 481, reason: 'Call Does Not Exist'}
  if (sdp !== undefined && (call.reinviteInProgress !== undefined || call.updateOfferInProgress)) return {ok: false, status: 491, reason: 'Request Pending'}
  if (sdp !== undefined) call.updateOfferInProgress = true
  try {
    const extra = headerEntries(headers)
    const timerHeaders = call.sessionTimer === undefined || extra.some(([name]) => /^(session-expires|x)$/i.test(name)) ? [] : call.sessionTimer.requestHeaders()
    const request = call.dialog.createRequest('UPDATE', {...(sdp === undefined ? {} : {body: sdp}), headers: [...productHeader(call.core), ...supportedHeader(call.core), ...timerHeaders, ...extra]})
    const target = await dialogTarget(call.dialog)
    const outcome = await sendRequest(call.core, request, target, {digest: call.digest, nextSeq: () => call.dialog.nextSequence()})
    const status = outcome.kind === 'response' ? outcome.response.status : failureStatus(outcome.failure)
    if (outcome.kind === 'response' && status < 300) {
      const {response} = outcome
      call.dialog.refreshTarget(response)
      if (sdp !== undefined) call.localSdp = sdp
      call.sessionTimer?.accepted2xx(response)
      if (response.body.length > 0) {
        call.remoteSdp = response.body
        call.emit('remote-sdp', response.body, 'answer')
      }
      return {ok: true, status, remoteSdp: response.body.length > 0 ? response.body : undefined}
    }
    // RFC 3261 §12.2.1.2: a 481 or 408 (a timeout included) means the dialog is gone.
    if (status === 481) call.finish({by: 'stack', cause: 'dialog-gone', at: preciseNow()}, true)
    else if (status === 408) void call.bye()
    const reason = outcome.kind === 'response' ? outcome.response.reason : outcome.failure.kind
    return {ok: false, status, reason, response: outcome.kind === 'response' ? outcome.response : undefined}
  } catch (error) {
    return {ok: false, status: 503, reason: error instanceof Error ? error.message : String(error)}
  } finally {
    if (sdp !== undefined) call.updateOfferInProgress = false
  }
}
