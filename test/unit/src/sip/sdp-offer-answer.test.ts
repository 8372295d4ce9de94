import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {answerAudioOffer, answerDirection, createAudioOffer, createReoffer, holdDirection} from '../../../../src/sip/sdp-offer-answer.js'
import {formatLocalSdp, parseRemoteSdp, PCMA, PCMU, SdpError, type SdpDirection} from '../../../../src/sip/sdp.js'
import {SDP_BODY} from './fixtures.js'

const offerWith = (mediaLines: string[], connection = '198.51.100.7'): string =>
  `${['v=0', 'o=carrier 100 200 IN IP4 198.51.100.7', 's=call', `c=IN IP4 ${connection}`, 't=0 0', ...mediaLines].join('\r\n')}\r\n`

describe('createAudioOffer', () => {
  it('offers PCMU, PCMA and telephone-event 0-16 at ptime 20', () => {
    const local = createAudioOffer({address: '203.0.113.5', port: 20000})
    const sdp = formatLocalSdp(local)
    assert.match(sdp, /^v=0\r\no=clutchcall (\d+) \1 IN IP4 203\.0\.113\.5\r\ns=-\r\nc=IN IP4 203\.0\.113\.5\r\nt=0 0\r\nm=audio 20000 RTP\/AVP 0 8 101\r\n/)
    const remote = parseRemoteSdp(sdp)
    assert.deepEqual(remote.payloads.map((payload) => `${payload.payloadType} ${payload.name}/${payload.clockRate}`), ['0 PCMU/8000', '8 PCMA/8000', '101 telephone-event/8000'])
    assert.equal(remote.payloads[2]?.fmtp, '0-16')
    assert.deepEqual([remote.ptime, remote.direction, remote.port], [20, 'sendrecv', 20000])
  })

  it('honours direction, codec order and disabled DTMF', () => {
    const local = createAudioOffer({address: '203.0.113.5', port: 20002, direction: 'recvonly', codecs: [PCMA], telephoneEvent: false})
    const remote = parseRemoteSdp(formatLocalSdp(local))
    assert.deepEqual([remote.direction, remote.payloads.map((payload) => payload.name), remote.telephoneEventPt], ['recvonly', ['PCMA'], undefined])
    assert.notEqual(createAudioOffer({address: '203.0.113.5', port: 1}).sessionId, createAudioOffer({address: '203.0.113.5', port: 1}).sessionId)
  })
})

describe('createReoffer', () => {
  it('keeps the session id and increments the version for hold and unhold', () => {
    const offer = createAudioOffer({address: '203.0.113.5', port: 20000})
    const hold = createReoffer(offer, {direction: holdDirection(offer.direction)})
    const unhold = createReoffer(hold, {direction: 'sendrecv'})
    assert.equal(hold.sessionId, offer.sessionId)
    assert.equal(BigInt(hold.sessionVersion), BigInt(offer.sessionVersion) + 1n)
    assert.equal(BigInt(unhold.sessionVersion), BigInt(offer.sessionVersion) + 2n)
    const parsedHold = parseRemoteSdp(formatLocalSdp(hold))
    assert.deepEqual([parsedHold.direction, parsedHold.sessionId, parsedHold.sessionVersion], ['sendonly', offer.sessionId, hold.sessionVersion])
    assert.equal(parseRemoteSdp(formatLocalSdp(unhold)).direction, 'sendrecv')
  })

  it('holds to sendonly, or inactive when we were only receiving', () => {
    assert.deepEqual((['sendrecv', 'sendonly', 'recvonly', 'inactive'] as const).map(holdDirection), ['sendonly', 'sendonly', 'inactive', 'inactive'])
  })
})

describe('answerDirection (RFC 3264 §6.1)', () => {
  it('mirrors the offer and intersects with what we want', () => {
    const cases: Array<[SdpDirection, SdpDirection, SdpDirection]> = [
      ['sendrecv', 'sendrecv', 'sendrecv'], ['sendonly', 'sendrecv', 'recvonly'], ['recvonly', 'sendrecv', 'sendonly'], ['inactive', 'sendrecv', 'inactive'],
      ['sendrecv', 'sendonly', 'sendonly'], ['sendrecv', 'inactive', 'inactive'], ['sendonly', 'sendonly', 'inactive'], ['recvonly', 'recvonly', 'inactive'],
    ]
    for (const [offered, wanted, answered] of cases) assert.equal(answerDirection(offered, wanted), answered, `${offered} + ${wanted}`)
  })
})

describe('answerAudioOffer', () => {
  it('answers with the first offered codec we support, plus telephone-event with the offered number', () => {
    const offer = offerWith(['m=audio 30000 RTP/AVP 18 8 0 96', 'a=rtpmap:18 G729/8000', 'a=rtpmap:96 telephone-event/8000', 'a=fmtp:96 0-15'])
    const answer = answerAudioOffer(offer, {address: '203.0.113.5', port: 20000})
    assert.deepEqual([answer.codec.payloadType, answer.codec.name, answer.telephoneEventPt], [8, 'PCMA', 96])
    const parsed = parseRemoteSdp(answer.sdp)
    assert.deepEqual(parsed.payloads.map((payload) => `${payload.payloadType} ${payload.name}`), ['8 PCMA', '96 telephone-event'])
    assert.deepEqual([parsed.address, parsed.port, parsed.direction], ['203.0.113.5', 20000, 'sendrecv'])
    assert.deepEqual([answer.remote.address, answer.remote.port], ['198.51.100.7', 30000])
  })

  it('matches dynamic payload types by name and clock rate, and leaves out DTMF at another rate', () => {
    const offer = offerWith(['m=audio 30000 RTP/AVP 97 98', 'a=rtpmap:97 pcmu/8000', 'a=rtpmap:98 telephone-event/48000'])
    const answer = answerAudioOffer(offer, {address: '203.0.113.5', port: 20000})
    assert.deepEqual([answer.codec.payloadType, answer.telephoneEventPt], [97, undefined])
    assert.match(answer.sdp, /\r\nm=audio 20000 RTP\/AVP 97\r\na=rtpmap:97 pcmu\/8000\r\n/)
  })

  it('answers directions per RFC 3264 and treats c=0.0.0.0 as hold', () => {
    const direction = (offer: string): string => parseRemoteSdp(answerAudioOffer(offer, {address: '203.0.113.5', port: 20000}).sdp).direction
    assert.equal(direction(offerWith(['m=audio 30000 RTP/AVP 0', 'a=sendonly'])), 'recvonly')
    assert.equal(direction(offerWith(['m=audio 30000 RTP/AVP 0', 'a=recvonly'])), 'sendonly')
    assert.equal(direction(offerWith(['m=audio 30000 RTP/AVP 0', 'a=inactive'])), 'inactive')
    assert.equal(direction(offerWith(['m=audio 30000 RTP/AVP 0'], '0.0.0.0')), 'recvonly')
    assert.equal(parseRemoteSdp(answerAudioOffer(offerWith(['m=audio 30000 RTP/AVP 0']), {address: '203.0.113.5', port: 20000, direction: 'sendonly'}).sdp).direction, 'sendonly')
  })

  it('rejects other media lines in place', () => {
    const offer = offerWith(['m=video 31000 RTP/AVP 31', 'a=rtpmap:31 H261/90000', 'm=audio 30000 RTP/AVP 0', 'm=application 32000 UDP/BFCP *'])
    const answer = answerAudioOffer(offer, {address: '203.0.113.5', port: 20000})
    const mediaLines = answer.sdp.split('\r\n').filter((line) => line.startsWith('m='))
    assert.deepEqual(mediaLines, ['m=video 0 RTP/AVP 31', 'm=audio 20000 RTP/AVP 0', 'm=application 0 UDP/BFCP *'])
  })

  it('throws a 488 SdpError when no codec is common', () => {
    const offer = offerWith(['m=audio 30000 RTP/AVP 18 96', 'a=rtpmap:18 G729/8000', 'a=rtpmap:96 telephone-event/8000'])
    assert.throws(() => answerAudioOffer(offer, {address: '203.0.113.5', port: 20000}), (error: unknown) => error instanceof SdpError && error.code === 'no-common-codec' && error.status === 488 && /G729\/8000/.test(error.message))
    assert.throws(() => answerAudioOffer(offerWith(['m=audio 30000 RTP/AVP 0']), {address: '203.0.113.5', port: 20000, codecs: [PCMA]}), SdpError)
  })

  it('keeps the session id on re-offers and bumps the version only when the answer changes', () => {
    const first = answerAudioOffer(SDP_BODY, {address: '203.0.113.5', port: 20000, codecs: [PCMU, PCMA]})
    const same = answerAudioOffer(SDP_BODY, {address: '203.0.113.5', port: 20000, previous: first.local})
    assert.deepEqual([same.local.sessionId, same.local.sessionVersion], [first.local.sessionId, first.local.sessionVersion])
    assert.equal(same.sdp, first.sdp)
    const held = answerAudioOffer(SDP_BODY.replace('a=sendrecv', 'a=sendonly'), {address: '203.0.113.5', port: 20000, previous: first.local})
    assert.equal(held.local.sessionId, first.local.sessionId)
    assert.equal(BigInt(held.local.sessionVersion), BigInt(first.local.sessionVersion) + 1n)
    assert.equal(parseRemoteSdp(held.sdp).direction, 'recvonly')
  })
})
