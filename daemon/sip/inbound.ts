// An inbound INVITE, from the first packet to the dialplan: route it to a
// trunk and tenant (403/404), check digest credentials (401), negotiate SDP
// (488), open its media stream, create the call, ring, and run the dialplan.
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'
import {DigestServer} from '../../src/sip/digest-server.js'
import {SdpError} from '../../src/sip/sdp.js'
import {Q850_RESOURCE_UNAVAILABLE} from '../../src/sip/q850.js'
import type {Uri} from '../../src/sip/uri.js'
import {answerAudioOffer} from '../../src/sip/sdp-offer-answer.js'
import type {IncomingInvite} from '../../src/sip/user-agent-incoming.js'
import {Call} from '../calls/call.js'
import type {Dialer} from '../calls/leg.js'
import type {CallRegistry} from '../calls/registry.js'
import {dialplanCall} from '../dialplan/call-context.js'
import {runDialplan} from '../dialplan/executor.js'
import {NODE_HANDLERS} from '../dialplan/nodes/index.js'
import type {MediaEngine} from '../media/engine.js'
import type {InboundRouter} from '../trunks/inbound-router.js'
import {StreamMediaEndpoint} from './media-endpoint.js'
import {SipLeg, remoteOf} from './sip-leg.js'

export interface InboundServices {
  readonly config: Config
  readonly router: InboundRouter
  readonly digest: DigestServer
  readonly media: MediaEngine
  readonly calls: CallRegistry
  readonly dialer: Dialer
  readonly recordingsDir: string
  readonly rtpAddress: string
  readonly log: Logger
  readonly isDraining: () => boolean
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

export const handleInbound = async (incoming: IncomingInvite, services: InboundServices): Promise<void> => {
  const log = services.log.child({sip_call_id: incoming.callId})
  if (services.isDraining()) {
    incoming.reject(503, {reason: 'Draining'})
    return
  }
  const calledNumber = userOf(incoming.requestUri)
  const lookupStart = Date.now()
  const route = services.router.route(incoming.source.address, calledNumber)
  const lookupEnd = Date.now()
  if (!route.ok) {
    log.info({source: incoming.source.address, called: calledNumber, status: route.status, reason: route.reason}, 'inbound call refused')
    incoming.reject(route.status, {reason: route.status === 403 ? 'Forbidden' : 'Not Found'})
    return
  }
  if (route.credentials) {
    const check = incoming.verifyDigest(services.digest, route.credentials)
    if (!check.ok) {
      if (check.failure !== 'missing') log.info({failure: check.failure, trunk: route.trunk}, 'digest authentication failed')
      incoming.challenge(services.digest, {stale: check.stale})
      return
    }
  }
  if (!incoming.remoteSdp || incoming.remoteSdp.length === 0) {
    incoming.reject(488, {reason: 'Offer Required'})
    return
  }

  // The offer is checked before anything is allocated: a flood of INVITEs with unusable SDP gets 488/400
  // and never exhausts the RTP ports a real caller needs.
  try {
    answerAudioOffer(incoming.remoteSdp, {address: services.rtpAddress, port: 0})
  } catch (error) {
    const status = error instanceof SdpError ? error.status : 400
    log.info({err: error, status}, 'SDP offer refused')
    incoming.reject(status)
    return
  }

  const call = new Call(
    {
      tenant: route.tenant,
      trunk: route.trunk,
      direction: 'inbound',
      from: userOf(incoming.from.uri),
      to: calledNumber,
      sipCallId: incoming.callId,
      receivedAtMs: incoming.timing.receivedAt,
      propagation: propagationHeaders(incoming),
    },
    services.calls,
    services.log,
  )
  call.stageDone('trunk.lookup', lookupStart, lookupEnd, {'trunk.id': route.trunk, 'sip.source': incoming.source.address, 'sip.called': calledNumber})
  const rtpStart = Date.now()
  let stream
  try {
    stream = await services.media.createStream({callSid: call.sid})
  } catch (error) {
    call.log.error({err: error}, 'no media stream for the call')
    call.stageDone('rtp.setup', rtpStart, Date.now(), {}, error instanceof Error ? error.message : String(error))
    incoming.reject(503, {reason: 'No Media Resources', q850Cause: Q850_RESOURCE_UNAVAILABLE})
    call.finish({cause: Q850_RESOURCE_UNAVAILABLE, status: 'failed'})
    return
  }
  const media = new StreamMediaEndpoint(stream, call.log)
  const answer = answerAudioOffer(incoming.remoteSdp, {address: services.rtpAddress, port: stream.localPort})
  media.codec = answer.codec.name.toUpperCase() === 'PCMA' ? 'PCMA' : 'PCMU'
  await stream.setRemote(remoteOf(answer.remote, answer.codec, answer.telephoneEventPt))
  call.stageDone('rtp.setup', rtpStart, Date.now(), {'rtp.local_port': stream.localPort, 'rtp.codec': answer.codec.name, 'rtp.shard': stream.shard})
  stream.on('quality', (quality) => call.qualityUpdate(quality))

  const leg = SipLeg.inbound(incoming, media, call.log, answer.local, answer.sdp, () => call.answering(answer.codec.name))
  const originalAnswer = leg.answer.bind(leg)
  leg.answer = async () => {
    await originalAnswer()
    call.answered(answer.codec.name)
  }
  call.onHangupRequest((cause) => leg.hangup(cause))
  // Whoever ends the leg (caller's BYE or CANCEL, our hangup), the call ends with the leg's cause and the stream's last figures.
  void leg.ended.then(async (ending) => call.finish(ending, await stream.close().catch(() => stream.quality())))
  incoming.ring()

  const plan = services.config.dialplans[route.dialplan]
  if (!plan) {
    await call.hangup(41)
    return
  }
  await runDialplan(plan, dialplanCall(call, leg, {dialer: services.dialer, recordingsDir: services.recordingsDir}), NODE_HANDLERS, {
    nodeStarted: (nodeId, node) => {
      call.enteredNode(nodeId, node.type)
      call.log.debug({node: nodeId, type: node.type}, 'dialplan node')
    },
    nodeFinished: (nodeId, _node, outcome) => call.leftNode(nodeId, outcome),
  })
}
