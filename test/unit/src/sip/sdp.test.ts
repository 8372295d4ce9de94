import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {formatLocalSdp, parseRemoteSdp, PCMA, PCMU, SdpError, type LocalAudioSdp} from '../../../../src/sip/sdp.js'
import {SDP_BODY} from './fixtures.js'

const lines = (...list: string[]): string => `${list.join('\r\n')}\r\n`

const rejectsSdp = (sdp: string, code: SdpError['code']): void => {
  assert.throws(() => parseRemoteSdp(sdp), (error: unknown) => error instanceof SdpError && error.code === code && error.status === (code === 'malformed' ? 400 : 488), sdp)
}

describe('parseRemoteSdp', () => {
  it('reads address, port, payloads, telephone-event, ptime, direction, RTCP and origin', () => {
    const remote = parseRemoteSdp(Buffer.from(SDP_BODY))
    assert.equal(remote.address, '192.0.2.10')
    assert.equal(remote.port, 49170)
    assert.deepEqual(remote.payloads.map((payload) => [payload.payloadType, payload.name, payload.clockRate]), [[0, 'PCMU', 8000], [8, 'PCMA', 8000], [101, 'telephone-event', 8000]])
    assert.equal(remote.payloads[2]?.fmtp, '0-16')
    assert.equal(remote.telephoneEventPt, 101)
    assert.equal(remote.ptime, 20)
    assert.equal(remote.direction, 'sendrecv')
    assert.equal(remote.onHold, false)
    assert.deepEqual([remote.rtcpAddress, remote.rtcpPort, remote.rtcpMux], ['192.0.2.10', 49171, false])
    assert.deepEqual([remote.sessionId, remote.sessionVersion], ['2890844526', '2890844526'])
  })

  it('uses static payload types without rtpmap and skips unknown dynamic ones', () => {
    const remote = parseRemoteSdp(lines('v=0', 'o=- 1 1 IN IP4 198.51.100.1', 's=-', 'c=IN IP4 198.51.100.1', 't=0 0', 'm=audio 4000 RTP/AVP 18 96 8 0', 'a=rtpmap:18 G729/8000'))
    assert.deepEqual(remote.payloads.map((payload) => payload.name), ['G729', 'PCMA', 'PCMU'])
    assert.equal(remote.telephoneEventPt, undefined)
    assert.equal(remote.ptime, undefined)
  })

  it('prefers media-level c= and attributes, and reads a=rtcp and rtcp-mux', () => {
    const sdp = lines('v=0', 'o=- 1 2 IN IP6 2001:db8::1', 's=-', 'c=IN IP6 2001:db8::1', 't=0 0', 'a=recvonly', 'm=audio 5000 RTP/AVP 0', 'c=IN IP6 2001:db8::2', 'a=rtcp:5005 IN IP6 2001:db8::3', 'a=sendonly')
    const remote = parseRemoteSdp(sdp)
    assert.deepEqual([remote.address, remote.direction, remote.rtcpAddress, remote.rtcpPort], ['2001:db8::2', 'sendonly', '2001:db8::3', 5005])
    const muxed = parseRemoteSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'a=recvonly', 'm=audio 5000 RTP/AVP 0', 'a=rtcp-mux'))
    assert.deepEqual([muxed.direction, muxed.rtcpPort, muxed.rtcpMux], ['recvonly', 5000, true])
  })

  it('treats c=0.0.0.0 as hold', () => {
    const held = parseRemoteSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 5000 RTP/AVP 0'))
    assert.deepEqual([held.onHold, held.direction], [true, 'sendonly'])
    const heldRecvonly = parseRemoteSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 0.0.0.0', 't=0 0', 'm=audio 5000 RTP/AVP 0', 'a=recvonly'))
    assert.equal(heldRecvonly.direction, 'inactive')
  })

  it('picks the first usable audio line and remembers the others', () => {
    const remote = parseRemoteSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=video 6000 RTP/AVP 31', 'm=audio 0 RTP/AVP 0', 'm=audio 7000 UDP/TLS/RTP/SAVP 0', 'm=audio 8000 RTP/AVP 8'))
    assert.deepEqual([remote.mediaIndex, remote.port], [3, 8000])
    assert.deepEqual(remote.otherMedia.map((media) => [media.index, media.type, media.protocol, media.formats]), [[0, 'video', 'RTP/AVP', '31'], [1, 'audio', 'RTP/AVP', '0'], [2, 'audio', 'UDP/TLS/RTP/SAVP', '0']])
  })

  it('takes RTP/SAVP (SDES-SRTP) audio with its crypto lines; whether to use it is the policy\'s (sdp-srtp.ts)', () => {
    const remote = parseRemoteSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 7000 RTP/SAVP 0', 'a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20'))
    assert.equal(remote.protocol, 'RTP/SAVP')
    assert.deepEqual(remote.crypto, [{tag: 3, suite: 'AES_CM_128_HMAC_SHA1_80', keyParams: 'inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR|2^20'}])
  })

  it('accepts LF-only line ends', () => {
    assert.equal(parseRemoteSdp(SDP_BODY.replaceAll('\r\n', '\n')).port, 49170)
  })

  it('rejects malformed SDP with 400 and SDP without usable audio with 488', () => {
    rejectsSdp('', 'malformed')
    rejectsSdp('hello', 'malformed')
    rejectsSdp(SDP_BODY.replace('v=0', 'v=1'), 'malformed')
    rejectsSdp(SDP_BODY.replace(/^o=.*$/m, 'o=broken'), 'malformed')
    rejectsSdp(SDP_BODY.replace('a=ptime:20', 'garbage line'), 'malformed')
    rejectsSdp(SDP_BODY.replace('m=audio 49170 RTP/AVP 0 8 101', 'm=audio 49170 RTP/AVP'), 'malformed')
    rejectsSdp(SDP_BODY.replace('m=audio 49170 RTP/AVP 0 8 101', 'm=audio 49170 RTP/AVP 0 300'), 'malformed')
    rejectsSdp(SDP_BODY.replace('c=IN IP4 192.0.2.10', 'c=IN IP4 not-an-ip'), 'malformed')
    rejectsSdp(SDP_BODY.replace('c=IN IP4 192.0.2.10\r\n', ''), 'malformed')
    rejectsSdp(SDP_BODY.replace('m=audio 49170', 'm=audio 99999'), 'malformed')
    rejectsSdp(SDP_BODY.replace('a=ptime:20', 'a=rtcp:70000'), 'malformed')
    rejectsSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0'), 'malformed')
    rejectsSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=video 5000 RTP/AVP 31'), 'no-audio')
    rejectsSdp(lines('v=0', 'o=- 1 2 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', 'm=audio 5000 UDP/TLS/RTP/SAVPF 111'), 'no-audio')
  })
})

describe('parseRemoteSdp under mutation', () => {
  it('throws only SdpError, and what it accepts is usable', () => {
    let state = 0x5d9
    const random = (): number => {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
      return state / 4_294_967_296
    }
    const base = `${SDP_BODY}m=video 5000 RTP/AVP 31\r\na=rtcp:5001 IN IP4 192.0.2.20\r\n`
    const pieces = [' ', ':', '/', '0', '9', '\r\n', 'a=', '-', '0.0.0.0', 'sendonly']
    let accepted = 0
    for (let iteration = 0; iteration < 5_000; iteration++) {
      let text = base
      for (let round = 0; round < 1 + Math.floor(random() * 3); round++) {
        const at = Math.floor(random() * text.length)
        const cut = Math.floor(random() * 5)
        text = random() < 0.5 ? text.slice(0, at) + pieces[Math.floor(random() * pieces.length)] + text.slice(at) : text.slice(0, at) + text.slice(at + cut)
      }
      try {
        const remote = parseRemoteSdp(text)
        assert.ok(remote.port > 0 && remote.port <= 65_535 && remote.rtcpPort <= 65_535, text)
        accepted++
      } catch (error) {
        assert.ok(error instanceof SdpError, `${JSON.stringify(text)}: ${String(error)}`)
      }
    }
    assert.ok(accepted > 500 && accepted < 5_000, `accepted ${accepted}`)
  })
})

describe('formatLocalSdp', () => {
  const local: LocalAudioSdp = {
    username: 'clutchcall', sessionId: '12345', sessionVersion: '12346', address: '203.0.113.5', port: 20000, protocol: 'RTP/AVP', direction: 'sendrecv',
    codecs: [PCMU, PCMA], telephoneEventPt: 101, ptime: 20, rejected: [],
  }

  it('writes a complete audio description', () => {
    assert.equal(formatLocalSdp(local), lines(
      'v=0', 'o=clutchcall 12345 12346 IN IP4 203.0.113.5', 's=-', 'c=IN IP4 203.0.113.5', 't=0 0', 'm=audio 20000 RTP/AVP 0 8 101',
      'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv',
    ))
  })

  it('writes IPv6 and rejected media in place, and parses back', () => {
    const text = formatLocalSdp({...local, address: '2001:db8::5', telephoneEventPt: undefined, codecs: [PCMA], rejected: [{index: 0, type: 'video', protocol: 'RTP/AVP', formats: '31 34'}]})
    assert.match(text, /\r\nc=IN IP6 2001:db8::5\r\nt=0 0\r\nm=video 0 RTP\/AVP 31 34\r\nm=audio 20000 RTP\/AVP 8\r\n/)
    const remote = parseRemoteSdp(text)
    assert.deepEqual([remote.address, remote.mediaIndex, remote.payloads.map((payload) => payload.name)], ['2001:db8::5', 1, ['PCMA']])
  })
})
