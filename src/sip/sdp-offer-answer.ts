// Offer/answer for one audio stream (RFC 3264): our offers, answers to a
// peer's offer, and re-offers (hold, unhold, address change) that keep the
// session id and bump the version.
import {randomInt} from 'node:crypto'
import {answerCrypto, offerCrypto, type MediaEncryption, type SrtpKeys} from './sdp-srtp.js'
import {DEFAULT_AUDIO_CODECS, DEFAULT_PTIME, DEFAULT_TELEPHONE_EVENT_PT, formatLocalSdp, parseRemoteSdp, SdpError, type LocalAudioSdp, type RemoteAudioSdp, type SdpCodec, type SdpDirection} from './sdp.js'

const DEFAULT_USERNAME = 'clutchcall'

// Below 2^31 so that a long call's version increments never leave the safe-integer range.
const newSessionId = (): string => String(randomInt(1, 2 ** 31))

export interface AudioOfferOptions {
  address: string
  port: number
  direction?: SdpDirection
  /** Preference order; default PCMU then PCMA. */
  codecs?: readonly SdpCodec[]
  /** RFC 4733 payload type, or false for no DTMF events; default 101. */
  telephoneEvent?: number | false
  ptime?: number
  username?: string
  /** SRTP (RFC 4568 SDES): `optional` offers crypto lines on RTP/AVP, `required` on RTP/SAVP; default none. */
  encryption?: MediaEncryption
}

/** Our initial offer. Format it with formatLocalSdp; keep it for re-offers. */
export const createAudioOffer = (options: AudioOfferOptions): LocalAudioSdp => {
  const sessionId = newSessionId()
  const crypto = offerCrypto(options.encryption ?? 'none')
  return {
    username: options.username ?? DEFAULT_USERNAME,
    sessionId,
    sessionVersion: sessionId,
    address: options.address,
    port: options.port,
    protocol: crypto.protocol,
    ...(crypto.crypto.length === 0 ? {} : {crypto: crypto.crypto}),
    direction: options.direction ?? 'sendrecv',
    codecs: options.codecs ?? DEFAULT_AUDIO_CODECS,
    telephoneEventPt: options.telephoneEvent === false ? undefined : (options.telephoneEvent ?? DEFAULT_TELEPHONE_EVENT_PT),
    ptime: options.ptime ?? DEFAULT_PTIME,
    rejected: [],
  }
}

/** The next version of our SDP with some fields changed (RFC 3264 §8: same id, version + 1). */
export const createReoffer = (previous: LocalAudioSdp, changes: Partial<Pick<LocalAudioSdp, 'direction' | 'address' | 'port' | 'codecs' | 'telephoneEventPt' | 'ptime'>>): LocalAudioSdp => ({
  ...previous,
  ...changes,
  sessionVersion: String(BigInt(previous.sessionVersion) + 1n),
})

/** The direction a party holding the call offers: it stops receiving (RFC 3264 §8.4). */
export const holdDirection = (direction: SdpDirection): SdpDirection =>
  direction === 'sendrecv' || direction === 'sendonly' ? 'sendonly' : 'inactive'

/**
 * RFC 3264 §6.1: we send only if the peer receives and we want to send; we
 * receive only if the peer sends and we want to receive. So sendonly gets
 * recvonly, recvonly gets sendonly, inactive gets inactive.
 */
export const answerDirection = (offered: SdpDirection, wanted: SdpDirection = 'sendrecv'): SdpDirection => {
  const weSend = (offered === 'sendrecv' || offered === 'recvonly') && (wanted === 'sendrecv' || wanted === 'sendonly')
  const weReceive = (offered === 'sendrecv' || offered === 'sendonly') && (wanted === 'sendrecv' || wanted === 'recvonly')
  if (weSend && weReceive) return 'sendrecv'
  if (weSend) return 'sendonly'
  return weReceive ? 'recvonly' : 'inactive'
}

/** Opus is one codec whatever the channel count a peer writes (RFC 7587 §7 asks for /2; some write none). */
export const sameCodec = (offered: Pick<SdpCodec, 'name' | 'clockRate' | 'channels'>, supported: Pick<SdpCodec, 'name' | 'clockRate' | 'channels'>): boolean =>
  offered.name.toLowerCase() === supported.name.toLowerCase() &&
  offered.clockRate === supported.clockRate &&
  (offered.name.toLowerCase() === 'opus' || (offered.channels ?? 1) === (supported.channels ?? 1))

export interface AudioAnswerOptions {
  address: string
  port: number
  /** Codecs we can handle; default PCMU and PCMA. */
  codecs?: readonly SdpCodec[]
  /** What we want (e.g. sendonly while we hold); default sendrecv. */
  direction?: SdpDirection
  ptime?: number
  username?: string
  /** Our SDP so far in this dialog, when answering a re-offer. */
  previous?: LocalAudioSdp
  /** What SRTP the offer must or may bring (sdp-srtp.ts); default none. */
  encryption?: MediaEncryption
}

export interface AudioAnswer {
  readonly local: LocalAudioSdp
  readonly sdp: string
  readonly remote: RemoteAudioSdp
  /** The codec both sides use, with the offer's payload type. */
  readonly codec: SdpCodec
  /** The offer's telephone-event payload type, when accepted. */
  readonly telephoneEventPt?: number | undefined
  /** The SRTP keys of the stream, when the answer turns SRTP on. */
  readonly srtp?: SrtpKeys | undefined
}

/**
 * Answers a peer's offer with one codec: the first in the offer's order that
 * we support, using the offer's payload type, plus telephone-event when the
 * offer has it at the same clock rate. Other media lines are rejected in
 * place. Throws SdpError (488 for no audio, no common codec or an SRTP
 * offer the encryption policy refuses, 400 for malformed).
 */
export const answerAudioOffer = (offer: string | Buffer, options: AudioAnswerOptions): AudioAnswer => {
  const remote = parseRemoteSdp(offer)
  const supported = options.codecs ?? DEFAULT_AUDIO_CODECS
  const codec = remote.payloads.find((offered) => offered.name.toLowerCase() !== 'telephone-event' && supported.some((ours) => sameCodec(offered, ours)))
  const ours = codec === undefined ? undefined : supported.find((candidate) => sameCodec(codec, candidate))
  if (codec === undefined) {
    const offered = remote.payloads.map((payload) => `${payload.name}/${payload.clockRate}`).join(', ') || 'none known'
    throw new SdpError('no-common-codec', `no codec in common (offered: ${offered})`)
  }
  const telephoneEventPt = remote.payloads.find((payload) => payload.name.toLowerCase() === 'telephone-event' && payload.clockRate === codec.clockRate)?.payloadType
  const previous = options.previous
  const crypto = answerCrypto(remote, options.encryption ?? 'none', previous?.crypto)
  const draft: LocalAudioSdp = {
    username: previous?.username ?? options.username ?? DEFAULT_USERNAME,
    sessionId: previous?.sessionId ?? newSessionId(),
    sessionVersion: previous?.sessionVersion ?? '1',
    address: options.address,
    port: options.port,
    protocol: crypto.protocol,
    ...(crypto.crypto === undefined ? {} : {crypto: [crypto.crypto]}),
    direction: answerDirection(remote.direction, options.direction),
    // Our own fmtp where we have one (Opus: what we play and capture), else the offer's.
    codecs: [{payloadType: codec.payloadType, name: codec.name, clockRate: codec.clockRate, channels: codec.channels, fmtp: ours?.fmtp ?? codec.fmtp}],
    telephoneEventPt,
    ptime: options.ptime ?? DEFAULT_PTIME,
    rejected: remote.otherMedia,
  }
  // The version only moves when the description changes (RFC 3264 §8).
  const unchanged = previous !== undefined && formatLocalSdp(draft) === formatLocalSdp(previous)
  const local = previous === undefined || unchanged ? draft : {...draft, sessionVersion: String(BigInt(previous.sessionVersion) + 1n)}
  return {local, sdp: formatLocalSdp(local), remote, codec, telephoneEventPt, ...(crypto.keys === undefined ? {} : {srtp: crypto.keys})}
}
