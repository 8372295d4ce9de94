// SDES in the offer/answer (src/sip/sdp-srtp.ts) under each media_encryption
// policy: what we offer, how we answer RTP/SAVP, best-effort and plain
// offers, which crypto lines are usable, and how an answer to our offer is
// taken.
import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {describe, it} from 'node:test'
import {parseRemoteSdp, SdpError} from '../../../../src/sip/sdp.js'
import {answerAudioOffer, createAudioOffer} from '../../../../src/sip/sdp-offer-answer.js'
import {acceptAnswerCrypto, answerCrypto, inlineKey, offerCrypto} from '../../../../src/sip/sdp-srtp.js'
import {formatLocalSdp} from '../../../../src/sip/sdp.js'

const key = (): string => randomBytes(30).toString('base64')

const offer = (protocol: string, crypto: string[] = []): string =>
  ['v=0', 'o=- 1 1 IN IP4 192.0.2.1', 's=-', 'c=IN IP4 192.0.2.1', 't=0 0', `m=audio 4000 ${protocol} 0 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', ...crypto, ''].join('\r\n')

const refused = (fn: () => unknown, pattern: RegExp): void =>
  assert.throws(fn, (error: unknown) => error instanceof SdpError && error.status === 488 && pattern.test(error.message))

describe('answering an offer', () => {
  it('required: answers RTP/SAVP with the first usable line\'s tag and suite and a key of ours', () => {
    const theirs = key()
    const answer = answerAudioOffer(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}|2^20|1:4`, `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${theirs}`]), {address: '127.0.0.1', port: 5000, encryption: 'required'})
    assert.match(answer.sdp, /m=audio 5000 RTP\/SAVP 0 101/)
    assert.match(answer.sdp, /a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}\r\n/)
    assert.equal(answer.srtp?.suite, 'AES_CM_128_HMAC_SHA1_32')
    assert.equal(Buffer.from(answer.srtp?.remoteKey ?? []).toString('base64'), theirs, 'the line with an MKI was skipped')
    assert.notDeepEqual(answer.srtp?.localKey, answer.srtp?.remoteKey)
  })

  it('required: refuses a plain offer, and an RTP/SAVP offer with no suite or key it can use', () => {
    refused(() => answerAudioOffer(offer('RTP/AVP'), {address: '127.0.0.1', port: 5000, encryption: 'required'}), /no usable SRTP crypto line/)
    refused(() => answerAudioOffer(offer('RTP/SAVP', [`a=crypto:1 AEAD_AES_256_GCM inline:${randomBytes(44).toString('base64')}`]), {address: '127.0.0.1', port: 5000, encryption: 'required'}), /offered: AEAD_AES_256_GCM/)
    refused(() => answerAudioOffer(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()} UNENCRYPTED_SRTP`]), {address: '127.0.0.1', port: 5000, encryption: 'optional'}), /no usable SRTP crypto line/)
  })

  it('optional: SRTP for a best-effort offer (RTP/AVP with crypto), plain RTP for a plain one', () => {
    const effort = answerAudioOffer(offer('RTP/AVP', [`a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:${key()}`]), {address: '127.0.0.1', port: 5000, encryption: 'optional'})
    assert.match(effort.sdp, /m=audio 5000 RTP\/AVP /)
    assert.match(effort.sdp, /a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:/)
    assert.ok(effort.srtp)
    const plain = answerAudioOffer(offer('RTP/AVP'), {address: '127.0.0.1', port: 5000, encryption: 'optional'})
    assert.doesNotMatch(plain.sdp, /a=crypto/)
    assert.equal(plain.srtp, undefined)
  })

  it('none: ignores crypto lines on RTP/AVP and refuses RTP/SAVP', () => {
    const plain = answerAudioOffer(offer('RTP/AVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`]), {address: '127.0.0.1', port: 5000})
    assert.doesNotMatch(plain.sdp, /a=crypto/)
    refused(() => answerAudioOffer(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`]), {address: '127.0.0.1', port: 5000}), /media_encryption is none/)
  })

  it('keeps our key when a re-offer brings the same suite', () => {
    const first = answerAudioOffer(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`]), {address: '127.0.0.1', port: 5000, encryption: 'required'})
    const again = answerAudioOffer(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key()}`]), {address: '127.0.0.1', port: 5000, encryption: 'required', previous: first.local})
    assert.deepEqual(again.srtp?.localKey, first.srtp?.localKey)
  })
})

describe('our offer and its answer', () => {
  it('offers both suites with their own keys: on RTP/SAVP when required, on RTP/AVP when optional, none otherwise', () => {
    const required = formatLocalSdp(createAudioOffer({address: '127.0.0.1', port: 6000, encryption: 'required'}))
    assert.match(required, /m=audio 6000 RTP\/SAVP /)
    assert.match(required, /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:\S{40}\r\na=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:\S{40}\r\n/)
    assert.match(formatLocalSdp(createAudioOffer({address: '127.0.0.1', port: 6000, encryption: 'optional'})), /m=audio 6000 RTP\/AVP [^]*a=crypto:2 /)
    assert.doesNotMatch(formatLocalSdp(createAudioOffer({address: '127.0.0.1', port: 6000})), /a=crypto/)
    const [first, second] = offerCrypto('optional').crypto
    assert.notEqual(first?.keyParams, second?.keyParams)
  })

  it('takes the answer\'s line when it matches one of ours, and refuses what does not', () => {
    const ours = offerCrypto('required').crypto
    const theirs = key()
    const answer = parseRemoteSdp(offer('RTP/SAVP', [`a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${theirs}`]))
    const keys = acceptAnswerCrypto(ours, answer, 'required')
    assert.equal(keys?.suite, 'AES_CM_128_HMAC_SHA1_32')
    assert.deepEqual(Buffer.from(keys?.localKey ?? []), inlineKey(ours[1] as (typeof ours)[number]))
    assert.throws(() => acceptAnswerCrypto(ours, parseRemoteSdp(offer('RTP/SAVP', [`a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:${theirs}`])), 'required'), /matches none we offered/)
    assert.throws(() => acceptAnswerCrypto(ours, parseRemoteSdp(offer('RTP/AVP')), 'required'), /no SRTP crypto line/)
    assert.equal(acceptAnswerCrypto(ours, parseRemoteSdp(offer('RTP/AVP')), 'optional'), undefined)
    assert.equal(answerCrypto(parseRemoteSdp(offer('RTP/AVP')), 'optional').keys, undefined)
  })
})
