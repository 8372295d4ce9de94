import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {rtcpReportJson} from '../../../../src/hep/rtcp-json.js'
import {buildCompoundReport} from '../../../../src/media/rtcp.js'

const block = {ssrc: 0xaabbccdd, fractionLost: 12, cumulativeLost: 34, extendedHighestSeq: 0x00010203, jitter: 56, lastSenderReport: 0x12345678, delaySinceLastSenderReport: 0x9abc}

describe('RTCP report as Homer JSON (HEP type 5)', () => {
  it('an SR with a report block: sender information and the block under heplify field names', () => {
    const datagram = buildCompoundReport({
      ssrc: 0x01020304,
      cname: 'clutchcall-x',
      sender: {ntpSeconds: 3_900_000_000, ntpFraction: 0x80000000, rtpTimestamp: 160, packetCount: 50, octetCount: 8000},
      reports: [block],
    })
    assert.deepEqual(rtcpReportJson(datagram), {
      type: 200,
      ssrc: 0x01020304,
      report_count: 1,
      sender_information: {ntp_timestamp_sec: 3_900_000_000, ntp_timestamp_usec: 0x80000000, rtp_timestamp: 160, packets: 50, octets: 8000},
      report_blocks: [{source_ssrc: 0xaabbccdd, fraction_lost: 12, packets_lost: 34, highest_seq_no: 0x00010203, ia_jitter: 56, lsr: 0x12345678, dlsr: 0x9abc}],
      sdes_ssrc: 0x01020304,
    })
  })

  it('an RR (with a BYE after it): type 201, zeroed sender information', () => {
    const json = rtcpReportJson(buildCompoundReport({ssrc: 7, cname: 'c', reports: [], bye: {reason: 'bye'}}))
    assert.equal(json?.type, 201)
    assert.equal(json?.report_count, 0)
    assert.deepEqual(json?.sender_information, {ntp_timestamp_sec: 0, ntp_timestamp_usec: 0, rtp_timestamp: 0, packets: 0, octets: 0})
    assert.deepEqual(json?.report_blocks, [])
  })

  it('nothing for garbage or a compound without SR/RR', () => {
    assert.equal(rtcpReportJson(Buffer.from('hello world!')), undefined)
    assert.equal(rtcpReportJson(Buffer.from([0x81, 203, 0, 1, 0, 0, 0, 7])), undefined)
  })
})
