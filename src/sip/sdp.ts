// SDP for the gateway's audio (RFC 4566, RFC 3551) through sdp-transform:
// our own description (LocalAudioSdp) and what we need from a peer's
// (RemoteAudioSdp). Offer/answer rules live in sdp-offer-answer.ts.
import {isIP} from 'node:net'
import * as sdpTransform from 'sdp-transform'
import {isOpusBitrate} from '../media/opus.js'

export type SdpDirection = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive'

export interface SdpCodec {
  readonly payloadType: number
  /** Encoding name as in a=rtpmap, e.g. PCMU, telephone-event. */
  readonly name: string
  readonly clockRate: number
  /** Audio channels; 1 when absent. */
  readonly channels?: number | undefined
  readonly fmtp?: string | undefined
}

export const PCMU: SdpCodec = {payloadType: 0, name: 'PCMU', clockRate: 8000}
export const PCMA: SdpCodec = {payloadType: 8, name: 'PCMA', clockRate: 8000}
/** G.722: static payload type 9, and its RTP clock is 8000 although it samples at 16 kHz (RFC 3551 §4.5.2). */
export const G722: SdpCodec = {payloadType: 9, name: 'G722', clockRate: 8000}
/** The dynamic payload type of our Opus offers (the one browsers use). */
export const OPUS_PAYLOAD_TYPE = 111
/**
 * Opus per RFC 7587 §7: always opus/48000/2 in a=rtpmap. Our fmtp says we
 * play and capture wideband (16 kHz): media is decoded at most at 16 kHz here.
 */
export const OPUS: SdpCodec = {payloadType: OPUS_PAYLOAD_TYPE, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'maxplaybackrate=16000;sprop-maxcapturerate=16000'}
export const DEFAULT_AUDIO_CODECS: readonly SdpCodec[] = [PCMU, PCMA]

/** The codec names a config lists (rtp.codecs, trunks[].codecs). */
export type AudioCodecName = 'PCMU' | 'PCMA' | 'G722' | 'opus'
const BY_NAME: Readonly<Record<AudioCodecName, SdpCodec>> = {PCMU, PCMA, G722, opus: OPUS}

/** The SDP entries of configured codec names, in their order. */
export const sdpCodecsFor = (names: readonly AudioCodecName[]): SdpCodec[] => names.map((name) => BY_NAME[name])

/** The configured name of an SDP codec (case-insensitive, as encoding names are), when it is one we speak. */
export const audioCodecName = (codec: Pick<SdpCodec, 'name' | 'clockRate'>): AudioCodecName | undefined => {
  const name = codec.name.toLowerCase()
  if (name === 'pcmu' && codec.clockRate === 8000) return 'PCMU'
  if (name === 'pcma' && codec.clockRate === 8000) return 'PCMA'
  if (name === 'g722' && codec.clockRate === 8000) return 'G722'
  if (name === 'opus' && codec.clockRate === 48000) return 'opus'
  return undefined
}
export const DEFAULT_TELEPHONE_EVENT_PT = 101
export const DEFAULT_PTIME = 20

/** Static audio payload types (RFC 3551 §6) that may appear without a=rtpmap. */
const STATIC_PAYLOADS: Readonly<Record<number, Omit<SdpCodec, 'payloadType'>>> = {
  0: {name: 'PCMU', clockRate: 8000},
  3: {name: 'GSM', clockRate: 8000},
  4: {name: 'G723', clockRate: 8000},
  5: {name: 'DVI4', clockRate: 8000},
  6: {name: 'DVI4', clockRate: 16000},
  7: {name: 'LPC', clockRate: 8000},
  8: {name: 'PCMA', clockRate: 8000},
  9: {name: 'G722', clockRate: 8000},
  10: {name: 'L16', clockRate: 44100, channels: 2},
  11: {name: 'L16', clockRate: 44100},
  12: {name: 'QCELP', clockRate: 8000},
  13: {name: 'CN', clockRate: 8000},
  14: {name: 'MPA', clockRate: 90000},
  15: {name: 'G728', clockRate: 8000},
  16: {name: 'DVI4', clockRate: 11025},
  17: {name: 'DVI4', clockRate: 22050},
  18: {name: 'G729', clockRate: 8000},
}

export type SdpErrorCode = 'malformed' | 'no-audio' | 'no-common-codec'

/** A remote SDP we cannot use. `status` is what to answer an INVITE carrying it with. */
export class SdpError extends Error {
  readonly code: SdpErrorCode
  readonly status: 400 | 488

  constructor(code: SdpErrorCode, message: string) {
    super(message)
    this.name = 'SdpError'
    this.code = code
    this.status = code === 'malformed' ? 400 : 488
  }
}

/** A media line other than the one audio stream we use; kept so an answer or re-offer can reject it in place. */
export interface RejectedMedia {
  readonly index: number
  readonly type: string
  readonly protocol: string
  readonly formats: string
}

/** Everything needed to write our SDP, and to write the next version of it. */
/** One `a=crypto` line (RFC 4568 §9.1): tag, crypto-suite, key parameters, session parameters. */
export interface SdpCrypto {
  readonly tag: number
  readonly suite: string
  /** `inline:KEY[|lifetime][|MKI:length]`, one or more separated by `;`. */
  readonly keyParams: string
  readonly sessionParams?: string | undefined
}

export interface LocalAudioSdp {
  readonly username: string
  /** Digits; fits a safe integer. */
  readonly sessionId: string
  readonly sessionVersion: string
  readonly address: string
  readonly port: number
  readonly protocol: string
  readonly direction: SdpDirection
  /** Audio codecs in preference order, with the payload types to send. */
  readonly codecs: readonly SdpCodec[]
  readonly telephoneEventPt?: number | undefined
  readonly ptime: number
  /** SDES crypto lines (RFC 4568) of the audio stream: our offers, or the one we answer with. */
  readonly crypto?: readonly SdpCrypto[] | undefined
  /** Media lines rejected with port 0, at their positions (answers and re-offers only). */
  readonly rejected: readonly RejectedMedia[]
}

export interface RemoteAudioSdp {
  /** Where to send RTP; 0.0.0.0 (or ::) when the peer holds the old way. */
  readonly address: string
  readonly port: number
  readonly protocol: string
  /** Known payloads in the peer's order: static types by number, dynamic ones by a=rtpmap. */
  readonly payloads: readonly SdpCodec[]
  readonly telephoneEventPt?: number | undefined
  readonly ptime?: number | undefined
  /** The peer's direction; c=0.0.0.0 counts as not receiving (RFC 3264 §8.4). */
  readonly direction: SdpDirection
  readonly onHold: boolean
  readonly rtcpAddress: string
  readonly rtcpPort: number
  readonly rtcpMux: boolean
  /** The audio stream's `a=crypto` lines, in order (RFC 4568). */
  readonly crypto: readonly SdpCrypto[]
  readonly sessionId: string
  readonly sessionVersion: string
  /** Position of the audio line among the m= lines. */
  readonly mediaIndex: number
  /** Every other m= line, for answering with them rejected. */
  readonly otherMedia: readonly RejectedMedia[]
}

// RTP/SAVP: SRTP with SDES keys (RFC 4568); whether it is acceptable is the caller's policy (sdp-srtp.ts).
const SUPPORTED_PROTOCOLS = new Set(['RTP/AVP', 'RTP/SAVP'])
const DIRECTIONS = new Set<string>(['sendrecv', 'sendonly', 'recvonly', 'inactive'])
const LINE = /^[a-z]=[^\r\n]*$/
const ORIGIN = /^o=(\S+) (\d{1,20}) (\d{1,20}) IN IP[46] (\S+)$/m
const MEDIA = /^m=[a-z]+ \d{1,5}(?:\/\d+)? \S+(?: \S+)+$/

const malformed = (message: string): SdpError => new SdpError('malformed', `malformed SDP: ${message}`)

const checkLines = (text: string): void => {
  const lines = text.split(/\r?\n/).filter((line) => line !== '')
  if (lines[0] !== 'v=0') throw malformed('does not start with v=0')
  for (const line of lines) {
    if (!LINE.test(line)) throw malformed(`bad line ${JSON.stringify(line.slice(0, 40))}`)
    if (line.startsWith('m=') && !MEDIA.test(line)) throw malformed(`bad media line ${JSON.stringify(line)}`)
  }
  if (!lines.some((line) => line.startsWith('m='))) throw malformed('no media line')
}

const payloadsOf = (media: sdpTransform.MediaDescription): SdpCodec[] => {
  const formats = String(media.payloads ?? '').split(' ').filter((format) => format !== '')
  return formats.flatMap((format): SdpCodec[] => {
    const payloadType = Number(format)
    if (!/^\d{1,3}$/.test(format) || payloadType > 127) throw malformed(`bad RTP payload type ${format}`)
    const fmtp = media.fmtp.find((entry) => entry.payload === payloadType)?.config
    const rtpmap = media.rtp.find((entry) => entry.payload === payloadType)
    const known = rtpmap === undefined || rtpmap.rate === undefined ? STATIC_PAYLOADS[payloadType] : undefined
    if (rtpmap !== undefined && rtpmap.rate !== undefined) {
      const channels = rtpmap.encoding === undefined ? undefined : Number(rtpmap.encoding)
      return [{payloadType, name: rtpmap.codec, clockRate: rtpmap.rate, ...(channels === undefined ? {} : {channels}), ...(fmtp === undefined ? {} : {fmtp})}]
    }
    return known === undefined ? [] : [{payloadType, ...known, ...(fmtp === undefined ? {} : {fmtp})}]
  })
}

const isUsableAudio = (media: sdpTransform.MediaDescription): boolean => media.type === 'audio' && media.port !== 0 && SUPPORTED_PROTOCOLS.has(media.protocol)

const heldDirection = (direction: SdpDirection): SdpDirection => {
  if (direction === 'sendrecv') return 'sendonly'
  if (direction === 'recvonly') return 'inactive'
  return direction
}

/** Reads the first usable audio stream (RTP/AVP, port not 0) of a peer's SDP. Throws SdpError. */
export const parseRemoteSdp = (sdp: string | Buffer): RemoteAudioSdp => {
  const text = typeof sdp === 'string' ? sdp : sdp.toString('utf8')
  checkLines(text)
  const origin = ORIGIN.exec(text)
  if (origin === null) throw malformed('bad or missing o= line')
  const session = sdpTransform.parse(text)
  const mediaIndex = session.media.findIndex(isUsableAudio)
  const media = session.media[mediaIndex]
  if (media === undefined) throw new SdpError('no-audio', 'the SDP has no usable RTP/AVP or RTP/SAVP audio stream')
  const rtcpMux = media.rtcpMux !== undefined
  const rtcpPort = media.rtcp?.port
  if (rtcpPort !== undefined && (!Number.isInteger(rtcpPort) || rtcpPort < 1 || rtcpPort > 65_535)) throw malformed('a=rtcp port out of range')
  // Without a=rtcp or rtcp-mux, RTCP goes to the next port (RFC 3550 §11), which must exist.
  if (media.port > (rtcpPort === undefined && !rtcpMux ? 65_534 : 65_535)) throw malformed(`audio port ${media.port} out of range`)
  const connection = media.connection ?? session.connection
  if (connection === undefined || isIP(connection.ip) === 0) throw malformed('no valid c= address for the audio stream')
  const payloads = payloadsOf(media)
  const direction = (media.direction ?? session.direction ?? 'sendrecv') as SdpDirection
  if (!DIRECTIONS.has(direction)) throw malformed(`unknown direction ${direction}`)
  const onHold = connection.ip === '0.0.0.0' || connection.ip === '::'
  const ptime = media.ptime ?? (session as {ptime?: number}).ptime
  return {
    address: connection.ip,
    port: media.port,
    protocol: media.protocol,
    payloads,
    telephoneEventPt: payloads.find((payload) => payload.name.toLowerCase() === 'telephone-event')?.payloadType,
    ptime,
    direction: onHold ? heldDirection(direction) : direction,
    onHold,
    rtcpAddress: media.rtcp?.address ?? connection.ip,
    rtcpPort: rtcpPort ?? (rtcpMux ? media.port : media.port + 1),
    rtcpMux,
    crypto: (media.crypto ?? []).map((line) => ({tag: line.id, suite: line.suite, keyParams: line.config, ...(line.sessionConfig === undefined ? {} : {sessionParams: line.sessionConfig})})),
    sessionId: origin[2] as string,
    sessionVersion: origin[3] as string,
    mediaIndex,
    otherMedia: session.media.flatMap((other, index) => (index === mediaIndex ? [] : [{index, type: other.type, protocol: other.protocol, formats: String(other.payloads ?? '')}])),
  }
}

const ipVersion = (address: string): 4 | 6 => (isIP(address) === 6 ? 6 : 4)

/**
 * The telephone-event lines of our SDP: one per RTP clock among our codecs, in
 * their order (RFC 4733 §2.1: events count ticks of the audio's clock, so an
 * offer of Opus and PCMU needs telephone-event/48000 and /8000 for DTMF to
 * survive whichever the peer picks). The first clock gets `telephoneEventPt`,
 * each further one the lowest dynamic payload type nothing else uses.
 */
export const telephoneEventsOf = (local: Pick<LocalAudioSdp, 'codecs' | 'telephoneEventPt'>): SdpCodec[] => {
  if (local.telephoneEventPt === undefined) return []
  const clocks = [...new Set(local.codecs.map((codec) => codec.clockRate))]
  if (clocks.length === 0) clocks.push(8000)
  const taken = new Set([...local.codecs.map((codec) => codec.payloadType), local.telephoneEventPt])
  return clocks.map((clockRate, index) => {
    let payloadType = local.telephoneEventPt as number
    if (index > 0) {
      payloadType = 96
      while (taken.has(payloadType) && payloadType < 127) payloadType++
      taken.add(payloadType)
    }
    return {payloadType, name: 'telephone-event', clockRate, fmtp: '0-16'}
  })
}

/**
 * An Opus receiver's `maxaveragebitrate` (RFC 7587 §6.1) from its fmtp, in
 * bit/s; undefined when absent, not a plain integer, or outside 6000–510000
 * (such a value is ignored, as if not given).
 */
export const opusMaxAverageBitrate = (fmtp: string | undefined): number | undefined => {
  const value = /(?:^|;)\s*maxaveragebitrate\s*=\s*(\d{1,7})\s*(?:;|$)/i.exec(fmtp ?? '')?.[1]
  if (value === undefined) return undefined
  const bitrate = Number(value)
  return isOpusBitrate(bitrate) ? bitrate : undefined
}

/**
 * Writes our SDP: one audio stream, plus any rejected streams at their
 * positions. By hand rather than through sdp-transform's writer, which walks
 * its whole grammar for every line and cost 4 % of the SIP thread at 400
 * call setups a second; the text is the same, line for line and octet for
 * octet (test/unit/src/sip/sdp-format.test.ts checks it against sdp-transform):
 * v o s c t, then per stream m, rtpmap, fmtp, crypto, ptime, direction.
 */
export const formatLocalSdp = (local: LocalAudioSdp): string => {
  const codecs = [...local.codecs, ...telephoneEventsOf(local)]
  const ipVer = ipVersion(local.address)
  let audio = `m=audio ${local.port} ${local.protocol} ${codecs.map((codec) => codec.payloadType).join(' ')}\r\n`
  for (const codec of codecs) audio += `a=rtpmap:${codec.payloadType} ${codec.name}/${codec.clockRate}${codec.channels === undefined || codec.channels === 1 ? '' : `/${codec.channels}`}\r\n`
  for (const codec of codecs) if (codec.fmtp !== undefined) audio += `a=fmtp:${codec.payloadType} ${codec.fmtp}\r\n`
  for (const line of local.crypto ?? []) audio += `a=crypto:${line.tag} ${line.suite} ${line.keyParams}${line.sessionParams === undefined ? '' : ` ${line.sessionParams}`}\r\n`
  audio += `a=ptime:${Number(local.ptime)}\r\na=${local.direction}\r\n`
  const media = [audio]
  for (const rejected of [...local.rejected].sort((a, b) => a.index - b.index)) media.splice(rejected.index, 0, `m=${rejected.type} 0 ${rejected.protocol} ${rejected.formats}\r\n`)
  return `v=0\r\no=${local.username} ${local.sessionId} ${Number(local.sessionVersion)} IN IP${ipVer} ${local.address}\r\ns=-\r\nc=IN IP${ipVer} ${local.address}\r\nt=0 0\r\n${media.join('')}`
}
