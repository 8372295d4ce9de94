// The payload of a HEP type 5 frame: one RTCP compound packet as the JSON
// object Homer reads (the field names heplify and captagent use), so
// heplify-server and Homer's UI show the report beside the SIP ladder:
//
//   {"type":200,"ssrc":…,"report_count":1,
//    "sender_information":{"ntp_timestamp_sec":…,"ntp_timestamp_usec":…,"rtp_timestamp":…,"packets":…,"octets":…},
//    "report_blocks":[{"source_ssrc":…,"fraction_lost":…,"packets_lost":…,"highest_seq_no":…,"ia_jitter":…,"lsr":…,"dlsr":…}],
//    "sdes_ssrc":…}
//
// `type` and `ssrc` are those of the compound's first SR or RR; an RR carries
// `sender_information` with zeros, as heplify writes it. `ntp_timestamp_usec`
// is the NTP fraction (the least significant word), again as heplify writes it.
// `packets_lost` is the cumulative loss, signed as RFC 3550 defines it.
import {parseRtcp, RTCP_RR, RTCP_SR, type ReportBlock} from '../media/rtcp.js'

export interface RtcpJsonReportBlock {
  readonly source_ssrc: number
  readonly fraction_lost: number
  readonly packets_lost: number
  readonly highest_seq_no: number
  readonly ia_jitter: number
  readonly lsr: number
  readonly dlsr: number
}

export interface RtcpJson {
  readonly type: number
  readonly ssrc: number
  readonly report_count: number
  readonly sender_information: {
    readonly ntp_timestamp_sec: number
    readonly ntp_timestamp_usec: number
    readonly rtp_timestamp: number
    readonly packets: number
    readonly octets: number
  }
  readonly report_blocks: readonly RtcpJsonReportBlock[]
  readonly sdes_ssrc: number
}

const block = (report: ReportBlock): RtcpJsonReportBlock => ({
  source_ssrc: report.ssrc,
  fraction_lost: report.fractionLost,
  packets_lost: report.cumulativeLost,
  highest_seq_no: report.extendedHighestSeq,
  ia_jitter: report.jitter,
  lsr: report.lastSenderReport,
  dlsr: report.delaySinceLastSenderReport,
})

/** The report in a compound RTCP datagram, or undefined when it does not parse or holds no SR/RR. */
export const rtcpReportJson = (datagram: Buffer): RtcpJson | undefined => {
  const parsed = parseRtcp(datagram)
  if (!parsed.ok) return undefined
  const report = parsed.packets.find((packet) => packet.type === 'SR' || packet.type === 'RR')
  if (report === undefined || (report.type !== 'SR' && report.type !== 'RR')) return undefined
  const sdes = parsed.packets.find((packet) => packet.type === 'SDES')
  const sdesSsrc = sdes?.type === 'SDES' ? (sdes.chunks[0]?.ssrc ?? 0) : 0
  // Report blocks of every SR/RR in the compound (more than 31 sources take extra RRs, RFC 3550 §6.4.2).
  const blocks: RtcpJsonReportBlock[] = []
  for (const packet of parsed.packets) if (packet.type === 'SR' || packet.type === 'RR') blocks.push(...packet.reports.map(block))
  return {
    type: report.type === 'SR' ? RTCP_SR : RTCP_RR,
    ssrc: report.ssrc,
    report_count: report.reports.length,
    sender_information:
      report.type === 'SR'
        ? {ntp_timestamp_sec: report.ntpSeconds, ntp_timestamp_usec: report.ntpFraction, rtp_timestamp: report.rtpTimestamp, packets: report.packetCount, octets: report.octetCount}
        : {ntp_timestamp_sec: 0, ntp_timestamp_usec: 0, rtp_timestamp: 0, packets: 0, octets: 0},
    report_blocks: blocks,
    sdes_ssrc: sdesSsrc,
  }
}
