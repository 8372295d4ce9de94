// AES-128 in counter mode as SRTP uses it (RFC 3711 §4.1.1), on node:crypto.
//
// Per packet, node:crypto costs most in its calls, not in the AES: a new
// AES-CTR cipher per packet took about as long as the UDP send, and one
// ECB call per packet still cost more than the AES of its 10 blocks. So each
// session key keeps one AES-ECB cipher for its life (a keystream is the ECB
// encryption of counter blocks, which is what counter mode is), and the RTP
// keystreams of the next packets of a stream are made together in one ECB
// call (docs/sip-tls.md, "What SRTP costs").
import {type Cipher, createCipheriv} from 'node:crypto'

const AES_BLOCK = 16

/** How many packets' keystreams one ECB call makes ahead, and the octets that may take at most. */
const PACKETS_AHEAD = 16
const OCTETS_AHEAD = 16_384

/** The highest 48-bit SRTP packet index, plus one. */
const INDEX_LIMIT = 2 ** 48

/**
 * §4.1.1: IV = (k_s · 2^16) XOR (SSRC · 2^64) XOR (i · 2^16), written into `iv`
 * (16 octets, the last two 0). The 48-bit index i = ROC · 2^16 + SEQ is given
 * as its two halves (plain numbers: BigInt arithmetic cost more per packet
 * than the AES).
 */
export const counterIv = (iv: Buffer, salt: Buffer, ssrc: number, roc: number, sequence: number): Buffer => {
  salt.copy(iv, 0, 0, 14)
  iv.writeUInt16BE(0, 14)
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4)
  iv.writeUInt16BE(iv.readUInt16BE(8) ^ (roc >>> 16), 8)
  iv.writeUInt32BE((iv.readUInt32BE(10) ^ (((roc & 0xffff) << 16) | sequence)) >>> 0, 10)
  return iv
}

/**
 * Keystream block j of an SRTP IV is AES(key, IV + j), and an SRTP IV's low
 * 16 bits are always 0, so block j's counter is the IV with j in its last two
 * octets. One ECB cipher per key encrypts the counter blocks (OpenSSL's ECB
 * without padding returns each full block at once and keeps no state between
 * calls).
 */
export class AesCounterMode {
  private readonly ecb: Cipher
  private counters = Buffer.alloc(0)

  constructor(key: Buffer) {
    this.ecb = createCipheriv('aes-128-ecb', key, null)
    this.ecb.setAutoPadding(false)
  }

  /** `input` XOR the keystream of `iv`, written into `output` from `offset` (the two may be the same octets). */
  apply(iv: Buffer, input: Uint8Array, output: Uint8Array, offset: number): void {
    const blocks = Math.ceil(input.length / AES_BLOCK)
    if (blocks === 0) return
    const keystream = this.keystreams([iv], blocks)
    for (let index = 0; index < input.length; index++) output[offset + index] = (input[index] as number) ^ (keystream[index] as number)
  }

  /** The first `blocks` keystream blocks of each IV in turn, from one ECB call. */
  keystreams(ivs: readonly Buffer[], blocks: number): Buffer {
    const size = ivs.length * blocks * AES_BLOCK
    if (this.counters.length < size) this.counters = Buffer.alloc(Math.max(size, 16 * AES_BLOCK))
    const counters = this.counters
    let at = 0
    for (const iv of ivs) {
      // Octet stores, not Buffer.copy: a native call per 16-octet block cost more than the AES.
      for (let block = 0; block < blocks; block++, at += AES_BLOCK) {
        for (let octet = 0; octet < 14; octet++) counters[at + octet] = iv[octet] as number
        counters[at + 14] = block >>> 8
        counters[at + 15] = block & 0xff
      }
    }
    return this.ecb.update(counters.subarray(0, size))
  }
}

/**
 * The RTP keystreams of one direction of an SRTP session: the packet asked
 * for and the next ones of its SSRC are made together, as a stream's packets
 * come in sequence. A packet outside what was made (another SSRC, a jump, a
 * late packet, a longer payload) makes a new batch from its own index.
 */
export class RtpKeystreams {
  private ssrc = -1
  private first = 0
  private count = 0
  private blocks = 0
  private keystream: Buffer = Buffer.alloc(0)
  private readonly ivs: Buffer[] = []

  constructor(
    private readonly cipher: AesCounterMode,
    private readonly salt: Buffer,
  ) {}

  /** `input[from, to)` XOR the keystream of packet (ssrc, roc, sequence), written into `output` from `offset` (may be the same octets). */
  apply(ssrc: number, roc: number, sequence: number, input: Uint8Array, from: number, to: number, output: Uint8Array, offset: number): void {
    const length = to - from
    const blocks = Math.ceil(length / AES_BLOCK)
    if (blocks === 0) return
    const index = roc * 0x10000 + sequence
    if (ssrc !== this.ssrc || index < this.first || index >= this.first + this.count || blocks > this.blocks) this.makeAhead(ssrc, index, blocks)
    const keystream = this.keystream
    const start = (index - this.first) * this.blocks * AES_BLOCK
    for (let octet = 0; octet < length; octet++) output[offset + octet] = (input[from + octet] as number) ^ (keystream[start + octet] as number)
  }

  private makeAhead(ssrc: number, index: number, blocks: number): void {
    const count = Math.max(1, Math.min(PACKETS_AHEAD, Math.floor(OCTETS_AHEAD / (blocks * AES_BLOCK)), INDEX_LIMIT - index))
    while (this.ivs.length < count) this.ivs.push(Buffer.alloc(AES_BLOCK))
    this.ivs.length = count
    for (let packet = 0; packet < count; packet++) {
      const next = index + packet
      counterIv(this.ivs[packet] as Buffer, this.salt, ssrc, Math.floor(next / 0x10000), next % 0x10000)
    }
    this.keystream = this.cipher.keystreams(this.ivs, blocks)
    this.ssrc = ssrc
    this.first = index
    this.count = count
    this.blocks = blocks
  }
}
