// RTCP compound packets (RFC 3550 §6.4 SR/RR, §6.5 SDES, §6.6 BYE). Parsing
// returns a failure reason instead of throwing; packet types this module does
// not interpret (APP, RTPFB, PSFB, XR...) are kept as opaque views so the
// walk over the compound packet continues past them. NTP and round-trip
// helpers live in ntp.ts.

export const RTCP_SR = 200
export const RTCP_RR = 201
export const RTCP_SDES = 202
export const RTCP_BYE = 203

const SDES_END = 0
const SDES_CNAME = 1
const REPORT_BLOCK_LENGTH = 24
const SENDER_INFO_LENGTH = 20
const MAX_COUNT = 31

/** One reception report block (RFC 3550 §6.4.1). */
export interface ReportBlock {
  readonly ssrc: number
  /** Fraction of packets lost since the previous report, in 1/256 (0..255). */
  readonly fractionLost: number
  /** Cumulative packets lost, 24-bit signed (negative when duplicates outnumber losses). */
  readonly cumulativeLost: number
  readonly extendedHighestSeq: number
  /** Interarrival jitter in timestamp units. */
  readonly jitter: number
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source (0 if none). */
  readonly lastSenderReport: number
  /** Delay since that SR in 1/65536 s (0 if none). */
  readonly delaySinceLastSenderReport: number
}

/** The sender information of an SR (RFC 3550 §6.4.1). */
export interface SenderInfo {
  readonly ntpSeconds: number
  readonly ntpFraction: number
  readonly rtpTimestamp: number
  readonly packetCount: number
  readonly octetCount: number
}

export interface SenderReportPacket extends SenderInfo {
  readonly type: 'SR'
  readonly ssrc: number
  readonly reports: readonly ReportBlock[]
}

export interface ReceiverReportPacket {
  readonly type: 'RR'
  readonly ssrc: number
  readonly reports: readonly ReportBlock[]
}

export interface SdesChunk {
  readonly ssrc: number
  /** The CNAME item; other SDES items are skipped. */
  readonly cname: string | undefined
}

export interface SourceDescriptionPacket {
  readonly type: 'SDES'
  readonly chunks: readonly SdesChunk[]
}

export interface ByePacket {
  readonly type: 'BYE'
  readonly ssrcs: readonly number[]
  readonly reason: string | undefined
}

/** A packet type this module does not interpret; `body` is a view after the 4-octet header. */
export interface OtherRtcpPacket {
  readonly type: 'other'
  readonly packetType: number
  /** The 5-bit count/subtype field. */
  readonly count: number
  readonly body: Buffer
}

export type RtcpPacket = SenderReportPacket | ReceiverReportPacket | SourceDescriptionPacket | ByePacket | OtherRtcpPacket

export type RtcpParseFailureReason =
  /** Empty, or a header or length field that runs past the end. */
  | 'truncated'
  /** A packet whose version is not 2. */
  | 'version'
  /** Padding on a packet other than the last, or a bad padding count (RFC 3550 A.2). */
  | 'padding'
  /** A body that does not hold what its count field announces. */
  | 'malformed'

export type RtcpParseResult = {readonly ok: true; readonly packets: RtcpPacket[]} | {readonly ok: false; readonly reason: RtcpParseFailureReason}

const fail = (reason: RtcpParseFailureReason): RtcpParseResult => ({ok: false, reason})

const readReportBlocks = (buf: Buffer, offset: number, count: number): ReportBlock[] => {
  const reports: ReportBlock[] = []
  for (let index = 0; index < count; index++) {
    const at = offset + index * REPORT_BLOCK_LENGTH
    reports.push({
      ssrc: buf.readUInt32BE(at),
      fractionLost: buf[at + 4] as number,
      cumulativeLost: buf.readIntBE(at + 5, 3),
      extendedHighestSeq: buf.readUInt32BE(at + 8),
      jitter: buf.readUInt32BE(at + 12),
      lastSenderReport: buf.readUInt32BE(at + 16),
      delaySinceLastSenderReport: buf.readUInt32BE(at + 20),
    })
  }
  return reports
}

const parseSdes = (buf: Buffer, start: number, bodyEnd: number, count: number): SourceDescriptionPacket | undefined => {
  const chunks: SdesChunk[] = []
  let at = start + 4
  for (let index = 0; index < count; index++) {
    if (at + 4 > bodyEnd) return undefined
    const ssrc = buf.readUInt32BE(at)
    at += 4
    let cname: string | undefined
    for (;;) {
      if (at >= bodyEnd) return undefined
      const itemType = buf[at] as number
      if (itemType === SDES_END) {
        // §6.5: the list ends with null octets up to the next 32-bit boundary.
        at = start + Math.ceil((at + 1 - start) / 4) * 4
        if (at > bodyEnd) return undefined
        break
      }
      if (at + 2 > bodyEnd) return undefined
      const itemEnd = at + 2 + (buf[at + 1] as number)
      if (itemEnd > bodyEnd) return undefined
      if (itemType === SDES_CNAME) cname = buf.toString('utf8', at + 2, itemEnd)
      at = itemEnd
    }
    chunks.push({ssrc, cname})
  }
  return {type: 'SDES', chunks}
}

const parseBye = (buf: Buffer, start: number, bodyEnd: number, count: number): ByePacket | undefined => {
  let at = start + 4
  if (at + count * 4 > bodyEnd) return undefined
  const ssrcs: number[] = []
  for (let index = 0; index < count; index++, at += 4) ssrcs.push(buf.readUInt32BE(at))
  let reason: string | undefined
  if (at < bodyEnd) {
    const reasonEnd = at + 1 + (buf[at] as number)
    if (reasonEnd > bodyEnd) return undefined
    reason = buf.toString('utf8', at + 1, reasonEnd)
  }
  return {type: 'BYE', ssrcs, reason}
}

/**
 * Parses an RTCP compound packet. Checks every header (version 2, lengths
 * that tile the datagram exactly, padding only on the last packet). The first
 * packet is not required to be SR or RR, so reduced-size RTCP (RFC 5506)
 * feedback still parses.
 */
export const parseRtcp = (datagram: Buffer): RtcpParseResult => {
  const total = datagram.length
  if (total === 0) return fail('truncated')
  const packets: RtcpPacket[] = []
  let start = 0
  while (start < total) {
    if (start + 4 > total) return fail('truncated')
    const first = datagram[start] as number
    if (first >> 6 !== 2) return fail('version')
    const count = first & 0x1f
    const packetType = datagram[start + 1] as number
    const end = start + (datagram.readUInt16BE(start + 2) + 1) * 4
    if (end > total) return fail('truncated')
    let bodyEnd = end
    if (first & 0x20) {
      if (end !== total) return fail('padding')
      const padding = datagram[end - 1] as number
      if (padding === 0 || padding > end - start - 4) return fail('padding')
      bodyEnd = end - padding
    }
    const body = bodyEnd - start - 4
    let packet: RtcpPacket | undefined
    switch (packetType) {
      case RTCP_SR:
        if (body < 4 + SENDER_INFO_LENGTH + count * REPORT_BLOCK_LENGTH) return fail('malformed')
        packet = {
          type: 'SR',
          ssrc: datagram.readUInt32BE(start + 4),
          ntpSeconds: datagram.readUInt32BE(start + 8),
          ntpFraction: datagram.readUInt32BE(start + 12),
          rtpTimestamp: datagram.readUInt32BE(start + 16),
          packetCount: datagram.readUInt32BE(start + 20),
          octetCount: datagram.readUInt32BE(start + 24),
          // Profile-specific extensions after the blocks are ignored (§6.4.1).
          reports: readReportBlocks(datagram, start + 28, count),
        }
        break
      case RTCP_RR:
        if (body < 4 + count * REPORT_BLOCK_LENGTH) return fail('malformed')
        packet = {type: 'RR', ssrc: datagram.readUInt32BE(start + 4), reports: readReportBlocks(datagram, start + 8, count)}
        break
      case RTCP_SDES:
        packet = parseSdes(datagram, start, bodyEnd, count)
        break
      case RTCP_BYE:
        packet = parseBye(datagram, start, bodyEnd, count)
        break
      default:
        packet = {type: 'other', packetType, count, body: datagram.subarray(start + 4, bodyEnd)}
    }
    if (packet === undefined) return fail('malformed')
    packets.push(packet)
    start = end
  }
  return {ok: true, packets}
}

// ---- Serialization ----

const checkUint = (name: string, value: number, max: number): void => {
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`RTCP ${name} ${value} is outside 0..${max}`)
}

const MAX_UINT32 = 0xffffffff
const MIN_CUMULATIVE_LOST = -0x800000
const MAX_CUMULATIVE_LOST = 0x7fffff

const writeHeader = (target: Buffer, at: number, count: number, packetType: number, length: number): void => {
  target[at] = 0x80 | count
  target[at + 1] = packetType
  // §6.4.1: the length field is the packet's length in 32-bit words minus one.
  target.writeUInt16BE(length / 4 - 1, at + 2)
}

const writeReportBlock = (target: Buffer, at: number, block: ReportBlock): void => {
  checkUint('report SSRC', block.ssrc, MAX_UINT32)
  checkUint('fraction lost', block.fractionLost, 0xff)
  if (!Number.isInteger(block.cumulativeLost)) throw new RangeError(`RTCP cumulative lost ${block.cumulativeLost} is not an integer`)
  checkUint('extended highest sequence', block.extendedHighestSeq, MAX_UINT32)
  checkUint('jitter', block.jitter, MAX_UINT32)
  checkUint('LSR', block.lastSenderReport, MAX_UINT32)
  checkUint('DLSR', block.delaySinceLastSenderReport, MAX_UINT32)
  target.writeUInt32BE(block.ssrc, at)
  target[at + 4] = block.fractionLost
  // §6.4.1: a 24-bit signed field; values beyond it saturate (A.3).
  target.writeIntBE(Math.min(MAX_CUMULATIVE_LOST, Math.max(MIN_CUMULATIVE_LOST, block.cumulativeLost)), at + 5, 3)
  target.writeUInt32BE(block.extendedHighestSeq, at + 8)
  target.writeUInt32BE(block.jitter, at + 12)
  target.writeUInt32BE(block.lastSenderReport, at + 16)
  target.writeUInt32BE(block.delaySinceLastSenderReport, at + 20)
}

const serializeReport = (packet: SenderReportPacket | ReceiverReportPacket): Buffer => {
  if (packet.reports.length > MAX_COUNT) throw new RangeError(`an RTCP ${packet.type} holds at most ${MAX_COUNT} report blocks, got ${packet.reports.length}`)
  checkUint('SSRC', packet.ssrc, MAX_UINT32)
  const blocksAt = packet.type === 'SR' ? 8 + SENDER_INFO_LENGTH : 8
  const length = blocksAt + packet.reports.length * REPORT_BLOCK_LENGTH
  const out = Buffer.alloc(length)
  writeHeader(out, 0, packet.reports.length, packet.type === 'SR' ? RTCP_SR : RTCP_RR, length)
  out.writeUInt32BE(packet.ssrc, 4)
  if (packet.type === 'SR') {
    checkUint('NTP seconds', packet.ntpSeconds, MAX_UINT32)
    checkUint('NTP fraction', packet.ntpFraction, MAX_UINT32)
    checkUint('RTP timestamp', packet.rtpTimestamp, MAX_UINT32)
    out.writeUInt32BE(packet.ntpSeconds, 8)
    out.writeUInt32BE(packet.ntpFraction, 12)
    out.writeUInt32BE(packet.rtpTimestamp, 16)
    // §6.4.1: the counts wrap around modulo 2^32.
    out.writeUInt32BE(packet.packetCount >>> 0, 20)
    out.writeUInt32BE(packet.octetCount >>> 0, 24)
  }
  packet.reports.forEach((block, index) => writeReportBlock(out, blocksAt + index * REPORT_BLOCK_LENGTH, block))
  return out
}

const serializeSdes = (packet: SourceDescriptionPacket): Buffer => {
  if (packet.chunks.length > MAX_COUNT) throw new RangeError(`an RTCP SDES holds at most ${MAX_COUNT} chunks, got ${packet.chunks.length}`)
  const encoded = packet.chunks.map((chunk) => {
    checkUint('SDES SSRC', chunk.ssrc, MAX_UINT32)
    const cname = chunk.cname === undefined ? undefined : Buffer.from(chunk.cname, 'utf8')
    if (cname !== undefined && cname.length > 255) throw new RangeError(`an SDES CNAME holds at most 255 octets, got ${cname.length}`)
    return {ssrc: chunk.ssrc, cname}
  })
  // §6.5: each chunk's items end with at least one null octet, padded to 32 bits.
  const itemsLength = (cname: Buffer | undefined): number => (cname === undefined ? 4 : (((2 + cname.length) >> 2) + 1) * 4)
  const length = 4 + encoded.reduce((sum, chunk) => sum + 4 + itemsLength(chunk.cname), 0)
  const out = Buffer.alloc(length)
  writeHeader(out, 0, encoded.length, RTCP_SDES, length)
  let at = 4
  for (const chunk of encoded) {
    out.writeUInt32BE(chunk.ssrc, at)
    if (chunk.cname !== undefined) {
      out[at + 4] = SDES_CNAME
      out[at + 5] = chunk.cname.length
      chunk.cname.copy(out, at + 6)
    }
    at += 4 + itemsLength(chunk.cname)
  }
  return out
}

const serializeBye = (packet: ByePacket): Buffer => {
  if (packet.ssrcs.length > MAX_COUNT) throw new RangeError(`an RTCP BYE holds at most ${MAX_COUNT} SSRCs, got ${packet.ssrcs.length}`)
  const reason = packet.reason === undefined ? undefined : Buffer.from(packet.reason, 'utf8')
  if (reason !== undefined && reason.length > 255) throw new RangeError(`a BYE reason holds at most 255 octets, got ${reason.length}`)
  // §6.6: the reason is padded with null octets to a 32-bit boundary.
  const reasonLength = reason === undefined ? 0 : Math.ceil((1 + reason.length) / 4) * 4
  const length = 4 + packet.ssrcs.length * 4 + reasonLength
  const out = Buffer.alloc(length)
  writeHeader(out, 0, packet.ssrcs.length, RTCP_BYE, length)
  packet.ssrcs.forEach((ssrc, index) => {
    checkUint('BYE SSRC', ssrc, MAX_UINT32)
    out.writeUInt32BE(ssrc, 4 + index * 4)
  })
  if (reason !== undefined) {
    const at = 4 + packet.ssrcs.length * 4
    out[at] = reason.length
    reason.copy(out, at + 1)
  }
  return out
}

/** Serializes one SR, RR, SDES or BYE packet (without RTCP padding: every packet is already a multiple of 32 bits). */
export const serializeRtcpPacket = (packet: SenderReportPacket | ReceiverReportPacket | SourceDescriptionPacket | ByePacket): Buffer => {
  switch (packet.type) {
    case 'SR':
    case 'RR':
      return serializeReport(packet)
    case 'SDES':
      return serializeSdes(packet)
    case 'BYE':
      return serializeBye(packet)
  }
}

export interface CompoundReportInit {
  /** SSRC of the local sender of this report. */
  readonly ssrc: number
  readonly cname: string
  /** Present when the local side sent RTP since the last report: an SR instead of an RR (§6.4). */
  readonly sender?: SenderInfo
  readonly reports?: readonly ReportBlock[]
  /** Appends a BYE for `ssrc` (§6.1: BYE is the last packet of the compound). */
  readonly bye?: {readonly reason?: string}
}

/**
 * Builds a valid compound packet (§6.1): SR or RR first, extra RRs when there
 * are more than 31 report blocks (§6.4.2), then SDES with the CNAME, then BYE.
 */
export const buildCompoundReport = (init: CompoundReportInit): Buffer => {
  const reports = init.reports ?? []
  const head = reports.slice(0, MAX_COUNT)
  const parts: Buffer[] = [
    serializeReport(init.sender ? {type: 'SR', ssrc: init.ssrc, ...init.sender, reports: head} : {type: 'RR', ssrc: init.ssrc, reports: head}),
  ]
  for (let from = MAX_COUNT; from < reports.length; from += MAX_COUNT) {
    parts.push(serializeReport({type: 'RR', ssrc: init.ssrc, reports: reports.slice(from, from + MAX_COUNT)}))
  }
  parts.push(serializeSdes({type: 'SDES', chunks: [{ssrc: init.ssrc, cname: init.cname}]}))
  if (init.bye) parts.push(serializeBye({type: 'BYE', ssrcs: [init.ssrc], reason: init.bye.reason}))
  return Buffer.concat(parts)
}
