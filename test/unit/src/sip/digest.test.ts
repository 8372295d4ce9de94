import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {buildDigestCredentials, computeDigestResponse, digestAlgorithm, DigestClient, DigestError, selectDigestChallenge} from '../../../../src/sip/digest.js'
import {parseDigestChallenge, parseDigestCredentials} from '../../../../src/sip/digest-header.js'

// RFC 2617 §3.5.
const RFC2617_CHALLENGE = 'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
// RFC 7616 §3.9.1.
const RFC7616_CHALLENGE = (algorithm: string): string =>
  `Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=${algorithm}, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"`
const RFC7616_CNONCE = 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ'

describe('Digest response computation', () => {
  it('reproduces the RFC 2617 §3.5 example', () => {
    const credentials = buildDigestCredentials(parseDigestChallenge(RFC2617_CHALLENGE), {username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', cnonce: '0a4f113b', nc: 1})
    assert.equal(credentials.response, '6629fae49393a05397450978507c4ef1')
    assert.equal(credentials.qop, 'auth')
    assert.equal(credentials.nc, '00000001')
    assert.equal(credentials.opaque, '5ccc069c403ebaf9f0171e9517f40e41')
  })

  it('reproduces the RFC 7616 §3.9.1 SHA-256 and MD5 examples', () => {
    const input = {username: 'Mufasa', password: 'Circle of Life', method: 'GET', uri: '/dir/index.html', cnonce: RFC7616_CNONCE, nc: 1}
    assert.equal(buildDigestCredentials(parseDigestChallenge(RFC7616_CHALLENGE('SHA-256')), input).response, '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1')
    assert.equal(buildDigestCredentials(parseDigestChallenge(RFC7616_CHALLENGE('MD5')), input).response, '8ca523f5e9506fed4657c9700eebdbec')
  })

  it('computes the legacy RFC 2069 form without qop', () => {
    // H(H(A1):nonce:H(A2)) with A1 = Mufasa:testrealm@host.com:Circle Of Life, A2 = GET:/dir/index.html.
    const response = computeDigestResponse({algorithm: 'MD5', username: 'Mufasa', realm: 'testrealm@host.com', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html', nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093'})
    assert.equal(response, '670fd8c2df070c60b045671b8b24ff02')
    const credentials = buildDigestCredentials(parseDigestChallenge('Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093"'), {username: 'Mufasa', password: 'Circle Of Life', method: 'GET', uri: '/dir/index.html'})
    assert.deepEqual([credentials.response, credentials.qop, credentials.nc, credentials.cnonce], [response, undefined, undefined, undefined])
  })

  it('differs between auth and auth-int, and -sess and plain', () => {
    const base = {username: 'u', realm: 'r', password: 'p', method: 'INVITE', uri: 'sip:b@example.com', nonce: 'n', nc: '00000001', cnonce: 'c'}
    const auth = computeDigestResponse({...base, algorithm: 'SHA-256', qop: 'auth'})
    const authInt = computeDigestResponse({...base, algorithm: 'SHA-256', qop: 'auth-int', body: Buffer.from('v=0\r\n')})
    const sess = computeDigestResponse({...base, algorithm: 'SHA-256-sess', qop: 'auth'})
    assert.equal(new Set([auth, authInt, sess]).size, 3)
    assert.match(computeDigestResponse({...base, algorithm: 'SHA-512-256', qop: 'auth'}), /^[0-9a-f]{64}$/)
    assert.throws(() => computeDigestResponse({...base, algorithm: 'MD5-sess', qop: undefined}), DigestError)
    assert.throws(() => computeDigestResponse({...base, algorithm: 'MD5', qop: 'auth', cnonce: undefined}), DigestError)
  })

  it('knows algorithm names case-insensitively', () => {
    assert.equal(digestAlgorithm('sha-256'), 'SHA-256')
    assert.equal(digestAlgorithm('md5-SESS'), 'MD5-sess')
    assert.equal(digestAlgorithm('SHA-1'), undefined)
  })

  it('refuses unsupported algorithms and qops', () => {
    assert.throws(() => buildDigestCredentials(parseDigestChallenge('Digest realm="r", nonce="n", algorithm=SHA-1'), {username: 'u', password: 'p', method: 'INVITE', uri: 'sip:x'}), DigestError)
    assert.throws(() => buildDigestCredentials(parseDigestChallenge('Digest realm="r", nonce="n", qop="auth-conf"'), {username: 'u', password: 'p', method: 'INVITE', uri: 'sip:x'}), DigestError)
  })
})

describe('selectDigestChallenge', () => {
  it('takes the first challenge with a supported algorithm (RFC 8760 §2.4)', () => {
    const chosen = selectDigestChallenge(['Digest realm="r", nonce="a", algorithm=SHA-1', 'Basic realm="r"', 'Digest realm="r", nonce="b", algorithm=SHA-256', 'Digest realm="r", nonce="c", algorithm=MD5'])
    assert.equal(chosen?.nonce, 'b')
    assert.equal(selectDigestChallenge(['Digest realm="r", nonce="a", algorithm=SHA-1']), undefined)
  })
})

describe('DigestClient', () => {
  it('counts nonce uses and starts again on a new nonce', () => {
    const client = new DigestClient({username: 'alice', password: 'secret'})
    const challenge = 'Digest realm="atlanta.example.com", nonce="n1", qop="auth", algorithm=SHA-256'
    const first = parseDigestCredentials(client.authorize(challenge, {method: 'INVITE', uri: 'sip:bob@biloxi.example.com'}))
    const second = parseDigestCredentials(client.authorize(challenge, {method: 'BYE', uri: 'sip:bob@biloxi.example.com'}))
    const fresh = parseDigestCredentials(client.authorize(challenge.replace('n1', 'n2'), {method: 'INVITE', uri: 'sip:bob@biloxi.example.com'}))
    assert.deepEqual([first.nc, second.nc, fresh.nc], ['00000001', '00000002', '00000001'])
    assert.notEqual(first.cnonce, second.cnonce)
    assert.equal(first.algorithm, 'SHA-256')
    assert.equal(first.uri, 'sip:bob@biloxi.example.com')
    const expected = computeDigestResponse({algorithm: 'SHA-256', username: 'alice', realm: 'atlanta.example.com', password: 'secret', method: 'BYE', uri: 'sip:bob@biloxi.example.com', nonce: 'n1', qop: 'auth', nc: '00000002', cnonce: second.cnonce})
    assert.equal(second.response, expected)
  })
})
