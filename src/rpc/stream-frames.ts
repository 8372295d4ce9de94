// SDK RPC frames on a byte stream (a QUIC stream): each frame of protocol.ts
// is preceded by its length, an unsigned 32-bit big-endian integer, so frames
// can be cut out of the stream whatever the packet boundaries. A length above
// the frame limit is refused before any of the frame is buffered: the reader
// never holds more than one frame and its prefix.
import {CCError} from '../errors.js'
import {RPC_MAX_FRAME_BYTES} from './protocol.js'

export const STREAM_LENGTH_BYTES = 4

/** The frame with its length prefix. */
export const encodeStreamFrame = (frame: Uint8Array): Buffer => {
  const out = Buffer.allocUnsafe(STREAM_LENGTH_BYTES + frame.length)
  out.writeUInt32BE(frame.length, 0)
  out.set(frame, STREAM_LENGTH_BYTES)
  return out
}

/** Cuts length-prefixed frames out of the chunks of one stream. */
export class StreamFrameReader {
  /** Received and not yet returned; joined only once a whole frame is there (a peer sending one byte at a time costs no quadratic copying). */
  private chunks: Buffer[] = []
  private size = 0

  constructor(private readonly maxFrameBytes: number = RPC_MAX_FRAME_BYTES) {}

  /** Bytes received and not yet returned as a frame. */
  get buffered(): number {
    return this.size
  }

  /**
   * Adds a chunk; returns the frames it completed (their bytes, without the prefix).
   * Throws CC_ERR_RPC_BAD_FRAME when a length prefix announces more than the frame limit (the stream cannot be resynchronised after that).
   */
  push(chunk: Uint8Array): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk))
      this.size += chunk.length
    }
    const frames: Buffer[] = []
    while (this.size >= STREAM_LENGTH_BYTES) {
      if ((this.chunks[0]?.length ?? 0) < STREAM_LENGTH_BYTES) this.chunks = [Buffer.concat(this.chunks, this.size)]
      const length = (this.chunks[0] as Buffer).readUInt32BE(0)
      if (length > this.maxFrameBytes) {
        this.chunks = []
        this.size = 0
        throw new CCError('CC_ERR_RPC_BAD_FRAME', {detail: `the length prefix announces ${length} bytes, more than the ${this.maxFrameBytes}-byte limit`})
      }
      if (this.size < STREAM_LENGTH_BYTES + length) break
      const joined = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size)
      frames.push(Buffer.from(joined.subarray(STREAM_LENGTH_BYTES, STREAM_LENGTH_BYTES + length)))
      const rest = joined.subarray(STREAM_LENGTH_BYTES + length)
      this.chunks = rest.length > 0 ? [rest] : []
      this.size = rest.length
    }
    return frames
  }
}
