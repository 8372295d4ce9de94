// The RTP of piped streams (daemon/rpc/rtp-audio-leg.ts) crossing between
// the main thread and a media shard: every datagram of one turn of the
// sender's event loop is packed into one buffer, handed over (transferred,
// not copied) in one message. A message per datagram cost a structured clone
// of an object and a buffer each, the largest part of the main thread's work
// for SDK audio after QUIC itself.
//
// Layout, repeated: stream id (u32, big-endian), length (u16), the datagram.

const RECORD_HEADER = 6
/** The smallest buffer a packer starts a turn with: a few datagrams; it grows as a turn needs. */
const MIN_CAPACITY = 2 * 1024
/** An RTP datagram is at most a UDP payload. */
const MAX_DATAGRAM = 0xffff

export class PipedRtpPacker {
  private buffer = Buffer.from(new ArrayBuffer(MIN_CAPACITY))
  private used = 0

  get isEmpty(): boolean {
    return this.used === 0
  }

  /** Appends one datagram (copied); false when it is too long to pack (it is not sent). */
  add(streamId: number, datagram: Uint8Array): boolean {
    if (datagram.length > MAX_DATAGRAM) return false
    const needed = this.used + RECORD_HEADER + datagram.length
    if (needed > this.buffer.length) {
      const grown = Buffer.from(new ArrayBuffer(Math.max(needed, 2 * this.buffer.length)))
      this.buffer.copy(grown, 0, 0, this.used)
      this.buffer = grown
    }
    this.buffer.writeUInt32BE(streamId >>> 0, this.used)
    this.buffer.writeUInt16BE(datagram.length, this.used + 4)
    this.buffer.set(datagram, this.used + RECORD_HEADER)
    this.used = needed
    return true
  }

  /**
   * What was packed, in a buffer of its own to transfer; the packer starts again empty, in a buffer sized
   * for twice this turn's: the next turn is mostly like this one, and a few calls' turn of a few hundred
   * bytes need not zero a fixed 16 KB each flush (not measurable in bench:quic either way; add() grows it).
   */
  take(): Uint8Array {
    const packed = new Uint8Array(this.buffer.buffer, 0, this.used)
    this.buffer = Buffer.from(new ArrayBuffer(Math.max(MIN_CAPACITY, 2 * this.used)))
    this.used = 0
    return packed
  }
}

/** Packs one datagram on its own (a sender that does not batch). */
export const packOne = (streamId: number, datagram: Uint8Array): Uint8Array => {
  const packer = new PipedRtpPacker()
  packer.add(streamId, datagram)
  return packer.take()
}

/**
 * Calls `each` for every datagram in `packed`, as a Buffer viewing it (no copy; valid as long as the
 * packed buffer is). A truncated record (a bug, never a peer: only our threads write these) ends the walk.
 */
export const unpackPiped = (packed: Uint8Array, each: (streamId: number, datagram: Buffer) => void): void => {
  if (!(packed instanceof Uint8Array)) return
  const view = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength)
  let offset = 0
  while (offset + RECORD_HEADER <= view.length) {
    const streamId = view.readUInt32BE(offset)
    const length = view.readUInt16BE(offset + 4)
    const start = offset + RECORD_HEADER
    if (start + length > view.length) return
    each(streamId, view.subarray(start, start + length))
    offset = start + length
  }
}
