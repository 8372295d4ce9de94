// SDES key exchange (RFC 4568) in the offer/answer of one audio stream, and
// the media_encryption policy of a trunk:
//  - `none`: plain RTP. Offers carry no crypto. An RTP/SAVP offer is refused
//    (488), and crypto lines in an RTP/AVP offer are ignored (we answer
//    plain RTP).
//  - `optional`: SRTP when the peer wants it. Our offers are RTP/AVP with
//    crypto lines (the "best effort" offer: a peer without SRTP ignores them),
//    and an answer without crypto means plain RTP. We accept offers with or
//    without crypto.
//  - `required`: SRTP or no call. Our offers are RTP/SAVP with crypto lines,
//    and an answer without a usable crypto line fails the call. An offer
//    without one gets 488.
// Supported: AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32, one
// `inline:` key per line, with or without a lifetime; lines with an MKI or
// with session parameters (UNENCRYPTED_SRTP and the like) are skipped.
import {randomBytes} from 'node:crypto'
import {SDES_KEY_LENGTH, SRTP_SUITES, type SrtpSuite} from '../media/srtp.js'
import {SdpError, type RemoteAudioSdp, type SdpCrypto} from './sdp.js'

export const MEDIA_ENCRYPTION = ['none', 'optional', 'required'] as const
export type MediaEncryption = (typeof MEDIA_ENCRYPTION)[number]

/** What the media stream needs to run SRTP: the suite, our master key and salt, the peer's. */
export interface SrtpKeys {
  readonly suite: SrtpSuite
  readonly localKey: Uint8Array
  readonly remoteKey: Uint8Array
}

const isSuite = (suite: string): suite is SrtpSuite => (SRTP_SUITES as readonly string[]).includes(suite)

/** The master key and salt of an `inline:` key parameter we can use, or undefined (MKI, several keys, bad base64, wrong length). */
export const inlineKey = (line: SdpCrypto): Buffer | undefined => {
  if (line.sessionParams !== undefined && line.sessionParams.trim() !== '') return undefined
  const match = /^inline:([A-Za-z0-9+/]+={0,2})(?:\|(?:2\^\d{1,2}|\d+))?$/.exec(line.keyParams.trim())
  if (match === null) return undefined
  const key = Buffer.from(match[1] as string, 'base64')
  return key.length === SDES_KEY_LENGTH ? key : undefined
}

const cryptoLine = (tag: number, suite: SrtpSuite, key: Buffer): SdpCrypto => ({tag, suite, keyParams: `inline:${key.toString('base64')}`})

/** The first crypto line of an offer we support, as `[their line, their key]`. */
const firstUsable = (crypto: readonly SdpCrypto[]): [SdpCrypto & {suite: SrtpSuite}, Buffer] | undefined => {
  for (const line of crypto) {
    const key = inlineKey(line)
    if (key !== undefined && isSuite(line.suite)) return [line as SdpCrypto & {suite: SrtpSuite}, key]
  }
  return undefined
}

export interface CryptoAnswer {
  /** The m= protocol of our answer: the offer's. */
  readonly protocol: string
  /** Our crypto line (the offer's tag and suite, our key), when SRTP is on. */
  readonly crypto?: SdpCrypto
  readonly keys?: SrtpKeys
}

/**
 * How we answer `remote`'s offer under `policy`. Throws SdpError (488) when
 * the policy and the offer cannot agree. `previous` is our answer's crypto
 * in this dialog so far: a re-offer of the same suite keeps our key.
 */
export const answerCrypto = (remote: RemoteAudioSdp, policy: MediaEncryption, previous?: readonly SdpCrypto[]): CryptoAnswer => {
  const savp = remote.protocol === 'RTP/SAVP'
  if (policy === 'none') {
    if (savp) throw new SdpError('no-common-codec', 'the offer is RTP/SAVP (SRTP) and media_encryption is none')
    return {protocol: remote.protocol}
  }
  const usable = firstUsable(remote.crypto)
  if (usable === undefined) {
    // RTP/SAVP cannot run without keys; RTP/AVP may, unless SRTP is required.
    if (savp || policy === 'required') {
      const offered = remote.crypto.map((line) => line.suite).join(', ') || 'none'
      throw new SdpError('no-common-codec', `no usable SRTP crypto line (offered: ${offered}; supported: ${SRTP_SUITES.join(', ')} with one inline key)`)
    }
    return {protocol: remote.protocol}
  }
  const [theirs, remoteKey] = usable
  const kept = previous?.find((line) => line.suite === theirs.suite)
  const localKey = (kept === undefined ? undefined : inlineKey(kept)) ?? randomBytes(SDES_KEY_LENGTH)
  return {protocol: remote.protocol, crypto: cryptoLine(theirs.tag, theirs.suite, localKey), keys: {suite: theirs.suite, localKey, remoteKey}}
}

export interface CryptoOffer {
  /** RTP/SAVP when SRTP is required, else RTP/AVP. */
  readonly protocol: 'RTP/AVP' | 'RTP/SAVP'
  /** One line per suite, each with its own key; empty for `none`. */
  readonly crypto: readonly SdpCrypto[]
}

/** Our offer's protocol and crypto lines under `policy`. */
export const offerCrypto = (policy: MediaEncryption): CryptoOffer => {
  if (policy === 'none') return {protocol: 'RTP/AVP', crypto: []}
  return {protocol: policy === 'required' ? 'RTP/SAVP' : 'RTP/AVP', crypto: SRTP_SUITES.map((suite, index) => cryptoLine(index + 1, suite, randomBytes(SDES_KEY_LENGTH)))}
}

/**
 * The SRTP keys once the peer answered our `offer`: the answer's crypto line
 * must carry one of our tags with its suite. Undefined means plain RTP
 * (allowed unless `required`); throws SdpError when SRTP was required and the
 * answer has none, or when an answer's crypto line matches nothing we offered.
 */
export const acceptAnswerCrypto = (offered: readonly SdpCrypto[], answer: RemoteAudioSdp, policy: MediaEncryption): SrtpKeys | undefined => {
  const line = answer.crypto[0]
  if (line === undefined || offered.length === 0) {
    if (policy === 'required') throw new SdpError('no-common-codec', 'the answer has no SRTP crypto line and media_encryption is required')
    return undefined
  }
  const ours = offered.find((candidate) => candidate.tag === line.tag && candidate.suite === line.suite)
  const remoteKey = inlineKey(line)
  const localKey = ours === undefined ? undefined : inlineKey(ours)
  if (ours === undefined || remoteKey === undefined || localKey === undefined || !isSuite(line.suite)) {
    throw new SdpError('no-common-codec', `the answer's crypto line ${line.tag} ${line.suite} matches none we offered, or its key is unusable`)
  }
  return {suite: line.suite, localKey, remoteKey}
}
