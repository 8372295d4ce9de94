// HMAC-SHA1 (RFC 2104 over FIPS 180-4's SHA-1) for SRTP's per-packet tags,
// in JavaScript. node:crypto has no way to reset an HMAC, so each packet
// there builds a new HMAC object, hashes the key's two 64-octet pad blocks
// again and allocates a digest: about 2.8 µs a packet, and a third of the
// garbage a media shard made per SRTP packet. Here the pad blocks are hashed
// once per session key and a packet costs its own blocks plus one block for
// the outer hash, with no allocation: about 1 µs (docs/sip-tls.md, "What
// SRTP costs"). The tests check it against node:crypto's HMAC for every
// length across the block boundaries.

const BLOCK = 64
const DIGEST = 20

const INITIAL_STATE = [0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]

/** The message schedule, shared: a compression runs to its end synchronously. */
const schedule = new Int32Array(80)

/** One SHA-1 compression of the 64 octets of `block` from `offset` into `state`. */
const compress = (state: Int32Array, block: Uint8Array, offset: number): void => {
  const w = schedule
  for (let i = 0, at = offset; i < 16; i++, at += 4) {
    w[i] = ((block[at] as number) << 24) | ((block[at + 1] as number) << 16) | ((block[at + 2] as number) << 8) | (block[at + 3] as number)
  }
  for (let i = 16; i < 80; i++) {
    const x = (w[i - 3] as number) ^ (w[i - 8] as number) ^ (w[i - 14] as number) ^ (w[i - 16] as number)
    w[i] = (x << 1) | (x >>> 31)
  }
  let a = state[0] as number
  let b = state[1] as number
  let c = state[2] as number
  let d = state[3] as number
  let e = state[4] as number
  // Four loops of 20 rounds, one per round function (a branch per round cost about 10 %).
  for (let i = 0; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (~b & d)) + e + (w[i] as number) + 0x5a827999) | 0
    e = d
    d = c
    c = (b << 30) | (b >>> 2)
    b = a
    a = t
  }
  for (let i = 20; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (w[i] as number) + 0x6ed9eba1) | 0
    e = d
    d = c
    c = (b << 30) | (b >>> 2)
    b = a
    a = t
  }
  for (let i = 40; i < 60; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((b & c) | (b & d) | (c & d)) + e + (w[i] as number) + (0x8f1bbcdc | 0)) | 0
    e = d
    d = c
    c = (b << 30) | (b >>> 2)
    b = a
    a = t
  }
  for (let i = 60; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (b ^ c ^ d) + e + (w[i] as number) + (0xca62c1d6 | 0)) | 0
    e = d
    d = c
    c = (b << 30) | (b >>> 2)
    b = a
    a = t
  }
  state[0] = ((state[0] as number) + a) | 0
  state[1] = ((state[1] as number) + b) | 0
  state[2] = ((state[2] as number) + c) | 0
  state[3] = ((state[3] as number) + d) | 0
  state[4] = ((state[4] as number) + e) | 0
}

/** HMAC-SHA1 under one key, computed again and again without allocating. */
export class HmacSha1 {
  /** The SHA-1 states after the key's inner (ipad) and outer (opad) blocks. */
  private readonly innerStart = Int32Array.from(INITIAL_STATE)
  private readonly outerStart = Int32Array.from(INITIAL_STATE)
  private readonly state = new Int32Array(5)
  private readonly tail = new Uint8Array(BLOCK)
  private readonly mac = new Uint8Array(DIGEST)
  private tailLength = 0

  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError(`an HMAC-SHA1 key here is at most ${BLOCK} octets`)
    const pad = new Uint8Array(BLOCK)
    pad.fill(0x36)
    for (let i = 0; i < key.length; i++) pad[i] = (pad[i] as number) ^ (key[i] as number)
    compress(this.innerStart, pad, 0)
    pad.fill(0x5c)
    for (let i = 0; i < key.length; i++) pad[i] = (pad[i] as number) ^ (key[i] as number)
    compress(this.outerStart, pad, 0)
  }

  /**
   * The first `tagLength` octets of HMAC(key, data[0, length) || roc), written
   * into `out` from `offset`. `roc` (a 32-bit number, big-endian on the wire)
   * is left out when undefined, as SRTCP's tag covers no ROC.
   */
  sign(data: Uint8Array, length: number, roc: number | undefined, out: Uint8Array, offset: number, tagLength: number): void {
    this.digest(data, length, roc)
    out.set(this.mac.subarray(0, tagLength), offset)
  }

  /** Whether `tag[tagAt, tagAt + tagLength)` is the tag of `data[0, length) || roc`, compared in time independent of where they differ. */
  verify(data: Uint8Array, length: number, roc: number | undefined, tag: Uint8Array, tagAt: number, tagLength: number): boolean {
    this.digest(data, length, roc)
    let difference = 0
    for (let i = 0; i < tagLength; i++) difference |= (this.mac[i] as number) ^ (tag[tagAt + i] as number)
    return difference === 0
  }

  private digest(data: Uint8Array, length: number, roc: number | undefined): void {
    const state = this.state
    state.set(this.innerStart)
    let at = 0
    for (; length - at >= BLOCK; at += BLOCK) compress(state, data, at)
    this.tailLength = 0
    while (at < length) this.push(data[at++] as number)
    if (roc !== undefined) {
      this.push(roc >>> 24)
      this.push((roc >>> 16) & 0xff)
      this.push((roc >>> 8) & 0xff)
      this.push(roc & 0xff)
    }
    this.finish(BLOCK + length + (roc === undefined ? 0 : 4))
    const mac = this.mac
    for (let i = 0; i < 5; i++) writeWord(mac, i * 4, state[i] as number)
    // The outer hash: opad block (already in outerStart), then the 20-octet inner digest.
    state.set(this.outerStart)
    this.tailLength = 0
    for (let i = 0; i < DIGEST; i++) this.push(mac[i] as number)
    this.finish(BLOCK + DIGEST)
    for (let i = 0; i < 5; i++) writeWord(mac, i * 4, state[i] as number)
  }

  private push(octet: number): void {
    this.tail[this.tailLength++] = octet
    if (this.tailLength === BLOCK) {
      compress(this.state, this.tail, 0)
      this.tailLength = 0
    }
  }

  /** SHA-1's padding: 0x80, zeros, and the message's length in bits in the last 8 octets. */
  private finish(messageLength: number): void {
    this.push(0x80)
    if (this.tailLength > BLOCK - 8) {
      this.tail.fill(0, this.tailLength)
      compress(this.state, this.tail, 0)
      this.tailLength = 0
    }
    this.tail.fill(0, this.tailLength, BLOCK - 8)
    const bits = messageLength * 8
    writeWord(this.tail, BLOCK - 8, Math.floor(bits / 0x100000000))
    writeWord(this.tail, BLOCK - 4, bits >>> 0)
    compress(this.state, this.tail, 0)
    this.tailLength = 0
  }
}

const writeWord = (out: Uint8Array, at: number, word: number): void => {
  out[at] = word >>> 24
  out[at + 1] = (word >>> 16) & 0xff
  out[at + 2] = (word >>> 8) & 0xff
  out[at + 3] = word & 0xff
}
