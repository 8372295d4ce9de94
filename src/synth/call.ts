// One synthetic call, start to end: INVITE (with one digest retry when
// challenged), the post-dial delays, the answer's codec, the test signal for
// --duration seconds, BYE, the far end's final RTCP report, and the figures.
import {setTimeout as sleep} from 'node:timers/promises'
import {classifyCall, Q850_BEARER_CAPABILITY_NOT_IMPLEMENTED} from '../sip/q850.js'
import {formatLocalSdp, parseRemoteSdp, PCMA, PCMU} from '../sip/sdp.js'
import {createAudioOffer} from '../sip/sdp-offer-answer.js'
import type {SipCall} from '../sip/user-agent-call.js'
import type {UserAgent} from '../sip/user-agent.js'
import type {CallEnd} from '../sip/user-agent-types.js'
import {SynthMedia, type MediaFigures} from './media.js'
import {evaluateCall, type MeasuredCall} from './thresholds.js'
import type {SynthCodec, SynthSettings, SyntheticCallResult, Thresholds} from './types.js'

/**
 * How long after our BYE we listen for the far end's RTCP BYE (its final
 * report about our stream; the gateway's arrives within milliseconds). A far
 * end that sent no RTCP in a call long enough for its first report (RFC 3550:
 * 2.5-7.5 s) likely sends none: for it we wait only briefly.
 */
export const FINAL_REPORT_WAIT_MS = 2000
const NO_RTCP_WAIT_MS = 250
const FIRST_REPORT_DUE_S = 8
/** After the test signal stops, before BYE: echoes and delayed packets still on their way are counted. */
const DRAIN_MS = 60

export interface CallContext {
  readonly ua: UserAgent
  readonly settings: SynthSettings
  readonly thresholds: Thresholds
  readonly localAddress: string
  /** The From URI. */
  readonly from: string
  /** Aborts ringing calls (CANCEL) and ends answered ones early (BYE). */
  readonly signal?: AbortSignal | undefined
}

const round = (value: number, digits = 3): number => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

const since = (start: number | undefined, end: number | undefined): number | null => (start === undefined || end === undefined ? null : round(end - start))

const offeredCodecs = (codec: SynthCodec | undefined) => (codec === undefined ? [PCMU, PCMA] : [codec === 'PCMU' ? PCMU : PCMA])

/** Waits `ms`, or until the call ends or `signal` aborts, whichever comes first; leaves no timer or listener behind. */
const holdFor = (ms: number, call: SipCall, signal: AbortSignal | undefined): Promise<'held' | 'aborted' | CallEnd> =>
  new Promise((resolve) => {
    const done = (value: 'held' | 'aborted' | CallEnd): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(value)
    }
    const onAbort = (): void => done('aborted')
    const timer = setTimeout(() => done('held'), ms)
    if (signal?.aborted === true) return done('aborted')
    signal?.addEventListener('abort', onAbort, {once: true})
    void call.ended.then(done)
  })

interface MediaOutcome {
  readonly figures: MediaFigures | undefined
  readonly durationS: number
  readonly endedBy: 'local' | 'remote' | 'stack'
  readonly interrupted: boolean
  readonly unusable?: string | undefined
}

/** Holds an answered call for the planned duration (or until it ends or the run is aborted), then hangs up. */
const holdCall = async (call: SipCall, media: SynthMedia, context: CallContext): Promise<MediaOutcome> => {
  const answeredAt = call.timing.answeredAt
  try {
    const remote = parseRemoteSdp(call.remoteSdp ?? Buffer.alloc(0))
    const payload = remote.payloads.find((candidate) => ['PCMU', 'PCMA'].includes(candidate.name.toUpperCase()))
    if (payload === undefined) throw new Error(`the answer has no G.711 codec (${remote.payloads.map((candidate) => candidate.name).join(', ') || 'none'})`)
    const codec: SynthCodec = payload.name.toUpperCase() === 'PCMA' ? 'PCMA' : 'PCMU'
    media.start({address: remote.address, rtpPort: remote.port, rtcpPort: remote.rtcpMux ? remote.port : remote.rtcpPort, payloadType: payload.payloadType, codec})
  } catch (error) {
    await call.bye({q850Cause: Q850_BEARER_CAPABILITY_NOT_IMPLEMENTED})
    return {figures: await media.close(), durationS: 0, endedBy: 'local', interrupted: false, unusable: (error as Error).message}
  }
  const outcome = await holdFor(context.settings.durationS * 1000, call, context.signal)
  let endedAt: number
  let endedBy: MediaOutcome['endedBy']
  if (outcome === 'held' || outcome === 'aborted') {
    media.stopSending()
    await sleep(DRAIN_MS)
    endedAt = performance.timeOrigin + performance.now()
    endedBy = 'local'
    await call.bye({q850Cause: 16})
  } else {
    media.stopSending()
    endedAt = outcome.at
    endedBy = outcome.by
  }
  const durationS = Math.max(0, endedAt - answeredAt) / 1000
  await media.farEndFinalReport(media.farEndSentRtcp || durationS < FIRST_REPORT_DUE_S ? FINAL_REPORT_WAIT_MS : NO_RTCP_WAIT_MS)
  return {figures: await media.close(), durationS: round(durationS), endedBy, interrupted: outcome === 'aborted'}
}

/** Places call number `index` (1-based) and measures it; never rejects except when no RTP port can be bound. */
export const placeCall = async (context: CallContext, index: number): Promise<SyntheticCallResult> => {
  const {settings} = context
  const startedAt = new Date().toISOString()
  const media = await SynthMedia.open(context.localAddress)
  const offer = createAudioOffer({address: context.localAddress, port: media.port, codecs: offeredCodecs(settings.codec), telephoneEvent: false, username: 'clutchcall-synth'})
  const invite = context.ua.invite({
    requestUri: settings.target.uri,
    from: `<${context.from}>`,
    to: `<${settings.target.uri}>`,
    sdp: formatLocalSdp(offer),
    headers: settings.headers,
    transport: settings.target.transport,
    ...(settings.credentials === undefined ? {} : {credentials: settings.credentials}),
  })
  let ringTimeout = false
  let noResponse = false
  const giveUp = (): void => {
    // Nothing answered at all: a CANCEL would wait for a provisional response (RFC 3261 §9.1) that may never come.
    if (invite.state === 'calling' || invite.state === 'starting') {
      noResponse = true
      invite.shutdown()
    } else {
      invite.cancel()
    }
  }
  const ringTimer = setTimeout(() => {
    ringTimeout = true
    giveUp()
  }, settings.ringTimeoutS * 1000)
  const onAbort = (): void => giveUp()
  context.signal?.addEventListener('abort', onAbort, {once: true})
  const result = await invite.result
  clearTimeout(ringTimer)
  context.signal?.removeEventListener('abort', onAbort)
  const {timing} = invite

  let measured: MeasuredCall
  let interrupted = false
  if (!result.ok) {
    await media.close()
    const aborted = context.signal?.aborted === true && !ringTimeout
    const failure = noResponse
      ? {...result.failure, status: 408, reason: aborted ? 'Request Timeout (interrupted before any response)' : `Request Timeout (no response within ${settings.ringTimeoutS} s)`, source: 'timeout' as const, canceled: aborted}
      : result.failure
    const classified = classifyCall({answered: false, finalStatus: failure.status, reason: failure.response?.headers.getAll('reason'), canceled: failure.canceled && !ringTimeout, ringTimeout})
    interrupted = aborted
    measured = {
      index,
      callId: invite.callId,
      startedAt,
      sipStatus: failure.status,
      sipReason: failure.reason,
      statusSource: failure.source,
      result: classified.status,
      q850Cause: classified.q850Cause,
      pddMs: since(timing.inviteSentAt, timing.firstProvisionalAt),
      answerMs: null,
      finalMs: since(timing.inviteSentAt, timing.finalAt),
      durationS: 0,
      endedBy: null,
      codec: null,
      rttMs: null,
      audioDelayMs: null,
      inbound: null,
      outbound: null,
    }
  } else {
    const held = await holdCall(result.call, media, context)
    interrupted = held.interrupted
    const {figures} = held
    measured = {
      index,
      callId: invite.callId,
      startedAt,
      // A 2xx answered it; the user agent keeps the call, not the response, and every 2xx to an INVITE is a 200 in practice.
      sipStatus: 200,
      sipReason: 'OK',
      statusSource: 'response',
      result: 'completed',
      q850Cause: result.call.end?.q850Cause ?? 16,
      pddMs: since(timing.inviteSentAt, timing.firstProvisionalAt),
      answerMs: since(timing.inviteSentAt, timing.answeredAt),
      finalMs: since(timing.inviteSentAt, timing.answeredAt),
      durationS: held.durationS,
      endedBy: held.endedBy,
      codec: figures?.codec ?? null,
      rttMs: figures?.rttMs ?? null,
      audioDelayMs: figures?.audioDelayMs ?? null,
      inbound: figures?.inbound ?? null,
      outbound: figures?.outbound ?? null,
    }
    if (held.unusable !== undefined) {
      const failures = [{threshold: 'media' as const, message: `the answer is unusable: ${held.unusable}`}, ...evaluateCall(measured, context.thresholds, settings.durationS, false)]
      return {...measured, passed: false, failures}
    }
  }
  const failures = evaluateCall(measured, context.thresholds, settings.durationS, interrupted)
  return {...measured, passed: failures.length === 0, failures}
}
