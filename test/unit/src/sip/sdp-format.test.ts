// formatLocalSdp writes our SDP by hand; what it writes must stay what
// sdp-transform's writer wrote for the same description, octet for octet
// (peers and tests saw that text for a long time). Here the old writer is the
// reference, over every combination of what a local description carries.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import * as sdpTransform from 'sdp-transform'
import {formatLocalSdp, parseRemoteSdp, telephoneEventsOf, type LocalAudioSdp, type SdpCodec, type SdpCrypto} from '../../../../src/sip/sdp.js'

/** The writer formatLocalSdp replaced, kept as the reference. */
const referenceFormat = (local: LocalAudioSdp): string => {
  const ipVer = local.address.includes(':') ? 6 : 4
  const codecs = [...local.codecs, ...telephoneEventsOf(local)]
  const audio: sdpTransform.MediaDescription = {
    type: 'audio',
    port: local.port,
    protocol: local.protocol,
    payloads: codecs.map((codec) => codec.payloadType).join(' '),
    rtp: codecs.map((codec) => ({payload: codec.payloadType, codec: codec.name, rate: codec.clockRate, ...(codec.channels === undefined || codec.channels === 1 ? {} : {encoding: codec.channels})})),
    fmtp: codecs.flatMap((codec) => (codec.fmtp === undefined ? [] : [{payload: codec.payloadType, config: codec.fmtp}])),
    ptime: local.ptime,
    direction: local.direction,
    ...(local.crypto === undefined || local.crypto.length === 0 ? {} : {crypto: local.crypto.map((line) => ({id: line.tag, suite: line.suite, config: line.keyParams, ...(line.sessionParams === undefined ? {} : {sessionConfig: line.sessionParams})}))}),
  }
  const media: sdpTransform.MediaDescription[] = [audio]
  for (const rejected of [...local.rejected].sort((a, b) => a.index - b.index)) {
    media.splice(rejected.index, 0, {type: rejected.type, port: 0, protocol: rejected.protocol, payloads: rejected.formats, rtp: [], fmtp: []})
  }
  return sdpTransform.write({
    version: 0,
    origin: {username: local.username, sessionId: local.sessionId, sessionVersion: Number(local.sessionVersion), netType: 'IN', ipVer, address: local.address},
    name: '-',
    connection: {version: ipVer, ip: local.address},
    timing: {start: 0, stop: 0},
    media,
  })
}

const PCMU: SdpCodec = {payloadType: 0, name: 'PCMU', clockRate: 8000}
const PCMA: SdpCodec = {payloadType: 8, name: 'PCMA', clockRate: 8000}
const G722: SdpCodec = {payloadType: 9, name: 'G722', clockRate: 8000, channels: 1}
const OPUS: SdpCodec = {payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1'}
const CRYPTO: SdpCrypto[] = [
  {tag: 1, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20|1:32'},
  {tag: 2, suite: 'AES_CM_128_HMAC_SHA1_32', keyParams: 'inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj', sessionParams: 'KDR=1'},
]

const cases = (): LocalAudioSdp[] => {
  const all: LocalAudioSdp[] = []
  const codecSets = [[PCMU], [PCMA, PCMU], [OPUS, PCMU, PCMA], [G722, OPUS], []]
  const rejectedSets = [[], [{index: 0, type: 'video', protocol: 'RTP/AVP', formats: '96 97'}], [{index: 2, type: 'application', protocol: 'UDP/DTLS/SCTP', formats: 'webrtc-datachannel'}, {index: 0, type: 'video', protocol: 'RTP/SAVPF', formats: '96'}]]
  let n = 0
  for (const address of ['192.0.2.10', '2001:db8::7']) {
    for (const codecs of codecSets) {
      for (const telephoneEventPt of [undefined, 101]) {
        for (const crypto of [undefined, [], CRYPTO.slice(0, 1), CRYPTO]) {
          for (const rejected of rejectedSets) {
            n++
            all.push({
              username: n % 2 === 0 ? 'clutchcall' : '-',
              sessionId: String(1_000_000 + n),
              sessionVersion: n % 5 === 0 ? '98765432109876543210' : String(n),
              address,
              port: 10_000 + 2 * n,
              protocol: crypto === undefined || crypto.length === 0 ? 'RTP/AVP' : 'RTP/SAVP',
              direction: (['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const)[n % 4] ?? 'sendrecv',
              codecs,
              telephoneEventPt,
              ptime: [20, 10, 30, 40][n % 4] ?? 20,
              crypto,
              rejected,
            })
          }
        }
      }
    }
  }
  return all
}

describe('formatLocalSdp', () => {
  it('writes exactly what sdp-transform wrote for the same description, in every combination', () => {
    const all = cases()
    assert.ok(all.length >= 200)
    for (const local of all) assert.equal(formatLocalSdp(local), referenceFormat(local), JSON.stringify(local))
  })

  it('writes SDP that our own parser reads back to the same stream', () => {
    const local = cases().find((entry) => entry.codecs.length === 3 && entry.telephoneEventPt === 101 && entry.crypto?.length === 2 && entry.rejected.length === 2 && !entry.address.includes(':'))
    assert.ok(local)
    const read = parseRemoteSdp(formatLocalSdp(local))
    assert.equal(read.address, local.address)
    assert.equal(read.port, local.port)
    assert.equal(read.mediaIndex, 1, 'the audio stream sits between the rejected ones')
    assert.deepEqual(read.payloads.map((payload) => payload.payloadType), [111, 0, 8, 101, 96])
    assert.deepEqual(read.crypto.map((line) => line.tag), [1, 2])
    assert.equal(read.ptime, local.ptime)
  })
})
