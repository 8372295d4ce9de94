// SRTP and SRTCP (RFC 3711) with the two SDES suites of RFC 4568 §6.2:
// AES_CM_128_HMAC_SHA1_80 and AES_CM_128_HMAC_SHA1_32 (AES-128 in counter
// mode, HMAC-SHA1 authentication with an 80- or 32-bit tag on RTP; SRTCP's
// tag is 80 bits with both). node:crypto does the AES and the HMAC; this
// file does the key derivation (§4.3, key derivation rate 0), the IVs
// (§4.1.1), the rollover counter and its estimate (§3.3.1, Appendix A), the
// 64-packet replay window (§3.3.2), and the SRTCP index and E flag (§3.4).
// No MKI, no key lifetime beyond 2^48 packets, one master key per direction.
//
// Per packet, node:crypto costs most when it builds objects: a new AES-CTR
// cipher per packet took about as long as the UDP send. Each session key
// therefore keeps one AES-ECB cipher for its life, and a packet's keystream
// is that cipher's encryption of the packet's counter blocks (which is what
// counter mode is); the HMAC is still one createHmac per packet, as Node has
// no way to reset one (docs/sip-tls.md, "What SRTP costs").
//
// One SrtpSession protects what one stream sends (with our key) and checks
// what it receives (with the peer's key). A packet that fails its tag, is
// replayed or is too short is refused: unprotectRtp/unprotectRtcp return
// undefined and the caller counts it as dropped.
import {type Cipher, createCipheriv, createHmac, timingSafeEqual} from 'node:crypto'

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

/**
 * AES-128 in counter mode as SRTP uses it (§4.1.1): keystream block j is
 * AES(key, IV + j), and an SRTP IV's low 16 bits are always 0, so block j's
 * counter is the IV with j in its last two octets. One ECB cipher per key
 * encrypts the counter blocks of every packet (OpenSSL's ECB without padding
 * returns each full block at once and keeps no state between calls).
 */
export class AesCounterMode {
  private readonly ecb: Cipher
  private counters = Buffer.alloc(0)

  constructor(key: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', key, null)
    this.ecb.setAutoPadding(false)
  }

  /** `input` XOR the keystream of `iv`, written into `output` from `offset` (the two may be the same octets). */
  apply(iv: Buffer, input: Uint8Array, output: Buffer, offset: number): void {
    const blocks = Math.ceil(input.length / 16)
    if (blocks === 0) return
    if (this.counters.length < blocks * 16) this.counters = Buffer.alloc(Math.max(blocks, 16) * 16)
    const counters = this.counters
    // Octet stores, not Buffer.copy: a native call per 16-octet block cost more than the AES.
    for (let block = 0, at = 0; block < blocks; block++, at += 16) {
      for (let octet = 0; octet < 14; octet++) counters[at + octet] = iv[octet] as number
      counters[at + 14] = block >>> 8
      counters[at + 15] = block & 0xff
    }
    const keystream = this.ecb.update(counters.subarray(0, blocks * 16))
    for (let index = 0; index < input.length; index++) output[offset + index] = (input[index] as number) ^ (keystream[index] as number)
  }
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

/** One direction's session keys with the cipher of its encryption key, kept for the session's life. */
type Protection = SessionKeys & {readonly cipher: AesCounterMode}
const protection = (master: Buffer, kind: 'rtp' | 'rtcp'): Protection => {
  const keys = deriveKeys(master, kind)
  return {...keys, cipher: new AesCounterMode(keys.encryption)}
}

/**
 * §4.1.1: IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16), written into `iv`
 * (16 octets, the last two 0). The 48-bit index i = ROC · 2^16 + SEQ is given
 * as its two halves (plain numbers: BigInt arithmetic cost more per packet
 * than the AES).
 */
const counterIv = (iv: Buffer, salt: Buffer, ssrc: number, roc: number, sequence: number): Buffer => {
  salt.copy(iv, 0, 0, 14)
  iv.writeUInt16BE(0, 14)
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4)
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ (roc >>> 16), 8)
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ (((roc & 0xffff) << 16) | sequence)) >>> 0, 10)
  return iv
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

/** HMAC-SHA1 of `data` (then `roc`, when given), truncated to `length` octets. */
const hmac = (key: Buffer, data: Uint8Array, roc: Buffer | undefined, length: number): Buffer => {
  const mac = createHmac('sha1', key)
  mac.update(data)
  if (roc !== undefined) mac.update(roc)
  return mac.digest().subarray(0, length)
}

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
  /** Scratch for one packet's IV and rollover counter (a packet is protected or checked in one synchronous call). */
  private readonly iv = Buffer.alloc(16)
  private readonly rocBytes = Buffer.alloc(4)
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
  }

  /** An RTP packet as it goes on the wire: payload encrypted, tag appended. */
  protectRtp(packet: Uint8Array): Buffer {
    const header = rtpHeaderLength(packet)
    if (header === undefined) throw new RangeError('not an RTP packet')
    const view = Buffer.from(packet.buffer, packet.byteOffset, packet.length)
    const ssrc = view.readUInt32BE(8)
    const sequence = view.readUInt16BE(2)
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
    view.copy(out, 0, 0, header)
    this.sendRtp.cipher.apply(counterIv(this.iv, this.sendRtp.salt, ssrc, state.roc, sequence), view.subarray(header), out, header)
    this.rocBytes.writeUInt32BE(state.roc, 0)
    hmac(this.sendRtp.authentication, out.subarray(0, packet.length), this.rocBytes, this.tagLength).copy(out, packet.length)
    return out
  }

  /** The RTP packet inside an SRTP one, or undefined when it is too short, its tag is wrong or it is a replay. */
  unprotectRtp(datagram: Uint8Array): Buffer | undefined {
    const length = datagram.length - this.tagLength
    const view = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length)
    const header = rtpHeaderLength(view.subarray(0, Math.max(length, 0)))
    if (length < RTP_HEADER || header === undefined) return undefined
    const ssrc = view.readUInt32BE(8)
    const sequence = view.readUInt16BE(2)
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
    this.rocBytes.writeUInt32BE(roc, 0)
    const expected = hmac(this.receiveRtp.authentication, view.subarray(0, length), this.rocBytes, this.tagLength)
    if (!timingSafeEqual(expected, view.subarray(length))) return undefined
    const out = Buffer.allocUnsafe(length)
    view.copy(out, 0, 0, header)
    this.receiveRtp.cipher.apply(counterIv(this.iv, this.receiveRtp.salt, ssrc, roc, sequence), view.subarray(header, length), out, header)
    this.accepted(ssrc, state, roc, sequence, index)
    return out
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
    hmac(this.sendRtcp.authentication, out.subarray(0, packet.length + 4), undefined, SRTCP_TAG).copy(out, packet.length + 4)
    return out
  }

  /** The RTCP compound packet inside an SRTCP one, or undefined (too short, wrong tag, replayed). */
  unprotectRtcp(datagram: Uint8Array): Buffer | undefined {
    const length = datagram.length - SRTCP_TAG - 4
    if (length < RTCP_HEADER) return undefined
    const view = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.length)
    const expected = hmac(this.receiveRtcp.authentication, view.subarray(0, length + 4), undefined, SRTCP_TAG)
    if (!timingSafeEqual(expected, view.subarray(length + 4))) return undefined
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
