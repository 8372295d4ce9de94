// SRTP and SRTCP (RFC 3711) with the two SDES suites of RFC 4568 §6.2:
// AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (AES-128 in counter
// mode, HMAC-SHA1 authentication with an 80- or 32-bit tag on RTP; SRTCP's
// tag is 80 bits with both). node:crypto does the AES and the HMAC; this
// file does the key derivation (§4.3, key derivation rate 0), the IVs
// (§4.1.1), the rollover counter and its estimate (§3.3.1, Appendix A), the
// 64-packet replay window (§3.3.2), and the SRTCP index and E flag (§3.4).
// No MKI, no key lifetime beyond 2^48 packets, one master key per direction.
//
// Per packet, node:crypto's objects cost more than its arithmetic: the AES
// keystreams are made ahead in batches on one ECB cipher per key
// (aes-counter-mode.ts) and the HMAC-SHA1 tags are computed in JavaScript
// from the key's precomputed pad states (hmac-sha1.ts); docs/sip-tls.md,
// "What SRTP costs", has the measurements.
//
// One SrtpSession protects what one stream sends (with our key) and checks
// what it receives (with the peer's key). A packet that fails its tag, is
// replayed or is too short is refused: unprotectRtp/unprotectRtcp return
// undefined and the caller counts it as dropped.
import {AesCounterMode, counterIv, RtpKeystreams} from './aes-counter-mode.js'
import {HmacSha1} from './hmac-sha1.js'

export {AesCounterMode} from './aes-counter-mode.js'

export const SRTP_SUITES = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const
export type SrtpSuite = (typeof SRTP_SUITES)[number]

/** A master key and salt: 16 + 14 octets, the 30 octets of an SDES `inline:` key (RFC 4568 §6.1). */
export const MASTER_KEY_LENGTH = 16
export const MASTER_SALT_LENGTH = 14
export const SDES_KEY_LENGTH = MASTER_KEY_LENGTH + MASTER_SALT_LENGTH

const RTP_HEADER = 12
const RTCP_HEADER = 8
const SRTCP_TAG = 10
const REPLAY_WINDOW = 64

export interface SessionKeys {
  readonly encryption: Buffer
  readonly authentication: Buffer
  readonly salt: Buffer
}

/** `data` encrypted (or decrypted) with AES-CM under `key` and `iv`, in a new buffer. */
const aesCm = (key: Buffer, iv: Buffer, data: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(data.length)
  new AesCounterMode(key).apply(iv, data, out, 0)
  return out
}

/** RFC 3711 §4.3.1 with a key derivation rate of 0: the session key of `label` (0-5), `length` octets. */
export const deriveSessionKey = (masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer => {
  const iv = Buffer.alloc(16)
  masterSalt.copy(iv, 0)
  // key_id = label || r (r = 0): the label lands in octet 7 of the 14-octet salt.
  iv[7] = (iv[7] as number) ^ label
  return aesCm(masterKey, iv, Buffer.alloc(length))
}

/** The session keys of one direction: RTP (labels 0, 1, 2) or RTCP (3, 4, 5). */
export const deriveKeys = (master: Buffer, kind: 'rtp' | 'rtcp'): SessionKeys => {
  if (master.length !== SDES_KEY_LENGTH) throw new RangeError(`an SRTP master key and salt are ${SDES_KEY_LENGTH} octets, not ${master.length}`)
  const key = master.subarray(0, MASTER_KEY_LENGTH)
  const salt = master.subarray(MASTER_KEY_LENGTH)
  const base = kind === 'rtp' ? 0 : 3
  return {
    encryption: deriveSessionKey(key, salt, base, 16),
    authentication: deriveSessionKey(key, salt, base + 1, 20),
    salt: deriveSessionKey(key, salt, base + 2, 14),
  }
}

/** One direction's session keys with the cipher and the HMAC of its keys, kept for the session's life. */
interface Protection {
  readonly salt: Buffer
  readonly cipher: AesCounterMode
  readonly mac: HmacSha1
}
const protection = (master: Buffer, kind: 'rtp' | 'rtcp'): Protection => {
  const keys = deriveKeys(master, kind)
  return {salt: keys.salt, cipher: new AesCounterMode(keys.encryption), mac: new HmacSha1(keys.authentication)}
}

/** A 48-bit packet index as a number (exact: below 2^53). */
const packetIndex = (roc: number, sequence: number): number => roc * 0x10000 + sequence

/**
 * The replay list of §3.3.2: the highest index accepted and a 64-packet
 * bitmap behind it (bit n: index highest − n was accepted), kept as two
 * 32-bit halves.
 */
export class ReplayWindow {
  private highest = -1
  private low = 0
  private high = 0

  /** True when `index` was accepted before or is too old to tell (behind the window). */
  isReplay(index: number): boolean {
    if (this.highest < 0 || index > this.highest) return false
    const behind = this.highest - index
    if (behind >= REPLAY_WINDOW) return true
    return ((behind < 32 ? this.low >>> behind : this.high >>> (behind - 32)) & 1) === 1
  }

  accept(index: number): void {
    if (this.highest < 0 || index - this.highest >= REPLAY_WINDOW) {
      this.low = 1
      this.high = 0
      this.highest = index
      return
    }
    if (index > this.highest) {
      const ahead = index - this.highest
      if (ahead >= 32) {
        this.high = this.low << (ahead - 32)
        this.low = 0
      } else {
        this.high = (this.high << ahead) | (this.low >>> (32 - ahead))
        this.low = this.low << ahead
      }
      this.low = (this.low | 1) >>> 0
      this.high >>>= 0
      this.highest = index
      return
    }
    const behind = this.highest - index
    if (behind < 32) this.low = (this.low | (1 << behind)) >>> 0
    else if (behind < REPLAY_WINDOW) this.high = (this.high | (1 << (behind - 32))) >>> 0
  }
}

const readWord = (octets: Uint8Array, at: number): number =>
  (((octets[at] as number) << 24) | ((octets[at + 1] as number) << 16) | ((octets[at + 2] as number) << 8) | (octets[at + 3] as number)) >>> 0

const rtpHeaderLength = (packet: Uint8Array): number | undefined => {
  if (packet.length < RTP_HEADER || ((packet[0] as number) >> 6) !== 2) return undefined
  let length = RTP_HEADER + 4 * ((packet[0] as number) & 0x0f)
  if (((packet[0] as number) & 0x10) !== 0) {
    if (packet.length < length + 4) return undefined
    length += 4 + 4 * (((packet[length + 2] as number) << 8) | (packet[length + 3] as number))
  }
  return length <= packet.length ? length : undefined
}

/** The receiving state of one SSRC: highest sequence seen, its rollover counter, the replay window. */
interface ReceiveState {
  roc: number
  highest: number
  readonly window: ReplayWindow
}

export class SrtpSession {
  readonly tagLength: number
  private readonly sendRtp: Protection
  private readonly sendRtcp: Protection
  private readonly receiveRtp: Protection
  private readonly receiveRtcp: Protection
  /** The RTP keystreams of each direction, made a few packets ahead. */
  private readonly sendKeystreams: RtpKeystreams
  private readonly receiveKeystreams: RtpKeystreams
  /** Scratch for one RTCP packet's IV (a packet is protected or checked in one synchronous call). */
  private readonly iv = Buffer.alloc(16)
  /** Our rollover counter and last sequence, per SSRC we send (one in practice). */
  private readonly sending = new Map<number, {roc: number; last: number}>()
  private readonly receiving = new Map<number, ReceiveState>()
  private srtcpIndex = 0
  private readonly srtcpReplay = new Map<number, ReplayWindow>()

  /** `localKey`: our master key and salt (what we offered or answered); `remoteKey`: the peer's. */
  constructor(readonly suite: SrtpSuite, localKey: Buffer, remoteKey: Buffer) {
    this.tagLength = suite === 'AES_CM_128_HMAC_SHA1_80' ? 10 : 4
    this.sendRtp = protection(localKey, 'rtp')
    this.sendRtcp = protection(localKey, 'rtcp')
    this.receiveRtp = protection(remoteKey, 'rtp')
    this.receiveRtcp = protection(remoteKey, 'rtcp')
    this.sendKeystreams = new RtpKeystreams(this.sendRtp.cipher, this.sendRtp.salt)
    this.receiveKeystreams = new RtpKeystreams(this.receiveRtp.cipher, this.receiveRtp.salt)
  }

  /** An RTP packet as it goes on the wire: payload encrypted, tag appended. */
  protectRtp(packet: Uint8Array): Buffer {
    const header = rtpHeaderLength(packet)
    if (header === undefined) throw new RangeError('not an RTP packet')
    const ssrc = readWord(packet, 8)
    const sequence = ((packet[2] as number) << 8) | (packet[3] as number)
    let state = this.sending.get(ssrc)
    if (state === undefined) {
      state = {roc: 0, last: sequence}
      this.sending.set(ssrc, state)
    } else {
      // §3.3.1: the sender's ROC grows when the sequence wraps.
      if (sequence < state.last && state.last - sequence > 0x8000) state.roc = (state.roc + 1) >>> 0
      state.last = sequence
    }
    const out = Buffer.allocUnsafe(packet.length + this.tagLength)
    for (let octet = 0; octet < header; octet++) out[octet] = packet[octet] as number
    this.sendKeystreams.apply(ssrc, state.roc, sequence, packet, header, packet.length, out, header)
    this.sendRtp.mac.sign(out, packet.length, state.roc, out, packet.length, this.tagLength)
    return out
  }

  /**
   * The RTP packet inside an SRTP one, or undefined when it is too short, its
   * tag is wrong or it is a replay. An accepted packet is decrypted in the
   * datagram's own octets (the caller owns them and reads only the result):
   * what comes back is a view of `datagram` without its tag.
   */
  unprotectRtp(datagram: Uint8Array): Buffer | undefined {
    const length = datagram.length - this.tagLength
    if (length < RTP_HEADER) return undefined
    const header = rtpHeaderLength(datagram.subarray(0, length))
    if (header === undefined) return undefined
    const ssrc = readWord(datagram, 8)
    const sequence = ((datagram[2] as number) << 8) | (datagram[3] as number)
    const state = this.receiving.get(ssrc)
    // Appendix A: the ROC this packet most probably belongs to.
    let roc = state?.roc ?? 0
    if (state !== undefined) {
      if (state.highest < 0x8000) {
        if (sequence - state.highest > 0x8000) roc = (state.roc - 1) >>> 0
      } else if (state.highest - 0x8000 > sequence) {
        roc = (state.roc + 1) >>> 0
      }
    }
    const index = packetIndex(roc, sequence)
    if (state !== undefined && state.window.isReplay(index)) return undefined
    if (!this.receiveRtp.mac.verify(datagram, length, roc, datagram, length, this.tagLength)) return undefined
    this.receiveKeystreams.apply(ssrc, roc, sequence, datagram, header, length, datagram, header)
    this.accepted(ssrc, state, roc, sequence, index)
    return Buffer.from(datagram.buffer, datagram.byteOffset, length)
  }

  private accepted(ssrc: number, state: ReceiveState | undefined, roc: number, sequence: number, index: number): void {
    if (state === undefined) {
      const window = new ReplayWindow()
      window.accept(index)
      this.receiving.set(ssrc, {roc, highest: sequence, window})
      return
    }
    if (index > packetIndex(state.roc, state.highest)) {
      state.roc = roc
      state.highest = sequence
    }
    state.window.accept(index)
  }

  /** An RTCP compound packet as it goes on the wire (§3.4): encrypted after the first 8 octets, E flag and index, 80-bit tag. */
  protectRtcp(packet: Uint8Array): Buffer {
    if (packet.length < RTCP_HEADER) throw new RangeError('not an RTCP packet')
    const view = Buffer.from(packet.buffer, packet.byteOffset, packet.length)
    const ssrc = view.readUInt32BE(4)
    const index = this.srtcpIndex
    this.srtcpIndex = (this.srtcpIndex + 1) & 0x7fffffff
    const out = Buffer.allocUnsafe(packet.length + 4 + SRTCP_TAG)
    view.copy(out, 0, 0, RTCP_HEADER)
    // §4.1.1 for SRTCP: the 31-bit SRTCP index takes the place of the 48-bit one.
    this.sendRtcp.cipher.apply(counterIv(this.iv, this.sendRtcp.salt, ssrc, index >>> 16, index & 0xffff), view.subarray(RTCP_HEADER), out, RTCP_HEADER)
    out.writeUInt32BE((0x80000000 | index) >>> 0, packet.length)
    this.sendRtcp.mac.sign(out, packet.length + 4, undefined, out, packet.length + 4, SRTCP_TAG)
    return out
  }

  /** The RTCP compound packet inside an SRTCP one, or undefined (too short, wrong tag, replayed). */
  unprotectRtcp(datagram: Uint8Array): Buffer | undefined {
    const length = datagram.length - SRTCP_TAG - 4
    if (length < RTCP_HEADER) return undefined
    const view = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length)
    if (!this.receiveRtcp.mac.verify(view, length + 4, undefined, view, length + 4, SRTCP_TAG)) return undefined
    const word = view.readUInt32BE(length)
    const encrypted = (word & 0x80000000) !== 0
    const index = word & 0x7fffffff
    const ssrc = view.readUInt32BE(4)
    const replay = this.srtcpReplay.get(ssrc)
    if (replay?.isReplay(index) === true) return undefined
    const out = Buffer.allocUnsafe(length)
    view.copy(out, 0, 0, RTCP_HEADER)
    const body = view.subarray(RTCP_HEADER, length)
    if (encrypted) this.receiveRtcp.cipher.apply(counterIv(this.iv, this.receiveRtcp.salt, ssrc, index >>> 16, index & 0xffff), body, out, RTCP_HEADER)
    else body.copy(out, RTCP_HEADER)
    if (replay === undefined) {
      const window = new ReplayWindow()
      window.accept(index)
      this.srtcpReplay.set(ssrc, window)
    } else replay.accept(index)
    return out
  }
}
