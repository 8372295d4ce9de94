// RTP fixed header, CSRC list, header extension and padding (RFC 3550 §5.1,
// §5.3.1). Parsing never throws: garbage on a media port is normal, so a bad
// datagram comes back as a shared, preallocated failure value that costs
// nothing to drop. A caller on the hot path passes one RtpPacket per socket
// and gets it refilled on every parse.

export const RTP_VERSION = 2
export const RTP_HEADER_LENGTH = 12
const MAX_CSRC_COUNT = 15

export type RtpParseFailureReason =
  /** Shorter than the fixed header plus the CSRC list it announces. */
  | 'truncated'
  /** Version field is not 2. */
  | 'version'
  /** Padding bit set but the count octet is zero or larger than the payload. */
  | 'padding'
  /** Header extension runs past the end of the datagram. */
  | 'extension'

export interface RtpParseFailure {
  readonly ok: false
  readonly reason: RtpParseFailureReason
}

export interface RtpPacket {
  ok: true
  marker: boolean
  payloadType: number
  sequenceNumber: number
  timestamp: number
  ssrc: number
  /** Contributing sources; its length is the CC field. */
  csrcs: number[]
  /** The profile-defined 16 bits of the header extension, or undefined when there is none. */
  extensionProfile: number | undefined
  /** The extension body (a view into the datagram, without its 4-octet header). */
  extensionData: Buffer | undefined
  /** A view into the datagram: no copy, valid as long as the datagram is. */
  payload: Buffer
  /** Padding octets stripped from the end, including the count octet. */
  paddingLength: number
}

export type RtpParseResult = RtpPacket | RtpParseFailure

const failure = (reason: RtpParseFailureReason): RtpParseFailure => Object.freeze({ok: false, reason})
const TRUNCATED = failure('truncated')
const BAD_VERSION = failure('version')
const BAD_PADDING = failure('padding')
const BAD_EXTENSION = failure('extension')

const EMPTY = Buffer.alloc(0)

/** A blank packet to pass to parseRtp for reuse across datagrams. */
export const createRtpPacket = (): RtpPacket => ({
  ok: true,
  marker: false,
  payloadType: 0,
  sequenceNumber: 0,
  timestamp: 0,
  ssrc: 0,
  csrcs: [],
  extensionProfile: undefined,
  extensionData: undefined,
  payload: EMPTY,
  paddingLength: 0,
})

/**
 * Parses an RTP datagram. With `into`, fills and returns that object (it is
 * overwritten by the next parse into it); failures are shared frozen values.
 */
export const parseRtp = (datagram: Buffer, into: RtpPacket = createRtpPacket()): RtpParseResult => {
  const length = datagram.length
  if (length < RTP_HEADER_LENGTH) return TRUNCATED
  const first = datagram[0] as number
  if (first >> 6 !== RTP_VERSION) return BAD_VERSION
  const csrcCount = first & 0x0f
  let offset = RTP_HEADER_LENGTH + csrcCount * 4
  if (offset > length) return TRUNCATED

  let profile: number | undefined
  let extensionData: Buffer | undefined
  if (first & 0x10) {
    // §5.3.1: 16 profile bits, 16-bit length in 32-bit words excluding this header.
    if (offset + 4 > length) return BAD_EXTENSION
    profile = datagram.readUInt16BE(offset)
    const extensionEnd = offset + 4 + datagram.readUInt16BE(offset + 2) * 4
    if (extensionEnd > length) return BAD_EXTENSION
    extensionData = datagram.subarray(offset + 4, extensionEnd)
    offset = extensionEnd
  }

  let paddingLength = 0
  if (first & 0x20) {
    // §5.1: the last octet counts the padding octets, itself included.
    paddingLength = datagram[length - 1] as number
    if (paddingLength === 0 || offset + paddingLength > length) return BAD_PADDING
  }

  const second = datagram[1] as number
  into.ok = true
  into.marker = (second & 0x80) !== 0
  into.payloadType = second & 0x7f
  into.sequenceNumber = datagram.readUInt16BE(2)
  into.timestamp = datagram.readUInt32BE(4)
  into.ssrc = datagram.readUInt32BE(8)
  const csrcs = into.csrcs
  csrcs.length = csrcCount
  for (let index = 0; index < csrcCount; index++) csrcs[index] = datagram.readUInt32BE(RTP_HEADER_LENGTH + index * 4)
  into.extensionProfile = profile
  into.extensionData = extensionData
  into.payload = datagram.subarray(offset, length - paddingLength)
  into.paddingLength = paddingLength
  return into
}

/**
 * RTP/RTCP demultiplexing on one port (RFC 5761 §4): RTCP packet types
 * 192..223 put 64..95 in the octet where RTP keeps marker and payload type.
 */
export const isRtcp = (datagram: Uint8Array): boolean => {
  if (datagram.length < 2) return false
  const payloadType = (datagram[1] as number) & 0x7f
  return payloadType >= 64 && payloadType <= 95
}

export interface RtpHeaderInit {
  readonly marker?: boolean
  readonly payloadType: number
  readonly sequenceNumber: number
  readonly timestamp: number
  readonly ssrc: number
  readonly csrcs?: readonly number[]
  /** Extension body; its length must be a multiple of 4 octets. */
  readonly extension?: {readonly profile: number; readonly data: Uint8Array}
  /** Padding octets to append, count octet included (0 for none, at most 255). */
  readonly paddingLength?: number
}

const checkField = (name: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`RTP ${name} ${value} is outside 0..${max}`)
}

const validateHeader = (header: RtpHeaderInit): void => {
  checkField('payload type', header.payloadType, 0x7f)
  checkField('sequence number', header.sequenceNumber, 0xffff)
  checkField('timestamp', header.timestamp, 0xffffffff)
  checkField('SSRC', header.ssrc, 0xffffffff)
  const csrcs = header.csrcs ?? []
  if (csrcs.length > MAX_CSRC_COUNT) throw new RangeError(`RTP carries at most ${MAX_CSRC_COUNT} CSRCs, got ${csrcs.length}`)
  for (const csrc of csrcs) checkField('CSRC', csrc, 0xffffffff)
  if (header.extension) {
    checkField('extension profile', header.extension.profile, 0xffff)
    const size = header.extension.data.length
    if (size % 4 !== 0 || size / 4 > 0xffff) throw new RangeError(`RTP extension length ${size} is not a multiple of 4 up to 262140`)
  }
  checkField('padding length', header.paddingLength ?? 0, 0xff)
}

/** Octets a packet with this header and payload length occupies on the wire. */
export const rtpPacketLength = (header: RtpHeaderInit, payloadLength: number): number =>
  RTP_HEADER_LENGTH +
  (header.csrcs?.length ?? 0) * 4 +
  (header.extension ? 4 + header.extension.data.length : 0) +
  payloadLength +
  (header.paddingLength ?? 0)

/**
 * Writes a packet into `target` at `offset` and returns the octets written,
 * so a sender can reuse one buffer per stream. Throws RangeError on fields
 * out of range or a target that is too small: those are programming errors.
 */
export const writeRtp = (target: Buffer, offset: number, header: RtpHeaderInit, payload: Uint8Array): number => {
  validateHeader(header)
  const total = rtpPacketLength(header, payload.length)
  if (offset < 0 || offset + total > target.length) throw new RangeError(`RTP packet of ${total} octets does not fit at offset ${offset}`)
  const csrcs = header.csrcs ?? []
  const padding = header.paddingLength ?? 0
  target[offset] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (header.extension ? 0x10 : 0) | csrcs.length
  target[offset + 1] = (header.marker ? 0x80 : 0) | header.payloadType
  target.writeUInt16BE(header.sequenceNumber, offset + 2)
  target.writeUInt32BE(header.timestamp, offset + 4)
  target.writeUInt32BE(header.ssrc, offset + 8)
  let position = offset + RTP_HEADER_LENGTH
  for (const csrc of csrcs) {
    target.writeUInt32BE(csrc, position)
    position += 4
  }
  if (header.extension) {
    target.writeUInt16BE(header.extension.profile, position)
    target.writeUInt16BE(header.extension.data.length / 4, position + 2)
    target.set(header.extension.data, position + 4)
    position += 4 + header.extension.data.length
  }
  target.set(payload, position)
  position += payload.length
  if (padding > 0) {
    target.fill(0, position, position + padding - 1)
    target[position + padding - 1] = padding
    position += padding
  }
  return position - offset
}

/** Serializes a packet into a new buffer. */
export const serializeRtp = (header: RtpHeaderInit, payload: Uint8Array): Buffer => {
  validateHeader(header)
  const packet = Buffer.allocUnsafe(rtpPacketLength(header, payload.length))
  writeRtp(packet, 0, header, payload)
  return packet
}
