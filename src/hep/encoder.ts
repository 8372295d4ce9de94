// HEPv3 (HEP/EEP version 3) frames, as Homer / heplify-server and sngrep read
// them (DESIGN §9). Pure: no sockets, no clock. A frame is the 6-octet header
// ("HEP3" and the total length) followed by chunks, each `vendor(2) type(2)
// length(2) value`, every number in network byte order and every length
// counting its own 6-octet header. All chunks are vendor 0 (generic):
//
//   0x01 IP family (2 = IPv4, 10 = IPv6)    0x02 IP protocol (17 UDP, 6 TCP)
//   0x03 / 0x04 IPv4 source / destination   0x05 / 0x06 IPv6 source / destination
//   0x07 / 0x08 source / destination port   0x09 / 0x0a timestamp seconds / microseconds
//   0x0b protocol type (1 SIP, 5 RTCP JSON) 0x0c capture agent id
//   0x0e authentication key (only with a password)
//   0x11 correlation id (only when given)   0x0f the captured payload (last)
//
// A frame is written straight into the caller's buffer (the capture batch) or
// into one of its exact size: this runs once for every SIP message while
// capture is on.
import {isIPv4, isIPv6} from 'node:net'

export const HEP_MAGIC = 'HEP3'
export const HEP_HEADER_LENGTH = 6
export const HEP_CHUNK_HEADER_LENGTH = 6
/** The header's length field is 16 bits: no frame can be longer. */
export const HEP_MAX_FRAME_LENGTH = 0xffff

/** Generic (vendor 0) chunk types. */
export const HepChunk = {
  ipFamily: 0x01,
  ipProtocol: 0x02,
  ipv4Source: 0x03,
  ipv4Destination: 0x04,
  ipv6Source: 0x05,
  ipv6Destination: 0x06,
  sourcePort: 0x07,
  destinationPort: 0x08,
  timestampSeconds: 0x09,
  timestampMicroseconds: 0x0a,
  protocolType: 0x0b,
  captureId: 0x0c,
  authKey: 0x0e,
  payload: 0x0f,
  correlationId: 0x11,
} as const

/** Values of chunk 0x0b. */
export const HEP_PROTOCOL_SIP = 1
export const HEP_PROTOCOL_RTCP_JSON = 5

/** Values of chunk 0x01 (the BSD socket address families). */
export const HEP_FAMILY_IPV4 = 2
export const HEP_FAMILY_IPV6 = 10

/** Values of chunk 0x02 (IANA protocol numbers). */
export const IP_PROTOCOL_TCP = 6
export const IP_PROTOCOL_UDP = 17

export interface HepAddress {
  /** An IPv4 or IPv6 literal (IPv4-mapped IPv6 is sent as IPv4 when the other side is IPv4 too). */
  readonly address: string
  readonly port: number
}

export interface HepFrameInit {
  readonly transport: 'udp' | 'tcp'
  readonly source: HepAddress
  readonly destination: HepAddress
  /** Capture time: milliseconds since the epoch, sub-millisecond digits kept as microseconds. */
  readonly timestampMs: number
  /** Chunk 0x0b: HEP_PROTOCOL_SIP, HEP_PROTOCOL_RTCP_JSON, … */
  readonly protocolType: number
  /** Chunk 0x0c, 0..2^32-1. */
  readonly captureId: number
  /** Chunk 0x0e, sent only when non-empty. */
  readonly authKey?: string | undefined
  /** Chunk 0x11, sent only when non-empty. */
  readonly correlationId?: string | undefined
  /** Chunk 0x0f: the raw SIP message, or the RTCP report as JSON. */
  readonly payload: Buffer | string
}

export class HepEncodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HepEncodeError'
  }
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/** The IPv4 form of an IPv4 or IPv4-mapped IPv6 address, else undefined. */
const asIPv4 = (address: string): string | undefined => {
  if (isIPv4(address)) return address
  const mapped = MAPPED_V4.exec(address)?.[1]
  return mapped !== undefined && isIPv4(mapped) ? mapped : undefined
}

const writeIPv4 = (target: Buffer, offset: number, address: string): void => {
  let part = 0
  let value = 0
  for (let index = 0; index < address.length; index++) {
    const code = address.charCodeAt(index)
    if (code === 0x2e) {
      target[offset + part++] = value
      value = 0
    } else {
      value = value * 10 + (code - 0x30)
    }
  }
  target[offset + part] = value
}

/** Writes the 16 octets of an IPv6 literal (with `::` and an optional dotted IPv4 tail). */
const writeIPv6 = (target: Buffer, offset: number, address: string): void => {
  const zone = address.indexOf('%')
  const text = zone === -1 ? address : address.slice(0, zone)
  const groups: number[] = []
  const toGroups = (side: string): number[] => {
    if (side === '') return []
    const out: number[] = []
    for (const piece of side.split(':')) {
      if (piece.includes('.')) {
        const bytes = piece.split('.').map(Number)
        out.push(((bytes[0] ?? 0) << 8) | (bytes[1] ?? 0), ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0))
      } else {
        out.push(Number.parseInt(piece, 16))
      }
    }
    return out
  }
  const gap = text.indexOf('::')
  if (gap === -1) {
    groups.push(...toGroups(text))
  } else {
    const head = toGroups(text.slice(0, gap))
    const tail = toGroups(text.slice(gap + 2))
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail)
  }
  for (let index = 0; index < 8; index++) target.writeUInt16BE(groups[index] ?? 0, offset + index * 2)
}

const checkPort = (port: number, what: string): void => {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new HepEncodeError(`${what} port ${port} is not 0..65535`)
}

/** What a frame's layout depends on, checked once: the address family, the lengths of the variable chunks. */
interface FrameLayout {
  readonly v4: boolean
  readonly source4: string | undefined
  readonly destination4: string | undefined
  readonly payloadLength: number
  readonly authLength: number
  readonly correlationLength: number
  readonly length: number
}

const layoutOf = (init: HepFrameInit): FrameLayout => {
  const {source, destination} = init
  const source4 = asIPv4(source.address)
  const destination4 = asIPv4(destination.address)
  const v4 = source4 !== undefined && destination4 !== undefined
  if (!v4) {
    if (source4 === undefined && !isIPv6(source.address)) throw new HepEncodeError(`source address ${JSON.stringify(source.address)} is not an IP address`)
    if (destination4 === undefined && !isIPv6(destination.address)) throw new HepEncodeError(`destination address ${JSON.stringify(destination.address)} is not an IP address`)
  }
  checkPort(source.port, 'source')
  checkPort(destination.port, 'destination')
  if (!Number.isInteger(init.captureId) || init.captureId < 0 || init.captureId > 0xffffffff) throw new HepEncodeError(`capture id ${init.captureId} is not 0..4294967295`)
  if (!Number.isInteger(init.protocolType) || init.protocolType < 0 || init.protocolType > 0xff) throw new HepEncodeError(`protocol type ${init.protocolType} is not 0..255`)
  if (!Number.isFinite(init.timestampMs) || init.timestampMs < 0) throw new HepEncodeError(`timestamp ${init.timestampMs} is not a time`)

  const payloadLength = typeof init.payload === 'string' ? Buffer.byteLength(init.payload) : init.payload.length
  const authLength = init.authKey ? Buffer.byteLength(init.authKey) : 0
  const correlationLength = init.correlationId ? Buffer.byteLength(init.correlationId) : 0
  const addressLength = v4 ? 4 : 16
  const length =
    HEP_HEADER_LENGTH +
    (6 + 1) * 2 + // family, protocol
    (6 + addressLength) * 2 +
    (6 + 2) * 2 + // ports
    (6 + 4) * 2 + // seconds, microseconds
    (6 + 1) + // protocol type
    (6 + 4) + // capture id
    (authLength > 0 ? 6 + authLength : 0) +
    (correlationLength > 0 ? 6 + correlationLength : 0) +
    6 +
    payloadLength
  if (length > HEP_MAX_FRAME_LENGTH) throw new HepEncodeError(`a ${payloadLength}-octet payload makes a ${length}-octet frame; HEPv3 frames end at ${HEP_MAX_FRAME_LENGTH}`)
  return {v4, source4, destination4, payloadLength, authLength, correlationLength, length}
}

/** The length of the frame `init` makes; throws HepEncodeError for what a frame cannot carry. */
export const hepFrameLength = (init: HepFrameInit): number => layoutOf(init).length

/**
 * Writes one HEPv3 frame into `target` at `offset` and returns its length;
 * throws HepEncodeError (writing nothing) for an address it cannot carry, a
 * frame over 65,535 octets, or a target without room for it.
 */
export const writeHepFrame = (target: Buffer, offset: number, init: HepFrameInit): number => {
  const layout = layoutOf(init)
  const {length, v4, source4, destination4, authLength, correlationLength, payloadLength} = layout
  if (offset < 0 || offset + length > target.length) throw new HepEncodeError(`no room for a ${length}-octet frame at ${offset} of ${target.length}`)
  const {source, destination} = init
  const frame = target
  frame.write(HEP_MAGIC, offset, 'latin1')
  frame.writeUInt16BE(length, offset + 4)
  let at = offset + HEP_HEADER_LENGTH
  const chunk = (type: number, valueLength: number): number => {
    frame.writeUInt16BE(0, at)
    frame.writeUInt16BE(type, at + 2)
    frame.writeUInt16BE(HEP_CHUNK_HEADER_LENGTH + valueLength, at + 4)
    const valueAt = at + HEP_CHUNK_HEADER_LENGTH
    at = valueAt + valueLength
    return valueAt
  }

  frame.writeUInt8(v4 ? HEP_FAMILY_IPV4 : HEP_FAMILY_IPV6, chunk(HepChunk.ipFamily, 1))
  frame.writeUInt8(init.transport === 'tcp' ? IP_PROTOCOL_TCP : IP_PROTOCOL_UDP, chunk(HepChunk.ipProtocol, 1))
  if (v4) {
    writeIPv4(frame, chunk(HepChunk.ipv4Source, 4), source4 as string)
    writeIPv4(frame, chunk(HepChunk.ipv4Destination, 4), destination4 as string)
  } else {
    // One side IPv4 and the other IPv6 cannot happen on one socket; if it does, the IPv4 side goes as IPv4-mapped.
    writeIPv6(frame, chunk(HepChunk.ipv6Source, 16), source4 === undefined ? source.address : `::ffff:${source4}`)
    writeIPv6(frame, chunk(HepChunk.ipv6Destination, 16), destination4 === undefined ? destination.address : `::ffff:${destination4}`)
  }
  frame.writeUInt16BE(source.port, chunk(HepChunk.sourcePort, 2))
  frame.writeUInt16BE(destination.port, chunk(HepChunk.destinationPort, 2))
  const {seconds, microseconds} = splitTimestamp(init.timestampMs)
  frame.writeUInt32BE(seconds, chunk(HepChunk.timestampSeconds, 4))
  frame.writeUInt32BE(microseconds, chunk(HepChunk.timestampMicroseconds, 4))
  frame.writeUInt8(init.protocolType, chunk(HepChunk.protocolType, 1))
  frame.writeUInt32BE(init.captureId, chunk(HepChunk.captureId, 4))
  if (authLength > 0) frame.write(init.authKey as string, chunk(HepChunk.authKey, authLength), 'utf8')
  if (correlationLength > 0) frame.write(init.correlationId as string, chunk(HepChunk.correlationId, correlationLength), 'utf8')
  const payloadAt = chunk(HepChunk.payload, payloadLength)
  if (typeof init.payload === 'string') frame.write(init.payload, payloadAt, 'utf8')
  else init.payload.copy(frame, payloadAt)
  return length
}

/** Encodes one HEPv3 frame into a buffer of its own; throws HepEncodeError for an address it cannot carry or a frame over 65,535 octets. */
export const encodeHepFrame = (init: HepFrameInit): Buffer => {
  const frame = Buffer.allocUnsafe(hepFrameLength(init))
  writeHepFrame(frame, 0, init)
  return frame
}

/** Milliseconds (with a fraction) → whole seconds and the microseconds within that second. */
export const splitTimestamp = (timestampMs: number): {seconds: number; microseconds: number} => {
  const totalMicroseconds = Math.round(timestampMs * 1000)
  const seconds = Math.floor(totalMicroseconds / 1_000_000)
  return {seconds: seconds >>> 0, microseconds: totalMicroseconds - seconds * 1_000_000}
}

export interface DecodedHepChunk {
  readonly vendor: number
  readonly type: number
  readonly value: Buffer
}

/**
 * Splits a frame into its chunks (for tests and diagnostics; the decoders that
 * prove the frames are sngrep and hep-js). Throws on a malformed frame.
 */
export const splitHepFrame = (frame: Buffer): DecodedHepChunk[] => {
  if (frame.length < HEP_HEADER_LENGTH || frame.toString('latin1', 0, 4) !== HEP_MAGIC) throw new HepEncodeError('not a HEP3 frame')
  const length = frame.readUInt16BE(4)
  if (length !== frame.length) throw new HepEncodeError(`length field ${length} but ${frame.length} octets`)
  const chunks: DecodedHepChunk[] = []
  let at = HEP_HEADER_LENGTH
  while (at < length) {
    if (at + HEP_CHUNK_HEADER_LENGTH > length) throw new HepEncodeError(`truncated chunk header at ${at}`)
    const chunkLength = frame.readUInt16BE(at + 4)
    if (chunkLength < HEP_CHUNK_HEADER_LENGTH || at + chunkLength > length) throw new HepEncodeError(`bad chunk length ${chunkLength} at ${at}`)
    chunks.push({vendor: frame.readUInt16BE(at), type: frame.readUInt16BE(at + 2), value: frame.subarray(at + HEP_CHUNK_HEADER_LENGTH, at + chunkLength)})
    at += chunkLength
  }
  return chunks
}
