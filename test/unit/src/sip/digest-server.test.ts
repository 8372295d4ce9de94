import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {DigestReplayGuard, DigestServer, type DigestServerOptions} from '../../../../src/sip/digest-server.js'
import {buildDigestCredentials, DigestClient} from '../../../../src/sip/digest.js'
import {formatDigestCredentials, parseDigestChallenge, parseDigestCredentials} from '../../../../src/sip/digest-header.js'

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef')
const URI = 'sip:+14155550100@gw.example.com'
const ACCOUNT = {username: 'acme', password: 's3cret'}

const serverAt = (clock: {now: number}, options: Partial<DigestServerOptions> = {}): DigestServer =>
  new DigestServer({realm: 'clutchcall', secret: SECRET, now: () => clock.now, ...options})

const answer = (challenge: string, password = ACCOUNT.password, method = 'INVITE', uri = URI): string =>
  new DigestClient({username: ACCOUNT.username, password}).authorize(challenge, {method, uri})

describe('DigestServer', () => {
  it('challenges with SHA-256 first, then MD5, sharing one nonce', () => {
    const challenges = serverAt({now: 1_700_000_000_000}).challenges()
    const parsed = challenges.map(parseDigestChallenge)
    assert.deepEqual(parsed.map((challenge) => challenge.algorithm), ['SHA-256', 'MD5'])
    assert.deepEqual(parsed.map((challenge) => [challenge.realm, challenge.qop, challenge.stale]), [['clutchcall', ['auth'], false], ['clutchcall', ['auth'], false]])
    assert.equal(parsed[0]?.nonce, parsed[1]?.nonce)
    assert.match(challenges[0] ?? '', /^Digest realm="clutchcall", nonce="[A-Za-z0-9_-]+", algorithm=SHA-256, qop="auth"$/)
    assert.equal(serverAt({now: 0}).challenges({stale: true}).every((challenge) => parseDigestChallenge(challenge).stale), true)
  })

  it('accepts correct credentials for either algorithm', () => {
    const clock = {now: 1_700_000_000_000}
    const server = serverAt(clock)
    for (const challenge of server.challenges()) {
      const result = server.verify(answer(challenge), {method: 'INVITE', uri: URI, ...ACCOUNT})
      assert.equal(result.ok, true)
      assert.equal(result.ok && result.username, 'acme')
    }
  })

  it('rejects a wrong password, user, realm, method or URI', () => {
    const server = serverAt({now: 1_700_000_000_000})
    const [challenge = ''] = server.challenges()
    const verify = (authorization: string, overrides: Partial<{method: string; uri: string; username: string; password: string}> = {}): unknown => server.verify(authorization, {method: 'INVITE', uri: URI, ...ACCOUNT, ...overrides})
    assert.deepEqual(verify(answer(challenge, 'wrong')), {ok: false, failure: 'bad-response', stale: false})
    assert.deepEqual(verify(answer(challenge), {username: 'other'}), {ok: false, failure: 'wrong-username', stale: false})
    assert.deepEqual(verify(answer(challenge.replace('clutchcall', 'elsewhere'))), {ok: false, failure: 'wrong-realm', stale: false})
    assert.deepEqual(verify(answer(challenge, ACCOUNT.password, 'BYE')), {ok: false, failure: 'bad-response', stale: false})
    assert.deepEqual(verify(answer(challenge, ACCOUNT.password, 'INVITE', 'sip:other@elsewhere.example.com')), {ok: false, failure: 'wrong-uri', stale: false})
    assert.deepEqual(verify(answer(challenge, ACCOUNT.password, 'INVITE', 'sips:gw.example.com')), {ok: false, failure: 'wrong-uri', stale: false})
    assert.deepEqual(verify('Digest garbage'), {ok: false, failure: 'malformed', stale: false})
  })

  it('accepts the Request-URI without its user part as the digest-uri, as SIPp and other UAs send it', () => {
    const server = serverAt({now: 1_700_000_000_000})
    const [challenge = ''] = server.challenges()
    const userless = URI.replace(/^sip:[^@]*@/, 'sip:')
    assert.notEqual(userless, URI)
    const result = server.verify(answer(challenge, ACCOUNT.password, 'INVITE', userless), {method: 'INVITE', uri: URI, ...ACCOUNT}) as {ok: boolean}
    assert.equal(result.ok, true)
  })

  it('rejects nonces it did not issue, including ones signed with another secret', () => {
    const clock = {now: 1_700_000_000_000}
    const server = serverAt(clock)
    const [foreign = ''] = serverAt(clock, {secret: Buffer.from('another-secret-of-enough-length!')}).challenges()
    assert.deepEqual(server.verify(answer(foreign), {method: 'INVITE', uri: URI, ...ACCOUNT}), {ok: false, failure: 'forged-nonce', stale: false})
    const made = 'Digest realm="clutchcall", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", qop="auth", algorithm=SHA-256'
    assert.deepEqual(server.verify(answer(made), {method: 'INVITE', uri: URI, ...ACCOUNT}), {ok: false, failure: 'forged-nonce', stale: false})
  })

  it('reports an expired nonce as stale only when the password was right', () => {
    const clock = {now: 1_700_000_000_000}
    const server = serverAt(clock, {nonceTtlMs: 60_000})
    const [challenge = ''] = server.challenges()
    const good = answer(challenge)
    const bad = answer(challenge, 'wrong')
    clock.now += 60_001
    assert.deepEqual(server.verify(good, {method: 'INVITE', uri: URI, ...ACCOUNT}), {ok: false, failure: 'stale', stale: true})
    assert.deepEqual(server.verify(bad, {method: 'INVITE', uri: URI, ...ACCOUNT}), {ok: false, failure: 'bad-response', stale: false})
    clock.now -= 1
    assert.equal(server.verify(good, {method: 'INVITE', uri: URI, ...ACCOUNT}).ok, true)
  })

  it('refuses the legacy form unless configured for it, and then accepts it', () => {
    const clock = {now: 1_700_000_000_000}
    const modern = serverAt(clock)
    const nonce = parseDigestChallenge(modern.challenges()[0] ?? '').nonce
    const legacy = formatDigestCredentials(buildDigestCredentials({realm: 'clutchcall', nonce, stale: false, algorithm: 'MD5', qop: []}, {...ACCOUNT, method: 'INVITE', uri: URI}))
    assert.deepEqual(modern.verify(legacy, {method: 'INVITE', uri: URI, ...ACCOUNT}), {ok: false, failure: 'unsupported', stale: false})
    const legacyServer = serverAt(clock, {qop: [], algorithms: ['MD5']})
    const [challenge = ''] = legacyServer.challenges()
    assert.equal(parseDigestChallenge(challenge).qop.length, 0)
    assert.equal(legacyServer.verify(answer(challenge), {method: 'INVITE', uri: URI, ...ACCOUNT}).ok, true)
    assert.throws(() => serverAt(clock, {qop: [], algorithms: ['MD5-sess']}), RangeError)
  })

  it('checks the body with qop=auth-int', () => {
    const server = serverAt({now: 1_700_000_000_000}, {qop: ['auth-int']})
    const [challenge = ''] = server.challenges()
    const body = Buffer.from('v=0\r\n')
    const authorization = new DigestClient(ACCOUNT).authorize(challenge, {method: 'INVITE', uri: URI, body})
    assert.equal(parseDigestCredentials(authorization).qop, 'auth-int')
    assert.equal(server.verify(authorization, {method: 'INVITE', uri: URI, ...ACCOUNT, body}).ok, true)
    assert.equal(server.verify(authorization, {method: 'INVITE', uri: URI, ...ACCOUNT, body: Buffer.from('v=1\r\n')}).ok, false)
  })

  it('refuses a replayed nonce-count when given a replay guard', () => {
    const clock = {now: 1_700_000_000_000}
    const guard = new DigestReplayGuard()
    const server = serverAt(clock, {replayGuard: guard})
    const [challenge = ''] = server.challenges()
    const client = new DigestClient(ACCOUNT)
    const first = client.authorize(challenge, {method: 'INVITE', uri: URI})
    const second = client.authorize(challenge, {method: 'INVITE', uri: URI})
    const request = {method: 'INVITE', uri: URI, ...ACCOUNT}
    assert.equal(server.verify(first, request).ok, true)
    assert.deepEqual(server.verify(first, request), {ok: false, failure: 'replayed', stale: true})
    assert.equal(server.verify(second, request).ok, true)
    assert.equal(guard.size, 1)
    assert.equal(serverAt(clock).verify(first, request).ok, true, 'without a guard a replay within the nonce lifetime passes')
  })

  it('insists on a secret of at least 16 bytes', () => {
    assert.throws(() => new DigestServer({realm: 'r', secret: Buffer.from('short')}), RangeError)
  })
})

describe('DigestReplayGuard', () => {
  it('forgets expired nonces first, then the oldest, when full', () => {
    const guard = new DigestReplayGuard(2)
    assert.equal(guard.accept('a', 1, 100, 0), true)
    assert.equal(guard.accept('b', 1, 1_000, 0), true)
    assert.equal(guard.accept('c', 1, 1_000, 200), true)
    assert.equal(guard.size, 2)
    assert.equal(guard.accept('a', 1, 100, 200), true, 'a expired and was forgotten')
    assert.equal(guard.accept('c', 1, 1_000, 200), false)
    assert.equal(guard.accept('c', 2, 1_000, 200), true)
  })
})
