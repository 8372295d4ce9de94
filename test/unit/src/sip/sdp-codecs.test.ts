// G.722 and Opus in offer/answer: payload types, the 8 kHz clock of G.722,
// opus/48000/2 with our fmtp, and offers whose fmtp is odd.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {answerAudioOffer, createAudioOffer} from '../../../../src/sip/sdp-offer-answer.js'
import {audioCodecName, formatLocalSdp, opusMaxAverageBitrate, parseRemoteSdp, SdpError, sdpCodecsFor} from '../../../../src/sip/sdp.js'

const offerWith = (mediaLines: string[]): string =>
  `${['v=0', 'o=phone 100 200 IN IP4 198.51.100.7', 's=call', 'c=IN IP4 198.51.100.7', 't=0 0', ...mediaLines].join('\r\n')}\r\n`

const ALL = sdpCodecsFor(['G722', 'opus', 'PCMU', 'PCMA'])

describe('G.722 and Opus in SDP', () => {
  it('offers G722/8000 on payload type 9 and opus/48000/2 on 111 with our fmtp, in the configured order', () => {
    const sdp = formatLocalSdp(createAudioOffer({address: '203.0.113.5', port: 20000, codecs: ALL}))
    assert.match(sdp, /m=audio 20000 RTP\/AVP 9 111 0 8 101 96\r\n/)
    assert.match(sdp, /a=rtpmap:9 G722\/8000\r\n/)
    assert.match(sdp, /a=rtpmap:111 opus\/48000\/2\r\n/)
    assert.match(sdp, /a=fmtp:111 maxplaybackrate=16000;sprop-maxcapturerate=16000\r\n/)
    // telephone-event at every codec clock: 101 at the first one (G.722's 8000), the lowest free dynamic type at Opus's 48000.
    assert.match(sdp, /a=rtpmap:101 telephone-event\/8000\r\n/)
    assert.match(sdp, /a=rtpmap:96 telephone-event\/48000\r\n/)
  })

  it('offers telephone-event at each clock, so DTMF survives whichever codec the peer answers with', () => {
    const opusFirst = formatLocalSdp(createAudioOffer({address: '203.0.113.5', port: 20000, codecs: sdpCodecsFor(['opus', 'PCMU'])}))
    assert.match(opusFirst, /m=audio 20000 RTP\/AVP 111 0 101 96\r\n/)
    assert.match(opusFirst, /a=rtpmap:101 telephone-event\/48000\r\n/)
    assert.match(opusFirst, /a=rtpmap:96 telephone-event\/8000\r\n/)
    // A peer that takes PCMU answers with the 8 kHz event type; one that takes Opus with the 48 kHz one.
    const pcmu = answerAudioOffer(opusFirst, {address: '198.51.100.7', port: 4000, codecs: sdpCodecsFor(['PCMU'])})
    assert.deepEqual([pcmu.codec.name, pcmu.telephoneEventPt], ['PCMU', 96])
    const opus = answerAudioOffer(opusFirst, {address: '198.51.100.7', port: 4000, codecs: sdpCodecsFor(['opus'])})
    assert.deepEqual([opus.codec.name, opus.telephoneEventPt], ['opus', 101])
    // One clock, one line; no telephone-event when it is off.
    assert.match(formatLocalSdp(createAudioOffer({address: '203.0.113.5', port: 20000, codecs: sdpCodecsFor(['PCMU', 'PCMA'])})), /m=audio 20000 RTP\/AVP 0 8 101\r\n/)
    assert.doesNotMatch(formatLocalSdp(createAudioOffer({address: '203.0.113.5', port: 20000, codecs: ALL, telephoneEvent: false})), /telephone-event/)
  })

  it('reads an Opus receiver\'s maxaveragebitrate, ignoring odd or out-of-range values', () => {
    assert.equal(opusMaxAverageBitrate('maxaveragebitrate=12000'), 12000)
    assert.equal(opusMaxAverageBitrate('useinbandfec=1; maxaveragebitrate=20000;stereo=0'), 20000)
    assert.equal(opusMaxAverageBitrate('MaxAverageBitrate=6000'), 6000)
    for (const fmtp of [undefined, '', 'useinbandfec=1', 'maxaveragebitrate=5999', 'maxaveragebitrate=510001', 'maxaveragebitrate=-8000', 'maxaveragebitrate=12k', 'maxaveragebitrate=999999999999999999999', 'xmaxaveragebitrate=8000', 'maxaveragebitrate=']) {
      assert.equal(opusMaxAverageBitrate(fmtp), undefined, String(fmtp))
    }
  })

  it('reads G.722 without a=rtpmap as the static payload type 9 on the 8 kHz clock', () => {
    const remote = parseRemoteSdp(offerWith(['m=audio 4000 RTP/AVP 9 0']))
    assert.deepEqual(remote.payloads.map((payload) => [payload.payloadType, payload.name, payload.clockRate]), [[9, 'G722', 8000], [0, 'PCMU', 8000]])
    assert.equal(audioCodecName(remote.payloads[0] as {name: string; clockRate: number}), 'G722')
  })

  it('answers a wideband phone with G.722 when allowed, else with the G.711 it also offers', () => {
    const offer = offerWith(['m=audio 4000 RTP/AVP 9 0 101', 'a=rtpmap:101 telephone-event/8000'])
    const wide = answerAudioOffer(offer, {address: '203.0.113.5', port: 20000, codecs: ALL})
    assert.deepEqual([wide.codec.payloadType, wide.codec.name, wide.telephoneEventPt], [9, 'G722', 101])
    assert.match(wide.sdp, /m=audio 20000 RTP\/AVP 9 101\r\n/)
    const narrow = answerAudioOffer(offer, {address: '203.0.113.5', port: 20000, codecs: sdpCodecsFor(['PCMU', 'PCMA'])})
    assert.equal(narrow.codec.name, 'PCMU')
  })

  it('answers Opus with the offer\'s dynamic payload type, telephone-event at 48 kHz, and our fmtp (not the offer\'s stereo)', () => {
    const offer = offerWith([
      'm=audio 4000 RTP/AVP 96 97 98',
      'a=rtpmap:96 opus/48000/2',
      'a=fmtp:96 stereo=1;sprop-stereo=1;useinbandfec=1',
      'a=rtpmap:97 telephone-event/8000',
      'a=rtpmap:98 telephone-event/48000',
    ])
    const answer = answerAudioOffer(offer, {address: '203.0.113.5', port: 20000, codecs: ALL})
    assert.deepEqual([answer.codec.payloadType, answer.telephoneEventPt], [96, 98])
    assert.match(answer.sdp, /a=rtpmap:96 opus\/48000\/2\r\n/)
    assert.match(answer.sdp, /a=fmtp:96 maxplaybackrate=16000;sprop-maxcapturerate=16000\r\n/)
    assert.match(answer.sdp, /a=rtpmap:98 telephone-event\/48000\r\n/)
    assert.doesNotMatch(answer.sdp, /stereo/)
  })

  it('takes opus/48000 without a channel count, and odd or hostile fmtp lines, without failing', () => {
    for (const fmtp of ['a=fmtp:96 stereo=banana;maxplaybackrate=-5;;;=;', 'a=fmtp:96 ' + 'x'.repeat(2000), 'a=fmtp:96 maxaveragebitrate=999999999999999999999', 'a=fmtp:97 useinbandfec=1']) {
      const answer = answerAudioOffer(offerWith(['m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 opus/48000', fmtp]), {address: '203.0.113.5', port: 20000, codecs: ALL})
      assert.equal(answer.codec.name, 'opus', fmtp.slice(0, 40))
      assert.match(answer.sdp, /a=fmtp:96 maxplaybackrate=16000;sprop-maxcapturerate=16000\r\n/)
    }
  })

  it('refuses Opus or G.722 on the wrong clock, and codecs the trunk does not allow, with 488', () => {
    const refused = (lines: string[], names: Parameters<typeof sdpCodecsFor>[0] = ['G722', 'opus']): SdpError => {
      try {
        answerAudioOffer(offerWith(lines), {address: '203.0.113.5', port: 20000, codecs: sdpCodecsFor(names)})
      } catch (error) {
        assert.ok(error instanceof SdpError)
        return error
      }
      return assert.fail('the offer was accepted')
    }
    assert.equal(refused(['m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 opus/16000']).status, 488)
    assert.equal(refused(['m=audio 4000 RTP/AVP 96', 'a=rtpmap:96 G722/16000']).status, 488)
    assert.equal(refused(['m=audio 4000 RTP/AVP 9'], ['PCMU']).status, 488)
  })
})
