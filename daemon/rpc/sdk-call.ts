// call.create: a call the SDK client places through one of its tenant's trunks
// or to a SIP URI, bridged to the client's audio. The client's leg is the
// call's A-leg (direction outbound: the gateway places the B-leg); there is no
// dialplan, so the trace is the RPC's, then the call's rtp.setup and the
// B-leg's sip.setup.
import {randomBytes} from 'node:crypto'
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'
import type {CallStatus} from '../../src/cdr/record.js'
import {CCError} from '../../src/errors.js'
import type {RpcParams} from '../../src/rpc/protocol.js'
import {Q850_NORMAL_CLEARING, Q850_RESOURCE_UNAVAILABLE, Q850_TEMPORARY_FAILURE} from '../../src/sip/q850.js'
import {Call} from '../calls/call.js'
import type {CallLeg, Dialer} from '../calls/leg.js'
import type {CallRegistry} from '../calls/registry.js'
import type {HeaderCarrier} from '../calls/stage-events.js'
import {userOf} from '../sip/inbound.js'
import type {RpcTransport} from './activity.js'
import type {ClientAudio, ClientAudioLeg} from './client-audio.js'


export interface SdkCallServices {
  readonly config: Config
  readonly calls: CallRegistry
  readonly dialer: Dialer
  readonly log: Logger
  readonly isDraining: () => boolean
}

export interface PlacedCall {
  readonly call: Call
  readonly leg: ClientAudioLeg
}

interface Destination {
  readonly trunk: string | undefined
  readonly uri: string | undefined
  readonly to: string
}

/** Where call.create goes: a number through a trunk of the caller's tenant, or a SIP URI. */
const destinationOf = (params: RpcParams<'call.create'>, tenant: string, config: Config): Destination => {
  const invalid = (detail: string) => new CCError('CC_ERR_RPC_INVALID_PARAMS', {method: 'call.create', detail})
  if (/^sips?:/i.test(params.to)) {
    if (params.trunk !== undefined) throw invalid('give either a sip: URI in `to` or a number with `trunk`, not both')
    return {trunk: undefined, uri: params.to, to: userOf(params.to)}
  }
  if (params.trunk === undefined) throw invalid(`"${params.to}" is a number: name the trunk to place it through, or give a sip: URI`)
  // Another tenant's trunk is answered like a missing one: tenants cannot probe each other's config.
  const trunk = config.trunks.find((candidate) => candidate.id === params.trunk && candidate.tenant === tenant)
  if (!trunk) throw invalid(`tenant "${tenant}" has no trunk "${params.trunk}"`)
  if (!trunk.outbound) throw invalid(`trunk "${trunk.id}" has no outbound URI`)
  if (!/^[+\w.*#-]+$/.test(params.to)) throw invalid('to: must be a number or a sip:/sips: URI')
  return {trunk: trunk.id, uri: undefined, to: params.to}
}

const statusOf = (outcome: string): CallStatus => (outcome === 'busy' || outcome === 'no-answer' || outcome === 'canceled' ? outcome : 'failed')

/** Creates the call and its client leg, starts the B-leg in the background, and returns once the call exists. */
export const placeSdkCall = async (
  params: RpcParams<'call.create'>,
  request: {readonly tenant: string; readonly carrier: HeaderCarrier; readonly audio: ClientAudio; readonly transport: RpcTransport},
  services: SdkCallServices,
): Promise<PlacedCall> => {
  if (services.isDraining()) throw new CCError('CC_ERR_DRAINING')
  const destination = destinationOf(params, request.tenant, services.config)
  const call = new Call(
    {
      tenant: request.tenant,
      trunk: destination.trunk ?? 'none',
      direction: 'outbound',
      from: params.from ?? '',
      to: destination.to,
      // No SIP A-leg: an id of the same shape names the call in logs and HEP correlation.
      sipCallId: `sdk-${randomBytes(12).toString('hex')}`,
      transport: request.transport,
      propagation: request.carrier,
    },
    services.calls,
    services.log,
  )
  const rtpStart = Date.now()
  let leg: ClientAudioLeg
  try {
    leg = await request.audio.open(call.sid)
  } catch (error) {
    call.stageDone('rtp.setup', rtpStart, Date.now(), {}, error instanceof Error ? error.message : String(error))
    call.finish({cause: Q850_RESOURCE_UNAVAILABLE, status: 'failed'})
    throw error
  }
  call.stageDone('rtp.setup', rtpStart, Date.now(), leg.setupAttributes)
  leg.onQuality((quality) => call.qualityUpdate(quality))
  void bridge(call, leg, destination, params, services).catch((error: unknown) => {
    call.log.error({err: error}, 'SDK call failed')
    if (!call.isEnded()) call.finish({cause: Q850_TEMPORARY_FAILURE, status: 'failed'})
  })
  return {call, leg}
}

/** Dials the B-leg, relays it to the client's leg, and ends the call when either side ends. */
const bridge = async (call: Call, leg: ClientAudioLeg, destination: Destination, params: RpcParams<'call.create'>, services: SdkCallServices): Promise<void> => {
  let bLeg: CallLeg | undefined
  let requested: number | undefined
  call.onHangupRequest(async (cause) => {
    requested = cause
    // Ending the client leg cancels a B-leg still ringing (the dialer watches the A-leg); an answered one gets a BYE.
    await Promise.all([leg.hangup(cause), bLeg?.hangup(cause)])
  })
  const result = await services.dialer.dial({trunk: destination.trunk, uri: destination.uri, to: destination.to, from: params.from ?? '', timeoutS: params.timeout_s, aLeg: leg, callSid: call.sid, log: call.log})
  call.log.info({outcome: result.outcome, cause: result.cause}, 'SDK call dialed')
  if (result.outcome !== 'answered' || !result.leg) {
    await leg.hangup(result.cause)
    const canceled = requested !== undefined
    call.finish({cause: canceled ? requested! : result.cause, status: canceled ? 'canceled' : statusOf(result.outcome)}, await leg.close())
    return
  }
  bLeg = result.leg
  if (call.isEnded() || requested !== undefined) {
    await bLeg.hangup(requested ?? Q850_NORMAL_CLEARING)
    call.finish({cause: requested ?? Q850_NORMAL_CLEARING, status: 'canceled'}, await leg.close())
    return
  }
  // The far end has answered: billable from now, so the CDR journal records it before the client hears it.
  call.answering(leg.mediaCodec)
  await leg.answer()
  call.answered(leg.mediaCodec)
  leg.media.relayWith(bLeg.media)
  const first = await Promise.race([bLeg.ended.then((ending) => ({side: 'b' as const, ending})), leg.ended.then((ending) => ({side: 'client' as const, ending}))])
  if (first.side === 'client') await bLeg.hangup(first.ending.cause)
  else await leg.hangup(Q850_NORMAL_CLEARING)
  call.finish({cause: first.ending.cause, status: 'completed'}, await leg.close())
}
