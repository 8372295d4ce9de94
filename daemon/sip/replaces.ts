// An INVITE with Replaces (RFC 3891) for one of the gateway's confirmed
// dialogs: attended transfer's last step (the transferee or the transfer
// target calls in to take a call over) and call pickup. The new dialog takes
// the replaced one's place in its leg: same call, same RTP stream and codec,
// relay or agent or playback going on; the replaced dialog gets a BYE. The
// call keeps its call_sid and its one CDR (docs/sip-transfer.md).
//
// Who may: knowing a dialog's Call-ID and both tags is the capability
// (RFC 3891 §7), so the INVITE must also come from a source the trunks admit
// (inside a trunk's CIDRs, or with that trunk's digest credentials) for the
// same tenant as the call it replaces; otherwise 403. The UA has already
// refused Replaces for no dialog of ours (481), an early dialog (481) and
// early-only (486).
import type {Logger} from 'pino'
import {NO_TRUNK} from '../../src/cdr/record.js'
import {SdpError, sdpCodecsFor} from '../../src/sip/sdp.js'
import {answerAudioOffer, type AudioAnswer} from '../../src/sip/sdp-offer-answer.js'
import type {SipCall} from '../../src/sip/user-agent-call.js'
import type {IncomingInvite} from '../../src/sip/user-agent-incoming.js'
import {NO_TENANT} from '../calls/refusals.js'
import type {InboundRoute, KnownSource} from '../trunks/inbound-router.js'
import {checkTrunkCredentials, type InboundServices} from './inbound.js'
import {remoteOf, SipLeg} from './sip-leg.js'

const NORMAL_CLEARING = 16

export const replaceDialog = async (
  incoming: IncomingInvite,
  replaced: SipCall,
  services: InboundServices,
  route: InboundRoute,
  lookup: {readonly startMs: number; readonly endMs: number},
  log: Logger,
): Promise<void> => {
  const source = incoming.source.address
  // A source inside a trunk's CIDRs is known even when the Request-URI (our Contact) routes to no number.
  const known: KnownSource | undefined = route.ok ? {tenant: route.tenant, trunk: route.trunk} : route.known
  if (known === undefined) {
    log.info({source, reason: route.ok ? '' : route.reason}, 'INVITE with Replaces refused: unknown source')
    incoming.reject(403, {reason: 'Forbidden'})
    services.calls.refused({reason: 'unknown_source', status: 403, tenant_id: NO_TENANT, trunk_id: NO_TRUNK})
    return
  }
  if (route.ok && checkTrunkCredentials(incoming, services, route, lookup, log) === undefined) return
  const leg = SipLeg.following(replaced)
  const call = leg?.callSid === undefined ? undefined : services.calls.get(leg.callSid)
  if (leg === undefined || call === undefined) {
    incoming.reject(481, {reason: 'Call/Transaction Does Not Exist'})
    return
  }
  const callLog = log.child({call_sid: call.sid})
  if (call.summary().tenant_id !== known.tenant) {
    callLog.info({source, trunk: known.trunk, tenant: known.tenant}, 'INVITE with Replaces refused: the call belongs to another tenant')
    incoming.reject(403, {reason: 'Replaces Not Allowed'})
    return
  }
  if (incoming.remoteSdp === undefined) {
    incoming.reject(488, {reason: 'Offer Required'})
    return
  }
  // The leg's own stream and codec: the call's media goes on unchanged with the new party.
  const encryption = services.config.trunks.find((trunk) => trunk.id === known.trunk)?.media_encryption ?? (leg.encrypted ? 'optional' : 'none')
  let answer: AudioAnswer
  try {
    answer = answerAudioOffer(incoming.remoteSdp, {address: services.rtpAddress, port: leg.localAudio.port, encryption, codecs: sdpCodecsFor([leg.media.codec])})
  } catch (error) {
    const status = error instanceof SdpError ? error.status : 400
    callLog.info({err: error, status, codec: leg.media.codec}, 'INVITE with Replaces refused: its offer lacks the call codec')
    incoming.reject(status)
    return
  }
  callLog.info({source, replaced_sip_call_id: replaced.dialog.callId, replacing_sip_call_id: incoming.callId}, 'INVITE with Replaces: answering, then releasing the replaced dialog (RFC 3891)')
  const unlink = services.transfers.linkLeg?.(incoming.callId, call.sid) ?? (() => {})
  let next: SipCall
  try {
    next = await incoming.answer(answer.sdp)
  } catch (error) {
    unlink()
    callLog.info({err: error}, 'INVITE with Replaces not confirmed (no ACK): the call stays with the replaced dialog')
    return
  }
  void next.ended.then(unlink)
  // The replaced party hung up (or the call ended) while the new one was answering: nothing is left to take over.
  if (replaced.state === 'ended' || SipLeg.following(replaced) !== leg) {
    callLog.info('the replaced dialog ended before the replacement was confirmed; releasing the new one')
    await next.bye({q850Cause: NORMAL_CLEARING}).catch(() => undefined)
    return
  }
  await leg.media.stream.setRemote({...remoteOf(answer.remote, answer.codec, answer.telephoneEventPt, answer.srtp), newParty: true})
  leg.replaceCall(next, answer.local, answer.srtp !== undefined)
  await replaced.bye({q850Cause: NORMAL_CLEARING}).catch((error: unknown) => callLog.warn({err: error}, 'BYE to the replaced dialog failed'))
  callLog.info({replaced_sip_call_id: replaced.dialog.callId, sip_call_id: next.dialog.callId}, 'dialog replaced')
}
