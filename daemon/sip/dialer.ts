// Places B-legs for bridge nodes: to a trunk's outbound URI (with its digest
// credentials) or to a SIP URI, with a ring timeout, in the A-leg's media
// shard so media can be relayed without leaving the thread.
import type {Logger} from 'pino'
import type {Config, Trunk} from '../../src/config/schema.js'
import {generateCallId} from '../../src/sip/ids.js'
import {SipDnsError} from '../../src/sip/dns/errors.js'
import {classifyCall, Q850_BEARER_CAPABILITY_NOT_IMPLEMENTED, Q850_NO_ROUTE_TO_DESTINATION} from '../../src/sip/q850.js'
import type {SipTarget} from '../../src/sip/transport/types.js'
import {formatLocalSdp, parseRemoteSdp, sdpCodecsFor, type AudioCodecName} from '../../src/sip/sdp.js'
import {createAudioOffer} from '../../src/sip/sdp-offer-answer.js'
import {acceptAnswerCrypto, type SrtpKeys} from '../../src/sip/sdp-srtp.js'
import {formatUri, parseSipUri} from '../../src/sip/uri.js'
import type {UserAgent} from '../../src/sip/user-agent.js'
import type {DialOutcome, DialRequest, DialResult, Dialer} from '../calls/leg.js'
import type {CallRegistry} from '../calls/registry.js'
import type {HeaderCarrier} from '../calls/stage-events.js'
import type {MediaEngine} from '../media/engine.js'
import {StreamMediaEndpoint} from './media-endpoint.js'
import {firstOf, remoteOf, SipLeg, telephoneEventFor} from './sip-leg.js'
import {ALWAYS_UP, type TrunkRouting} from '../trunks/trunk-monitor.js'

export interface DialerServices {
  readonly ua: UserAgent
  readonly media: MediaEngine
  readonly config: Config
  readonly rtpAddress: string
  readonly log: Logger
  /** Links the B-leg's Call-ID to its call before the INVITE leaves (capture correlation); returns the release for when the leg has ended. */
  readonly linkLeg?: (bLegCallId: string, callSid: string) => () => void
  /** Where the B-leg's stages are published (its subscribers may add headers, e.g. `traceparent`, to the INVITE). */
  readonly calls?: CallRegistry
  /** Which trunks a call for a trunk tries, in order (keepalive and failover); default: the trunk alone, always up. */
  readonly routing?: TrunkRouting
}

/** Q.850 34, no circuit/channel available: every trunk of the call is down. */
export const Q850_NO_CIRCUIT = 34

/** INVITE answers that send a new call on to the next trunk of its failover list (RFC 3261 §21.5.4, §21.4.9; local: timeout, transport error). */
const FAILOVER_STATUSES = new Set([503, 408])

interface Attempt {
  readonly result: DialResult
  /** The trunk failed the call in a way the next trunk may not (503, 408, no answer at all, unreachable). */
  readonly failover: boolean
}

/** The Request-URI for a number: the trunk's (or node's) URI with the number as its user part. */
export const requestUriFor = (baseUri: string, number: string): string => {
  const uri = parseSipUri(baseUri)
  if (number !== '') uri.user = number
  return formatUri(uri)
}

/** What of a config places a call: its trunks, and the codecs offered when the trunk names none. */
type DialerConfig = Pick<Config, 'trunks'> & {readonly rtp?: Pick<Config['rtp'], 'codecs'>}

export class SipDialer implements Dialer {
  constructor(private readonly services: DialerServices) {}

  /** The user agent the legs are placed with (transfers place theirs with it too). */
  get ua(): UserAgent {
    return this.services.ua
  }

  /** Dials with `services.config`'s trunks. */
  dial(request: DialRequest): Promise<DialResult> {
    return this.dialWith(this.services.config, request)
  }

  /**
   * A dialer bound to one config's trunks: a call keeps the trunks of the config it started with,
   * so a reload that changes or removes a trunk does not change the calls in progress.
   */
  withConfig(config: DialerConfig): Dialer {
    return {dial: (request) => this.dialWith(config, request)}
  }

  /**
   * A call for a trunk tries it, then its failover trunks in order (docs/sip-trunks.md): down trunks
   * are skipped, and a 503, a 408, a timeout or an unreachable trunk moves the call on to the next
   * one, within the one ring timeout, while the caller is still there and no trunk has sent early
   * media to the caller yet.
   */
  private async dialWith(config: DialerConfig, request: DialRequest): Promise<DialResult> {
    // The call's own logger carries call_sid and trace_id already.
    const log = request.log ? request.log.child({leg: 'b'}) : this.services.log.child({call_sid: request.callSid, leg: 'b'})
    const deadlineMs = Date.now() + request.timeoutS * 1000
    if (request.trunk === undefined) return (await this.attempt(config, undefined, request, log, deadlineMs)).result
    const plan = (this.services.routing ?? ALWAYS_UP).plan(request.trunk, config.trunks)
    if (plan.trunks.length === 0) {
      if (plan.skipped.length === 0) return (await this.attempt(config, undefined, request, log, deadlineMs)).result
      log.warn({trunk_id: request.trunk, down: plan.skipped}, 'B-leg not placed: every trunk of the call is down')
      return {outcome: 'failed', cause: Q850_NO_CIRCUIT}
    }
    if (plan.skipped.length > 0) log.info({trunk_id: request.trunk, down: plan.skipped, using: plan.trunks[0]?.id}, 'down trunks skipped')
    let callerLeft = false
    void request.aLeg.ended.then(() => (callerLeft = true))
    for (let index = 0; ; index++) {
      const trunk = plan.trunks[index] as Trunk
      const next = plan.trunks[index + 1]
      const attempt = await this.attempt(config, trunk, request, log, deadlineMs)
      if (!attempt.failover || next === undefined || callerLeft || Date.now() >= deadlineMs) return attempt.result
      log.info({trunk_id: trunk.id, next_trunk_id: next.id}, 'trunk failed the call; trying the next trunk')
    }
  }

  /** One INVITE to one trunk (or, without one, to the request's URI), within the call's ring deadline. */
  private async attempt(config: DialerConfig, trunk: Trunk | undefined, request: DialRequest, log: Logger, deadlineMs: number): Promise<Attempt> {
    const {ua, media, rtpAddress} = this.services
    const base = trunk?.outbound?.uri ?? request.uri
    if (base === undefined) return {result: {outcome: 'failed', cause: 3}, failover: false}
    const requestUri = requestUriFor(base, request.to)
    const aStream = request.aLeg.media instanceof StreamMediaEndpoint ? request.aLeg.media.stream : undefined
    const rtpStart = Date.now()
    const stream = await media.createStream({callSid: request.callSid, ...(aStream ? {shardHint: aStream.shard} : {})})
    const encryption = trunk?.media_encryption ?? 'none'
    const aCodec = request.aLeg.media instanceof StreamMediaEndpoint ? request.aLeg.media.codec : undefined
    const codecs = sdpCodecsFor(offerOrder(trunk?.codecs ?? config.rtp?.codecs ?? this.services.config.rtp.codecs, aCodec))
    const offer = createAudioOffer({address: rtpAddress, port: stream.localPort, encryption, codecs})
    const host = parseSipUri(requestUri).host
    const callId = generateCallId()
    const unlink = this.services.linkLeg?.(callId, request.callSid) ?? noop
    const calls = this.services.calls
    const headers: HeaderCarrier = {}
    calls?.stage({kind: 'leg.dialing', call_sid: request.callSid, leg_call_id: callId, request_uri: requestUri, trunk_id: trunk?.id, at_ms: Date.now(), headers})
    const extraHeaders = Object.entries(headers)
    const dialed = (status: number, outcome: string, error?: string): void =>
      calls?.stage({kind: 'leg.dialed', call_sid: request.callSid, leg_call_id: callId, status, outcome, at_ms: Date.now(), ...(error === undefined ? {} : {error})})
    // The B-leg's RTP setup: stream created … remote address (from the answer) set, or the answer found unusable.
    const rtpSetup = (codec: string | undefined, error?: string): void =>
      calls?.stage({
        kind: 'stage',
        call_sid: request.callSid,
        stage: 'rtp.setup',
        start_ms: rtpStart,
        end_ms: Date.now(),
        attributes: {'sip.leg': 'b', 'sip.call_id': callId, 'rtp.local_port': stream.localPort, ...(codec === undefined ? {} : {'rtp.codec': codec}), 'rtp.shard': stream.shard},
        ...(error === undefined ? {} : {error}),
      })
    const invite = ua.invite({
      callId,
      requestUri,
      from: `<sip:${request.from || 'anonymous'}@${rtpAddress}>`,
      to: `<sip:${request.to}@${host.includes(':') ? `[${host}]` : host}>`,
      sdp: formatLocalSdp(offer),
      ...(extraHeaders.length > 0 ? {headers: extraHeaders} : {}),
      ...(trunk?.outbound?.auth ? {credentials: trunk.outbound.auth} : {}),
    })
    // The B-leg's media endpoint: relayed early when the callee sends early media, kept for the answered leg.
    const endpoint = new StreamMediaEndpoint(stream, log)
    // earlyMedia: the caller was handed the B-leg's early media (once); earlyRemote: the stream plays the current target's.
    let earlyMedia = false
    let earlyRemote = false
    invite.on('provisional', (info) => {
      if (earlyRemote || info.sdp === undefined || request.onEarlyMedia === undefined) return
      earlyRemote = true
      const onEarlyMedia = request.onEarlyMedia
      void (async () => {
        try {
          const remote = parseRemoteSdp(info.sdp as Buffer)
          const codec = firstOf(remote, codecs)
          if (!codec) throw new Error('the early media SDP has none of the codecs offered')
          const early = remoteOf(remote, codec, telephoneEventFor(remote, codec))
          endpoint.codec = early.codec
          await stream.setRemote(early)
          log.info({status: info.status, codec: codec.name}, 'B-leg early media')
          if (!earlyMedia && (invite.state === 'calling' || invite.state === 'proceeding')) {
            earlyMedia = true
            onEarlyMedia(endpoint)
          }
        } catch (error) {
          log.warn({err: error}, 'B-leg early media unusable; ignored')
        }
      })()
    })
    invite.on('failover', (event) => {
      // The next target's early media (if any) replaces the last one's on the same relayed stream.
      earlyRemote = false
      log.warn({from: targetText(event.from), next: targetText(event.next), reason: event.reason, error: event.error?.message, request_uri: requestUri}, 'B-leg target failed; trying the next one (RFC 3263)')
    })
    let ringTimeout = false
    const timer = setTimeout(() => {
      ringTimeout = true
      invite.cancel()
    }, Math.max(0, deadlineMs - Date.now()))
    // A caller who gives up while the B-leg rings takes the B-leg attempt with them.
    void request.aLeg.ended.then(() => invite.cancel())
    const result = await invite.result
    clearTimeout(timer)
    if (!result.ok) {
      unlink()
      await stream.close().catch(() => undefined)
      const {failure} = result
      const dnsError = failure.error instanceof SipDnsError ? failure.error : undefined
      const {status, q850Cause} = classifyCall({
        answered: false,
        finalStatus: failure.source === 'response' ? failure.status : undefined,
        reason: failure.response?.headers.getAll('reason'),
        canceled: failure.canceled && !ringTimeout,
        ringTimeout,
        // A name without records can never be reached: no route (3); DNS servers that fail are a temporary failure (41, from the 503).
        ...(dnsError?.permanent === true ? {cause: Q850_NO_ROUTE_TO_DESTINATION} : {}),
      })
      const targets = invite.targetsTried
      if (dnsError !== undefined) {
        log.warn({status: failure.status, outcome: status, q850_cause: q850Cause, request_uri: requestUri, dns_failure: dnsError.kind, host: dnsError.host, error: dnsError.message}, 'B-leg not sent: DNS resolution failed')
      } else if (failure.source === 'transport-error') {
        // The INVITE never reached the callee: say why (a refused TLS certificate names itself here).
        log.warn({status: failure.status, outcome: status, q850_cause: q850Cause, request_uri: requestUri, targets_tried: targets, error: failure.error?.message}, 'B-leg could not be sent')
      } else {
        log.info({status: failure.status, source: failure.source, outcome: status, q850_cause: q850Cause, targets_tried: targets}, 'B-leg not answered')
      }
      const outcome: DialOutcome = status === 'completed' ? 'failed' : status
      const why = dnsError !== undefined ? dnsError.message : failure.source === 'transport-error' ? `B-leg could not be sent: ${failure.error?.message ?? failure.status}` : undefined
      // The stream was opened for nothing: its setup ends unanswered, without a remote (and before the leg's final, under the same parent).
      rtpSetup(undefined, outcome === 'failed' ? (why ?? `B-leg failed with ${failure.status}`) : undefined)
      dialed(failure.status, outcome, why)
      // Early media already reached the caller from this trunk: another trunk cannot take over that call.
      const failover = trunk !== undefined && !ringTimeout && !failure.canceled && !earlyMedia && FAILOVER_STATUSES.has(failure.status)
      return {result: {outcome, cause: q850Cause}, failover}
    }
    const call = result.call
    dialed(200, 'answered')
    let codecName: string | undefined
    let srtp: SrtpKeys | undefined
    try {
      const remote = parseRemoteSdp(call.remoteSdp ?? Buffer.alloc(0))
      const codec = firstOf(remote, codecs)
      if (!codec) throw new Error('the answer has none of the codecs offered')
      codecName = codec.name
      srtp = acceptAnswerCrypto(offer.crypto ?? [], remote, encryption)
      const answered = remoteOf(remote, codec, telephoneEventFor(remote, codec), srtp)
      endpoint.codec = answered.codec
      await stream.setRemote(answered)
      if (srtp !== undefined) log.info({suite: srtp.suite}, 'B-leg media is SRTP')
    } catch (error) {
      rtpSetup(codecName, error instanceof Error ? error.message : String(error))
      log.warn({err: error}, 'B-leg answer unusable; hanging it up')
      await call.bye({q850Cause: Q850_BEARER_CAPABILITY_NOT_IMPLEMENTED}).catch(() => undefined)
      unlink()
      await stream.close().catch(() => undefined)
      return {result: {outcome: 'failed', cause: Q850_BEARER_CAPABILITY_NOT_IMPLEMENTED}, failover: false}
    }
    rtpSetup(codecName)
    const leg = SipLeg.outbound(call, endpoint, log, offer, srtp !== undefined)
    leg.callSid = request.callSid
    void leg.ended.then(() => {
      unlink()
      return stream.close().catch(() => undefined)
    })
    return {result: {outcome: 'answered', leg, cause: 16}, failover: false}
  }
}

const noop = (): void => {}

const targetText = (target: SipTarget): string => `${target.transport}:${target.address.includes(':') ? `[${target.address}]` : target.address}:${target.port}`

/**
 * A B-leg's offer: the trunk's codecs in its order, except that the A-leg's
 * codec goes first when the trunk has it, so a callee that takes it leaves
 * nothing to transcode.
 */
export const offerOrder = (codecs: readonly AudioCodecName[], aLegCodec: AudioCodecName | undefined): AudioCodecName[] =>
  aLegCodec !== undefined && codecs.includes(aLegCodec) ? [aLegCodec, ...codecs.filter((codec) => codec !== aLegCodec)] : [...codecs]
