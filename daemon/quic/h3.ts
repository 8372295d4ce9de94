// HTTP/3 (RFC 9114) as far as WebTransport (draft-ietf-webtrans-http3, the
// draft-02 wire format Chromium speaks) needs it: QUIC variable-length
// integers, frames on streams, SETTINGS, and the stream types and signals.
import {CCError} from '../../src/errors.js'

export const H3_FRAME = {data: 0x00, headers: 0x01, settings: 0x04, goaway: 0x07} as const
export const H3_STREAM_TYPE = {control: 0x00, push: 0x01, qpackEncoder: 0x02, qpackDecoder: 0x03, webtransport: 0x54} as const
/** The first varint of a client bidirectional stream that belongs to a WebTransport session (then the session id). */
export const WEBTRANSPORT_STREAM_SIGNAL = 0x41

export const H3_SETTING = {
  qpackMaxTableCapacity: 0x01,
  qpackBlockedStreams: 0x07,
  enableConnectProtocol: 0x08,
  h3Datagram: 0x33,
  /** draft-ietf-webtrans-http3-02. */
  enableWebTransport: 0x2b60_3742,
  /** draft-ietf-webtrans-http3-07 to -12. */
  webTransportMaxSessions: 0xc671_706a,
} as const

/** HTTP/3 error codes (RFC 9114 8.1) used in CONNECTION_CLOSE and stream resets. */
export const H3_ERROR = {
  noError: 0x100,
  generalProtocolError: 0x101,
  internalError: 0x102,
  streamCreationError: 0x103,
  closedCriticalStream: 0x104,
  frameUnexpected: 0x105,
  frameError: 0x106,
  excessiveLoad: 0x107,
  idError: 0x108,
  settingsError: 0x109,
  missingSettings: 0x10a,
  requestRejected: 0x10b,
  requestCancelled: 0x10c,
  messageError: 0x10e,
} as const

const h3Error = (detail: string): CCError => new CCError('CC_ERR_RPC_BAD_FRAME', {detail: `HTTP/3: ${detail}`})

/** A QUIC variable-length integer (RFC 9000 16); values up to 2^53 - 1. */
export const encodeVarint = (value: number): Buffer => {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${value} is not a varint`)
  if (value < 0x40) return Buffer.from([value])
  if (value < 0x4000) return Buffer.from([0x40 | (value >> 8), value & 0xff])
  if (value < 0x4000_0000) {
    const out = Buffer.allocUnsafe(4)
    out.writeUInt32BE((value | 0x8000_0000) >>> 0)
    return out
  }
  const out = Buffer.allocUnsafe(8)
  out.writeBigUInt64BE(BigInt(value) | (3n << 62n))
  return out
}

/** The varint at `offset`, or undefined when the bytes end before it does. */
export const readVarint = (data: Uint8Array, offset: number): {value: number; next: number} | undefined => {
  if (offset >= data.length) return undefined
  const first = data[offset] ?? 0
  const length = 1 << (first >> 6)
  if (offset + length > data.length) return undefined
  let value = BigInt(first & 0x3f)
  for (let index = 1; index < length; index++) value = (value << 8n) | BigInt(data[offset + index] ?? 0)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw h3Error('a varint beyond 2^53')
  return {value: Number(value), next: offset + length}
}

export const encodeH3Frame = (type: number, payload: Uint8Array): Buffer => Buffer.concat([encodeVarint(type), encodeVarint(payload.length), payload])

export const encodeSettings = (settings: ReadonlyArray<readonly [number, number]>): Buffer =>
  encodeH3Frame(H3_FRAME.settings, Buffer.concat(settings.flatMap(([id, value]) => [encodeVarint(id), encodeVarint(value)])))

export const decodeSettings = (payload: Uint8Array): Map<number, number> => {
  const settings = new Map<number, number>()
  let offset = 0
  while (offset < payload.length) {
    const id = readVarint(payload, offset)
    const value = id ? readVarint(payload, id.next) : undefined
    if (!id || !value) throw h3Error('a truncated SETTINGS frame')
    if (settings.has(id.value)) throw h3Error(`setting 0x${id.value.toString(16)} twice`)
    settings.set(id.value, value.value)
    offset = value.next
  }
  return settings
}

export interface H3Frame {
  readonly type: number
  readonly payload: Buffer
}

/** Cuts HTTP/3 frames out of a stream's chunks; a frame announcing more than `maxPayload` bytes is refused before it is buffered. */
export class H3FrameReader {
  private pending: Buffer = Buffer.alloc(0)

  constructor(private readonly maxPayload: number) {}

  /** What is left after the frames returned so far (bytes that follow the frames on a stream that changes protocol). */
  get rest(): Buffer {
    return this.pending
  }

  push(chunk: Uint8Array): H3Frame[] {
    this.pending = this.pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk])
    const frames: H3Frame[] = []
    for (;;) {
      const type = readVarint(this.pending, 0)
      const length = type ? readVarint(this.pending, type.next) : undefined
      if (!type || !length) break
      if (length.value > this.maxPayload) throw h3Error(`a frame of type 0x${type.value.toString(16)} announces ${length.value} bytes, more than ${this.maxPayload}`)
      if (this.pending.length < length.next + length.value) break
      frames.push({type: type.value, payload: Buffer.from(this.pending.subarray(length.next, length.next + length.value))})
      this.pending = this.pending.subarray(length.next + length.value)
    }
    return frames
  }
}
