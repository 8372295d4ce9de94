// An inbound INVITE, from the first packet to the dialplan: route it to a
// trunk and tenant (403/404), check digest credentials (401), negotiate SDP
// (488), open its media stream, create the call, ring, and run the dialplan.
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'
import {DigestServer} from '../../src/sip/digest-server.js'
import {audioCodecName, SdpError, sdpCodecsFor} from '../../src/sip/sdp.js'
import {NO_TRUNK} from '../../src/cdr/record.js'
import {Q850_RESOURCE_UNAVAILABLE, sipStatusToQ850} from '../../src/sip/q850.js'
import type {Uri} from '../../src/sip/uri.js'
import {answerAudioOffer} from '../../src/sip/sdp-offer-answer.js'
import type {IncomingInvite} from '../../src/sip/user-agent-incoming.js'
import {Call} from '../calls/call.js'
import type {Dialer} from '../calls/leg.js'
import {NO_TENANT, type RefusalReason} from '../calls/refusals.js'
import type {CallRegistry} from '../calls/registry.js'
import {dialplanCall} from '../dialplan/call-context.js'
import {runDialplan} from '../dialplan/executor.js'
import {NODE_HANDLERS} from '../dialplan/nodes/index.js'
import type {MediaEngine} from '../media/engine.js'
import type {SipGuard} from '../security/sip-guard.js'
import type {InboundRoute, InboundRouter, KnownSource} from '../trunks/inbound-router.js'
import {StreamMediaEndpoint} from './media-endpoint.js'
import {replaceDialog} from './replaces.js'
import {SipLeg, remoteOf} from './sip-leg.js'
import {referHandlerFor, type TransferServices} from './transfer.js'

export interface InboundServices {
  readonly config: Config
  readonly router: InboundRouter
  /** Told of each digest failure, so a source that keeps guessing gets banned. */
  readonly guard: Pick<SipGuard, 'authFailed'>
  readonly digest: DigestServer
  readonly media: MediaEngine
  readonly calls: CallRegistry
  readonly dialer: Dialer
  /** What a transfer's new call is placed with (REFERs received, docs/sip-transfer.md). */
  readonly transfers: TransferServices
  readonly recordingsDir: string
  readonly rtpAddress: string
  readonly log: Logger
  readonly isDraining: () => boolean
  /** Set while the SIP thread is overloaded or holds its most dialogs: new INVITEs get 503 with this Retry-After (seconds). */
  readonly admissionLimit: () => {reason: 'overload' | 'dialog_limit'; retryAfterS: number} | undefined
}

/** The number of a party: the user part of a SIP URI, or a tel: URI's number. */
export const userOf = (uri: Uri | string): string => {
  if (typeof uri === 'string') return /^(?:sips?:)?([^@;>:]+)@/.exec(uri)?.[1] ?? ''
  if (uri.kind === 'sip') return uri.user ?? ''
  if (uri.kind === 'tel') return uri.number
  return ''
}

/** The W3C trace context headers of an INVITE (a caller's trace this call continues), when present. */
const propagationHeaders = (incoming: IncomingInvite): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const name of ['traceparent', 'tracestate']) {
    const value = incoming.request.headers.get(name)
    if (value !== undefined) headers[name] = value
  }
  return headers
}

interface Refusal {
  readonly reason: RefusalReason
  readonly status: number
  /** The reason phrase of the response, when not the default one. */
  readonly phrase?: string
  /** A Q.850 cause sent in a Reason header, which then is the call's cause; otherwise the status's RFC 3398 cause. */
  readonly q850Cause?: number
  /** The tenant and trunk the attempt is attributed to: only then is it recorded as a call. */
  readonly known: KnownSource | undefined
  /** When the trunk lookup ran (for its span). */
  readonly lookup?: {readonly startMs: number; readonly endMs: number}
  readonly headers?: ReadonlyArray<readonly [string, string]>
}

/**
 * Refuses an INVITE and accounts for it. Every refusal is counted by reason. One from a known source
 * is also a failed call (CHANNEL_CREATE, CHANNEL_HANGUP_COMPLETE, CDR, trace); one from an unknown
 * source is only counted, so a scanner's flood cannot grow the CDR table (docs/call-accounting.md).
 */
const refuse = (incoming: IncomingInvite, services: InboundServices, refusal: Refusal): void => {
  incoming.reject(refusal.status, {
    ...(refusal.phrase === undefined ? {} : {reason: refusal.phrase}),
    ...(refusal.q850Cause === undefined ? {} : {q850Cause: refusal.q850Cause}),
    ...(refusal.headers === undefined ? {} : {headers: refusal.headers}),
  })
  const {known} = refusal
  if (!known) {
    services.calls.refused({reason: refusal.reason, status: refusal.status, tenant_id: NO_TENANT, trunk_id: NO_TRUNK})
    return
  }
  const call = newInboundCall(incoming, services, known)
  services.calls.refused({reason: refusal.reason, status: refusal.status, tenant_id: known.tenant, trunk_id: known.trunk, call_sid: call.sid})
  if (refusal.lookup) lookupDone(call, incoming, known.trunk, refusal.lookup)
  refuseCall(call, refusal)
}

/** Ends a call that was refused before its dialplan ran: failed, with the status's cause and no media. */
const refuseCall = (call: Call, refusal: Pick<Refusal, 'reason' | 'status' | 'q850Cause'>): void => {
  call.log.info({reason: refusal.reason, status: refusal.status}, 'inbound call refused')
  call.sipFinal(refusal.status)
  call.finish({cause: refusal.q850Cause ?? sipStatusToQ850(refusal.status), status: 'failed'})
}

const newInboundCall = (incoming: IncomingInvite, services: InboundServices, known: KnownSource, to = userOf(incoming.requestUri)): Call =>
  new Call(
    {
      tenant: known.tenant,
      trunk: known.trunk,
      direction: 'inbound',
      from: userOf(incoming.from.uri),
      to,
      sipCallId: incoming.callId,
      receivedAtMs: incoming.timing.receivedAt,
      propagation: propagationHeaders(incoming),
    },
    services.calls,
    services.log,
  )

const lookupDone = (call: Call, incoming: IncomingInvite, trunk: string, lookup: {readonly startMs: number; readonly endMs: number}): void =>
  call.stageDone('trunk.lookup', lookup.startMs, lookup.endMs, {'trunk.id': trunk, 'sip.source': incoming.source.address, 'sip.called': userOf(incoming.requestUri)})

/**
 * What a routed INVITE's trunk asks of its source beyond the address: a verified TLS client
 * certificate (403) and digest credentials (401 challenge; a wrong answer counts toward a ban).
 * Whether the source is known now, or undefined when the INVITE has been answered here.
 */
export const checkTrunkCredentials = (incoming: IncomingInvite, services: InboundServices, route: Extract<InboundRoute, {ok: true}>, lookup: {readonly startMs: number; readonly endMs: number}, log: Logger): boolean | undefined => {
  const known: KnownSource = {tenant: route.tenant, trunk: route.trunk}
  const context = incoming.transaction.context
  if (services.config.trunks.find((trunk) => trunk.id === route.trunk)?.inbound?.require_client_cert === true && !(context.transport === 'tls' && context.peerVerified === true)) {
    log.info({trunk: route.trunk, transport: context.transport, source: incoming.source.address}, 'inbound call refused: the trunk requires a verified TLS client certificate')
    refuse(incoming, services, {reason: 'auth_failed', status: 403, phrase: 'Client Certificate Required', known: route.sourceKnown ? known : undefined, lookup})
    return undefined
  }
  // A credential-only trunk knows its caller once the digest checks out, not before.
  const sourceKnown = route.sourceKnown
  if (route.credentials) {
    const check = incoming.verifyDigest(services.digest, route.credentials)
    if (!check.ok) {
      incoming.challenge(services.digest, {stale: check.stale})
      // No credentials yet (or a stale nonce) is the ordinary first round of digest, not a refusal.
      if (check.failure !== 'missing' && !check.stale) {
        log.info({failure: check.failure, trunk: route.trunk}, 'digest authentication failed')
        services.guard.authFailed(incoming.source.address)
        services.calls.refused({reason: 'auth_failed', status: 401, tenant_id: sourceKnown ? known.tenant : NO_TENANT, trunk_id: sourceKnown ? known.trunk : NO_TRUNK})
      }
      return undefined
    }
    return true
  }
  return sourceKnown
}

export const handleInbound = async (incoming: IncomingInvite, services: InboundServices): Promise<void> => {
  const log = services.log.child({sip_call_id: incoming.callId})
  const calledNumber = userOf(incoming.requestUri)
  const lookupStart = Date.now()
  const route = services.router.route(incoming.source.address, calledNumber, userOf(incoming.to.uri))
  const lookup = {startMs: lookupStart, endMs: Date.now()}
  // Not a new call: an existing one changes party (taken while draining or overloaded too).
  if (incoming.replaces !== undefined) return replaceDialog(incoming, incoming.replaces, services, route, lookup, log)
  if (!route.ok) {
    log.info({source: incoming.source.address, called: calledNumber, status: route.status, reason: route.reason}, 'inbound call refused')
    const reason = route.status === 403 ? 'unknown_source' : 'no_route'
    refuse(incoming, services, {reason, status: route.status, phrase: route.status === 403 ? 'Forbidden' : 'Not Found', known: route.known, lookup})
    return
  }
  const known: KnownSource = {tenant: route.tenant, trunk: route.trunk}
  const sourceKnown = checkTrunkCredentials(incoming, services, route, lookup, log)
  if (sourceKnown === undefined) return
  const attributed = sourceKnown ? known : undefined
  if (services.isDraining()) {
    refuse(incoming, services, {reason: 'draining', status: 503, phrase: 'Draining', known: attributed, lookup})
    return
  }
  const limit = services.admissionLimit()
  if (limit !== undefined) {
    refuse(incoming, services, {reason: limit.reason, status: 503, phrase: limit.reason === 'overload' ? 'Overloaded' : 'Too Many Calls', known: attributed, lookup, headers: [['Retry-After', String(limit.retryAfterS)]]})
    return
  }
  if (!incoming.remoteSdp || incoming.remoteSdp.length === 0) {
    refuse(incoming, services, {reason: 'no_offer', status: 488, phrase: 'Offer Required', known: attributed, lookup})
    return
  }

  // The offer is checked before anything is allocated: a flood of INVITEs with unusable SDP gets 488/400
  // and never exhausts the RTP ports a real caller needs.
  const trunkConfig = services.config.trunks.find((trunk) => trunk.id === route.trunk)
  const encryption = trunkConfig?.media_encryption ?? 'none'
  const codecs = sdpCodecsFor(trunkConfig?.codecs ?? services.config.rtp.codecs)
  try {
    answerAudioOffer(incoming.remoteSdp, {address: services.rtpAddress, port: 0, encryption, codecs})
  } catch (error) {
    const status = error instanceof SdpError ? error.status : 400
    log.info({err: error, status}, 'SDP offer refused')
    refuse(incoming, services, {reason: status === 400 ? 'bad_sdp' : 'no_common_codec', status, known: attributed, lookup})
    return
  }

  const call = newInboundCall(incoming, services, known, route.called)
  lookupDone(call, incoming, route.trunk, lookup)
  const rtpStart = Date.now()
  let stream
  try {
    stream = await services.media.createStream({callSid: call.sid})
  } catch (error) {
    call.log.error({err: error}, 'no media stream for the call')
    call.stageDone('rtp.setup', rtpStart, Date.now(), {}, error instanceof Error ? error.message : String(error))
    const refusal = {reason: 'no_media_ports', status: 503, q850Cause: Q850_RESOURCE_UNAVAILABLE} as const
    incoming.reject(refusal.status, {reason: 'No Media Resources', q850Cause: refusal.q850Cause})
    services.calls.refused({reason: refusal.reason, status: refusal.status, tenant_id: known.tenant, trunk_id: known.trunk, call_sid: call.sid})
    refuseCall(call, refusal)
    return
  }
  const media = new StreamMediaEndpoint(stream, call.log)
  const answer = answerAudioOffer(incoming.remoteSdp, {address: services.rtpAddress, port: stream.localPort, encryption, codecs})
  media.codec = audioCodecName(answer.codec) ?? 'PCMU'
  await stream.setRemote(remoteOf(answer.remote, answer.codec, answer.telephoneEventPt, answer.srtp))
  if (answer.srtp !== undefined) call.log.info({suite: answer.srtp.suite}, 'media is SRTP')
  call.stageDone('rtp.setup', rtpStart, Date.now(), {'rtp.local_port': stream.localPort, 'rtp.codec': answer.codec.name, 'rtp.shard': stream.shard})
  stream.on('quality', (quality) => call.qualityUpdate(quality))

  const leg = SipLeg.inbound(incoming, media, call.log, answer.local, answer.sdp, () => call.answering(answer.codec.name))
  leg.callSid = call.sid
  const originalAnswer = leg.answer.bind(leg)
  leg.answer = async () => {
    await originalAnswer()
    call.answered(answer.codec.name)
  }
  call.onHangupRequest((cause) => leg.hangup(cause))
  // Whoever ends the leg (caller's BYE or CANCEL, our hangup), the call ends with the leg's cause and the stream's last figures.
  void leg.ended.then(async (ending) => {
    if (ending.sipStatus !== undefined) call.sipFinal(ending.sipStatus)
    call.finish(ending, await stream.close().catch(() => stream.quality()))
  })
  incoming.ring()

  const plan = services.config.dialplans[route.dialplan]
  if (!plan) {
    await call.hangup(41)
    return
  }
  // REFERs on the call's legs are decided by the tenant's transfer policy of the config the call started with.
  const acceptTransfers = (target: unknown, name: 'a' | 'b'): void => {
    if (target instanceof SipLeg) target.enableTransfers(referHandlerFor(services.transfers, services.config, call, name))
  }
  acceptTransfers(leg, 'a')
  const transferPolicy = services.config.tenants.find((tenant) => tenant.id === known.tenant)?.transfer
  await runDialplan(plan, dialplanCall(call, leg, {dialer: services.dialer, recordingsDir: services.recordingsDir, transferPolicy, acceptTransfers}), NODE_HANDLERS, {
    nodeStarted: (nodeId, node) => {
      call.enteredNode(nodeId, node.type)
      call.log.debug({node: nodeId, type: node.type}, 'dialplan node')
    },
    nodeFinished: (nodeId, _node, outcome) => call.leftNode(nodeId, outcome),
  })
}
