import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {formatDigestChallenge, formatDigestCredentials, parseAuthHeader, parseDigestChallenge, parseDigestCredentials} from '../../../../src/sip/digest-header.js'
import {SipParseError} from '../../../../src/sip/errors.js'

describe('Digest challenges', () => {
  it('parses a SIP challenge (RFC 3261 §22.4 style) with folded whitespace', () => {
    const challenge = parseDigestChallenge('Digest realm="atlanta.com",  domain="sip:boxesbybob.com", qop="auth,auth-int" ,\tnonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5')
    assert.deepEqual(challenge, {realm: 'atlanta.com', nonce: 'f84f1cec41e6cbe5aea9c8e88d359', opaque: '', domain: 'sip:boxesbybob.com', stale: false, algorithm: 'MD5', qop: ['auth', 'auth-int']})
  })

  it('defaults the algorithm to MD5 and reads stale case-insensitively', () => {
    const challenge = parseDigestChallenge('digest realm="r", nonce="n", stale=true')
    assert.equal(challenge.algorithm, 'MD5')
    assert.equal(challenge.stale, true)
    assert.deepEqual(challenge.qop, [])
  })

  it('formats per RFC 7616 quoting rules and parses back', () => {
    const challenge = {realm: 'clutchcall', nonce: 'abc/def=', stale: true, algorithm: 'SHA-256', qop: ['auth'], opaque: undefined, domain: undefined}
    const text = formatDigestChallenge(challenge)
    assert.equal(text, 'Digest realm="clutchcall", nonce="abc/def=", stale=TRUE, algorithm=SHA-256, qop="auth"')
    assert.deepEqual(parseDigestChallenge(text), challenge)
  })

  it('rejects other schemes and missing realm or nonce', () => {
    assert.throws(() => parseDigestChallenge('Basic realm="x"'), SipParseError)
    assert.throws(() => parseDigestChallenge('Digest nonce="n"'), /realm/)
    assert.throws(() => parseDigestChallenge('Digest realm="r"'), /nonce/)
    assert.throws(() => parseDigestChallenge('Digest realm="r", realm="s", nonce="n"'), /duplicate/)
    assert.throws(() => parseDigestChallenge('Digest realm="r" nonce="n"'), SipParseError)
    assert.throws(() => parseDigestChallenge('Digest realm="r", nonce=a/b'), SipParseError)
  })
})

describe('Digest credentials', () => {
  const RFC2617 = 'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"'

  it('parses the RFC 2617 §3.5 Authorization header', () => {
    assert.deepEqual(parseDigestCredentials(RFC2617), {
      username: 'Mufasa', realm: 'testrealm@host.com', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', uri: '/dir/index.html', response: '6629fae49393a05397450978507c4ef1',
      algorithm: undefined, cnonce: '0a4f113b', opaque: '5ccc069c403ebaf9f0171e9517f40e41', qop: 'auth', nc: '00000001',
    })
  })

  it('formats with bare qop, nc and algorithm and parses back', () => {
    const credentials = parseDigestCredentials(RFC2617)
    const text = formatDigestCredentials({...credentials, algorithm: 'MD5'})
    assert.match(text, /qop=auth, nc=00000001$/)
    assert.match(text, /algorithm=MD5,/)
    assert.deepEqual(parseDigestCredentials(text), {...credentials, algorithm: 'MD5'})
  })

  it('rejects incomplete credentials', () => {
    assert.throws(() => parseDigestCredentials('Digest username="a", realm="r", nonce="n", uri="sip:x"'), /response/)
    assert.throws(() => parseDigestCredentials(RFC2617.replace('nc=00000001', 'nc=1')), /nc/)
    assert.throws(() => parseDigestCredentials(RFC2617.replace(', cnonce="0a4f113b"', '')), /cnonce/)
  })

  it('exposes generic auth-param parsing', () => {
    const header = parseAuthHeader('Bearer realm="x", error=invalid_token')
    assert.equal(header.scheme, 'Bearer')
    assert.equal(header.params.get('error'), 'invalid_token')
    assert.equal(parseAuthHeader('Negotiate').params.size, 0)
  })
})
