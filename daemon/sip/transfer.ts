// Blind transfer by a REFER the gateway receives (RFC 3515, RFC 5589 §6):
// the tenant's policy decides (603, 403 with a reason); an accepted REFER
// gets 202, and the gateway calls the Refer-To target itself through the
// policy's route, offering the leg's own RTP stream. NOTIFYs report the new
// call's progress. When the target answers, the leg moves over to the new
// dialog (relay, agent, playback go on), and the old dialog is released with
// a BYE unless the transferor hangs up first. A failed new call leaves the
// leg as it was. An embedded Replaces (attended transfer, RFC 3891) goes on
// the new INVITE with `Require: replaces`.
import type {Config} from '../../src/config/schema.js'
import {generateCallId} from '../../src/sip/ids.js'
import {parseNameAddr} from '../../src/sip/name-addr.js'
import {formatReplaces} from '../../src/sip/refer.js'
import {formatLocalSdp, parseRemoteSdp, sdpCodecsFor} from '../../src/sip/sdp.js'
import {createAudioOffer} from '../../src/sip/sdp-offer-answer.js'
import {acceptAnswerCrypto} from '../../src/sip/sdp-srtp.js'
import {parseSipUri} from '../../src/sip/uri.js'
import type {UserAgent} from '../../src/sip/user-agent.js'
import type {IncomingRefer} from '../../src/sip/user-agent-refer.js'
import type {Call} from '../calls/call.js'
import type {CallRegistry} from '../calls/registry.js'
import {decideTransfer, transferTarget, type TransferRoute} from '../calls/transfer-policy.js'
import {requestUriFor} from './dialer.js'
import {firstOf, remoteOf, telephoneEventFor, type LegReferHandler, type SipLeg} from './sip-leg.js'

/** How long the transferor has to hang up by itself after the final NOTIFY before the gateway sends the BYE. */
export const TRANSFEROR_BYE_GRACE_MS = 2000
const NORMAL_CLEARING = 16

export interface TransferServices {
  readonly ua: UserAgent
  readonly rtpAddress: string
  readonly calls?: CallRegistry
  /** Links the new call's Call-ID to its call before the INVITE leaves (capture correlation); returns the release. */
  readonly linkLeg?: (legCallId: string, callSid: string) => () => void
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The REFER handler of one leg of `call`, under the tenant policy and trunks of `config` (the config the call started with). */
export const referHandlerFor = (services: TransferServices, config: Pick<Config, 'tenants' | 'trunks'>, call: Call, legName: 'a' | 'b'): LegReferHandler => (refer, leg) => {
  const target = transferTarget(refer.target.text)
  const policy = config.tenants.find((tenant) => tenant.id === call.init.tenant)?.transfer
  const decision = target === undefined ? ({ok: false, status: 416, reason: 'Unsupported Refer-To Scheme'} as const) : decideTransfer(policy, target, 'refer')
  if (!decision.ok) {
    refer.reject(decision.status, decision.reason)
    call.transferEvent({refer: 'received', leg: legName, target: refer.target.text, result: 'refused', sip_status: decision.status, reason: decision.reason})
    return
  }
  const timeoutS = policy?.timeout_s ?? 30
  refer.accept({expiresS: timeoutS + 30})
  const work = carryOut(services, config, call, legName, refer, leg, decision.route, timeoutS).catch((error: unknown) => {
    call.log.error({err: error}, 'transfer failed')
    void refer.finish(500, 'Server Internal Error')
  })
  leg.whileTransferring(work)
}

const carryOut = async (services: TransferServices, config: Pick<Config, 'trunks'>, call: Call, legName: 'a' | 'b', refer: IncomingRefer, leg: SipLeg, route: TransferRoute, timeoutS: number): Promise<void> => {
  const log = call.log.child({leg: `${legName}-transfer`})
  const report = (ok: boolean, status: number, reason: string): void => {
    void refer.finish(status, reason)
    call.transferEvent({refer: 'received', leg: legName, target: refer.target.text, result: ok ? 'completed' : 'failed', sip_status: status, reason})
  }
  const trunk = route.kind === 'trunk' ? config.trunks.find((candidate) => candidate.id === route.trunk) : undefined
  const base = route.kind === 'trunk' ? trunk?.outbound?.uri : route.uri
  if (base === undefined) return report(false, 503, 'No Route For Transfer Target')
  const requestUri = route.kind === 'trunk' ? requestUriFor(base, route.number) : base
  const old = leg.call
  if (old === undefined) return report(false, 481, 'Call Does Not Exist')
  // The leg's own stream and codec: the media of the call carries on unchanged once the target answers.
  const local = leg.localAudio
  const [codec] = sdpCodecsFor([leg.media.codec])
  if (codec === undefined) return report(false, 488, 'Not Acceptable Here')
  const encryption = trunk?.media_encryption ?? (leg.encrypted ? 'optional' : 'none')
  const offer = createAudioOffer({address: local.address, port: local.port, codecs: [codec], encryption, telephoneEvent: local.telephoneEventPt ?? false})
  const host = parseSipUri(requestUri).host
  const callId = generateCallId()
  const unlink = services.linkLeg?.(callId, call.sid) ?? (() => {})
  const ourUri = parseNameAddr(old.dialog.localAddress, 'From').uri
  const fromUser = (ourUri.kind === 'sip' ? ourUri.user : ourUri.kind === 'tel' ? ourUri.number : undefined) ?? 'anonymous'
  const replaces = refer.target.replaces
  services.calls?.stage({kind: 'leg.dialing', call_sid: call.sid, leg_call_id: callId, request_uri: requestUri, trunk_id: trunk?.id, at_ms: Date.now(), headers: {}})
  log.info({target: refer.target.text, request_uri: requestUri, trunk: trunk?.id, attended: replaces !== undefined}, 'REFER accepted: calling the transfer target')
  const invite = services.ua.invite({
    callId,
    requestUri,
    from: `<sip:${fromUser}@${services.rtpAddress}>`,
    to: `<sip:${route.kind === 'trunk' ? route.number : (parseSipUri(requestUri).user ?? '')}@${host.includes(':') ? `[${host}]` : host}>`,
    sdp: formatLocalSdp(offer),
    headers: [
      ...(refer.referredBy === undefined ? [] : [['Referred-By', refer.referredBy] as const]),
      ...(replaces === undefined ? [] : [['Replaces', formatReplaces(replaces)] as const, ['Require', 'replaces'] as const]),
    ],
    ...(trunk?.outbound?.auth ? {credentials: trunk.outbound.auth} : {}),
  })
  invite.on('provisional', (info) => void refer.progress(info.status, info.reason))
  const timer = setTimeout(() => invite.cancel(), timeoutS * 1000)
  // The leg ending (the transferor hung up and nothing else holds the call) takes the attempt with it.
  void leg.ended.then(() => invite.cancel())
  const result = await invite.result
  clearTimeout(timer)
  services.calls?.stage({kind: 'leg.dialed', call_sid: call.sid, leg_call_id: callId, status: result.ok ? 200 : result.failure.status, outcome: result.ok ? 'answered' : 'failed', at_ms: Date.now()})
  if (!result.ok) {
    unlink()
    log.info({status: result.failure.status, source: result.failure.source}, 'transfer target not reached; the call stays as it was')
    return report(false, result.failure.status, result.failure.reason)
  }
  const next = result.call
  void next.ended.then(unlink)
  try {
    const remote = parseRemoteSdp(next.remoteSdp ?? Buffer.alloc(0))
    const answered = firstOf(remote, [codec])
    if (answered === undefined) throw new Error(`the transfer target's answer has no ${codec.name}`)
    const srtp = acceptAnswerCrypto(offer.crypto ?? [], remote, encryption)
    if (call.isEnded()) throw new Error('the call ended while the target answered')
    await leg.media.stream.setRemote({...remoteOf(remote, answered, telephoneEventFor(remote, answered), srtp), newParty: true})
    leg.replaceCall(next, offer, srtp !== undefined)
  } catch (error) {
    log.warn({err: error}, 'transfer target answered unusably; hanging it up')
    await next.bye({q850Cause: 65}).catch(() => undefined)
    return report(false, 488, 'Not Acceptable Here')
  }
  report(true, 200, 'OK')
  // RFC 5589 §6: the transferor normally hangs up once it hears of the success; if not, we do.
  await Promise.race([old.ended, delay(TRANSFEROR_BYE_GRACE_MS)])
  if (old.end === undefined) await old.bye({q850Cause: NORMAL_CLEARING}).catch(() => undefined)
}
