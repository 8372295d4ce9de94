// What a call answers to a re-INVITE when the application gives no answer
// of its own: for a session refresh (same o= version as the peer's last SDP,
// RFC 3264 §8) our current SDP unchanged; for a changed offer (hold,
// unhold) our current SDP with the direction answering the offer's
// (RFC 3264 §6.1, §8.4) and the o= version bumped.
import * as sdpTransform from 'sdp-transform'
import {parseRemoteSdp, SdpError, type SdpDirection} from './sdp.js'
import {answerDirection} from './sdp-offer-answer.js'

const ORIGIN = /^o=\S+ (\d+) (\d+) /m

/** The o= session id and version of an SDP, or undefined when it has none. */
export const sdpOrigin = (sdp: Buffer | string): {sessionId: string; sessionVersion: string} | undefined => {
  const match = ORIGIN.exec(typeof sdp === 'string' ? sdp : sdp.toString('utf8'))
  return match === null ? undefined : {sessionId: match[1] as string, sessionVersion: match[2] as string}
}

/** Same o= id and version: the peer re-sent its description, nothing changed (RFC 3264 §8). */
export const isSameSdpVersion = (previous: Buffer | undefined, next: Buffer): boolean => {
  if (previous === undefined) return false
  const before = sdpOrigin(previous)
  const after = sdpOrigin(next)
  return before !== undefined && after !== undefined && before.sessionId === after.sessionId && before.sessionVersion === after.sessionVersion
}

/**
 * Our current SDP answering a changed offer: the audio direction follows
 * the offer's, the codec must still be offered (else SdpError 488).
 */
export const reanswerWithCurrentSdp = (current: Buffer, offer: Buffer): Buffer => {
  const remote = parseRemoteSdp(offer)
  const ours = parseRemoteSdp(current)
  const codec = ours.payloads.find((payload) => payload.name.toLowerCase() !== 'telephone-event')
  const offered = codec !== undefined && remote.payloads.some((payload) => payload.name.toLowerCase() === codec.name.toLowerCase() && payload.clockRate === codec.clockRate)
  if (!offered) throw new SdpError('no-common-codec', `the re-offer drops our codec ${codec?.name ?? '(none)'}`)
  const session = sdpTransform.parse(current.toString('utf8'))
  const audio = session.media[ours.mediaIndex]
  const wanted: SdpDirection = 'sendrecv'
  const direction = answerDirection(remote.direction, wanted)
  if (audio === undefined || (audio.direction ?? session.direction ?? 'sendrecv') === direction) return current
  audio.direction = direction
  delete session.direction
  session.origin = {...(session.origin as NonNullable<typeof session.origin>), sessionVersion: Number(ours.sessionVersion) + 1}
  return Buffer.from(sdpTransform.write(session))
}
