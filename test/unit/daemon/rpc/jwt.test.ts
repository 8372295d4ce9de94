import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {before, describe, it} from 'node:test'
import {base64url, errors, exportJWK, generateKeyPair, generateSecret, jwtVerify, SignJWT, type CryptoKey, type JWK, type JWTPayload} from 'jose'
import {bearerToken, JwtVerifier, type RpcPrincipal} from '../../../../daemon/rpc/jwt.js'
import type {Config} from '../../../../src/config/schema.js'
import {CCError} from '../../../../src/errors.js'

type JwtConfig = NonNullable<Config['auth']['jwt']>
type ConfigJwk = NonNullable<JwtConfig['keys']>[number]

const ISSUER = 'https://auth.example/'
const AUDIENCE = 'clutchcall'
const TENANTS: ReadonlySet<string> = new Set(['acme', 'default'])
const nowS = (): number => Math.floor(Date.now() / 1000)
const isoS = (seconds: number): string => new Date(seconds * 1000).toISOString()

let privateKey: CryptoKey
let publicJwk: JWK

before(async () => {
  const pair = await generateKeyPair('ES256')
  privateKey = pair.privateKey
  publicJwk = {...(await exportJWK(pair.publicKey)), kid: 'k1', use: 'sig'}
})

const config = (overrides: Partial<JwtConfig> = {}): JwtConfig => ({
  keys: [publicJwk as ConfigJwk],
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['ES256'],
  tenant_claim: 'tenant',
  clock_tolerance_s: 30,
  require_exp: true,
  max_token_lifetime_s: 86_400,
  ...overrides,
})

interface SignOptions {
  claims?: JWTPayload
  alg?: string
  kid?: string | undefined
  key?: CryptoKey | Uint8Array
  iss?: string
  aud?: string
  /** null: no exp claim at all. */
  exp?: number | null
  nbf?: number
  iat?: number
}
const sign = async (options: SignOptions = {}): Promise<string> => {
  const jwt = new SignJWT(options.claims ?? {tenant: 'acme'})
    .setProtectedHeader({alg: options.alg ?? 'ES256', ...('kid' in options ? (options.kid === undefined ? {} : {kid: options.kid}) : {kid: 'k1'})})
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setSubject('user-1')
  if (options.exp !== null) jwt.setExpirationTime(options.exp ?? nowS() + 3600)
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf)
  if (options.iat !== undefined) jwt.setIssuedAt(options.iat)
  return jwt.sign(options.key ?? privateKey)
}

/** The reason the verifier refuses the token with; fails the test when it accepts it. */
const refusal = async (verifier: JwtVerifier, token: string | undefined): Promise<string> => {
  try {
    await verifier.verify(token)
  } catch (error) {
    assert.ok(error instanceof CCError, `expected a CCError, got ${String(error)}`)
    assert.equal(error.code, 'CC_ERR_RPC_UNAUTHENTICATED')
    const reason = String(error.details.reason)
    if (token) assert.ok(!reason.includes(token) && !error.message.includes(token), 'the reason must not quote the token')
    return reason
  }
  assert.fail('expected the token to be refused')
}

const listen = async (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))
const close = async (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()))

describe('JwtVerifier with configured keys', () => {
  it('accepts a valid token and returns tenant, subject and expiry', async () => {
    const exp = nowS() + 600
    const principal = await new JwtVerifier(config(), TENANTS).verify(await sign({exp}))
    assert.deepEqual(principal, {tenant: 'acme', subject: 'user-1', expiresAtMs: exp * 1000, notBeforeMs: undefined})
  })

  it('refuses an unsigned alg:none token (and so does jose on its own)', async () => {
    const unsigned = `${base64url.encode(JSON.stringify({alg: 'none'}))}.${base64url.encode(JSON.stringify({tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600}))}.`
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), unsigned), 'algorithm none is not allowed')
    await assert.rejects(jwtVerify(unsigned, new TextEncoder().encode('x'.repeat(32))), errors.JOSENotSupported, 'jose refuses none even without an allow-list')
  })

  it('refuses an algorithm that is not on the allow-list', async () => {
    const token = await sign({alg: 'HS256', key: new TextEncoder().encode('a shared secret of 32 bytes.....')})
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), token), 'algorithm HS256 is not allowed (allowed: ES256)')
    const two = new JwtVerifier(config({algorithms: ['RS256', 'ES256']}), TENANTS)
    assert.equal(await refusal(two, token), 'algorithm HS256 is not allowed (allowed: RS256, ES256)')
  })

  it('refuses an expired token, naming when it expired', async () => {
    const exp = nowS() - 120
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), await sign({exp})), `token expired at ${isoS(exp)}`)
  })

  it('refuses a token that is not valid yet', async () => {
    const nbf = nowS() + 120
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), await sign({nbf})), `token not valid before ${isoS(nbf)}`)
  })

  it('accepts exp and nbf that are off by less than the clock tolerance', async () => {
    const verifier = new JwtVerifier(config(), TENANTS)
    const principal = await verifier.verify(await sign({exp: nowS() - 10, nbf: nowS() + 10}))
    assert.equal(principal.tenant, 'acme')
    const exp = nowS() - 10
    assert.equal(await refusal(new JwtVerifier(config({clock_tolerance_s: 0}), TENANTS), await sign({exp})), `token expired at ${isoS(exp)}`)
  })

  it('refuses the wrong audience and the wrong issuer', async () => {
    const verifier = new JwtVerifier(config(), TENANTS)
    assert.equal(await refusal(verifier, await sign({aud: 'someone-else'})), 'wrong audience')
    assert.equal(await refusal(verifier, await sign({iss: 'https://evil.example/'})), 'wrong issuer')
  })

  it('refuses a tampered payload', async () => {
    const [header, payload, signature] = (await sign()).split('.') as [string, string, string]
    const middle = Math.floor(payload.length / 2)
    const flipped = payload.slice(0, middle) + (payload[middle] === 'A' ? 'B' : 'A') + payload.slice(middle + 1)
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), `${header}.${flipped}.${signature}`), 'signature does not verify')
  })

  it('refuses a key id that matches no key, naming it', async () => {
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), await sign({kid: 'rotated-away'})), 'no key with key id "rotated-away"')
  })

  it('refuses a token without the tenant claim, or with a tenant that is not configured', async () => {
    const verifier = new JwtVerifier(config(), TENANTS)
    assert.equal(await refusal(verifier, await sign({claims: {}})), 'no tenant claim "tenant"')
    assert.equal(await refusal(verifier, await sign({claims: {tenant: 42}})), 'tenant claim "tenant" is not a string')
    assert.equal(await refusal(verifier, await sign({claims: {tenant: 'globex'}})), 'tenant "globex" is not configured')
  })

  it('refuses garbage and an absent token', async () => {
    const verifier = new JwtVerifier(config(), TENANTS)
    assert.equal(await refusal(verifier, 'not-a-jwt'), 'malformed token')
    assert.equal(await refusal(verifier, 'a.b.c'), 'malformed token')
    assert.equal(await refusal(verifier, ''), 'no bearer token')
    assert.equal(await refusal(verifier, undefined), 'no bearer token')
  })

  it('reads the tenant from a custom claim name', async () => {
    const verifier = new JwtVerifier(config({tenant_claim: 'https://clutchcall.dev/tenant'}), TENANTS)
    const principal = await verifier.verify(await sign({claims: {'https://clutchcall.dev/tenant': 'default', tenant: 'acme'}}))
    assert.equal(principal.tenant, 'default')
    assert.equal(await refusal(verifier, await sign({claims: {tenant: 'acme'}})), 'no tenant claim "https://clutchcall.dev/tenant"')
  })

  it('verifies HS256 with an oct shared secret from the config keys', async () => {
    const secret = (await generateSecret('HS256', {extractable: true})) as CryptoKey
    const octJwk = {...(await exportJWK(secret)), kid: 'shared'} as ConfigJwk
    assert.equal(octJwk.kty, 'oct')
    const verifier = new JwtVerifier(config({algorithms: ['HS256', 'ES256'], keys: [octJwk, publicJwk as ConfigJwk]}), TENANTS)
    assert.equal((await verifier.verify(await sign({alg: 'HS256', kid: 'shared', key: secret}))).tenant, 'acme')
    assert.equal((await verifier.verify(await sign({alg: 'HS256', kid: undefined, key: secret}))).tenant, 'acme', 'one secret needs no kid')
    assert.equal((await verifier.verify(await sign())).tenant, 'acme', 'the public key still works beside it')
    const otherSecret = new TextEncoder().encode('another shared secret of 32 byte')
    assert.equal(await refusal(verifier, await sign({alg: 'HS256', kid: 'shared', key: otherSecret})), 'signature does not verify')
    assert.equal(await refusal(verifier, await sign({alg: 'HS256', kid: 'nope', key: secret})), 'no key with key id "nope"')
  })
})

describe('JwtVerifier: token lifetime (exp, iat, nbf, max_token_lifetime_s)', () => {
  it('refuses a token without exp by default, and accepts it only with require_exp off', async () => {
    const token = await sign({exp: null})
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), token), 'token has no exp claim: it would never expire (auth.jwt.require_exp)')
    const lenient = await new JwtVerifier(config({require_exp: false}), TENANTS).verify(token)
    assert.equal(lenient.tenant, 'acme')
    assert.equal(lenient.expiresAtMs, undefined)
  })

  it('refuses an iat in the future beyond the clock tolerance, and accepts one within it', async () => {
    const iat = nowS() + 120
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), await sign({iat, exp: iat + 600})), `token issued in the future (iat ${isoS(iat)})`)
    const near = nowS() + 10
    assert.equal((await new JwtVerifier(config(), TENANTS).verify(await sign({iat: near, exp: near + 600}))).tenant, 'acme')
    assert.equal(await refusal(new JwtVerifier(config({clock_tolerance_s: 0}), TENANTS), await sign({iat: near, exp: near + 600})), `token issued in the future (iat ${isoS(near)})`)
  })

  it('refuses an nbf beyond the clock tolerance even with a valid iat and exp', async () => {
    const nbf = nowS() + 31 + 5
    assert.equal(await refusal(new JwtVerifier(config(), TENANTS), await sign({iat: nowS(), nbf, exp: nowS() + 600})), `token not valid before ${isoS(nbf)}`)
  })

  it('refuses exp - iat over max_token_lifetime_s and accepts it at the maximum', async () => {
    const iat = nowS() - 60
    const verifier = new JwtVerifier(config({max_token_lifetime_s: 3600}), TENANTS)
    assert.equal((await verifier.verify(await sign({iat, exp: iat + 3600}))).tenant, 'acme')
    assert.equal(await refusal(verifier, await sign({iat, exp: iat + 3601})), 'token lifetime 3601 s exceeds the maximum of 3600 s (auth.jwt.max_token_lifetime_s)')
  })

  it('defaults to 24 hours: a token good for a year is refused', async () => {
    const iat = nowS()
    const verifier = new JwtVerifier(config(), TENANTS)
    assert.equal((await verifier.verify(await sign({iat, exp: iat + 86_400}))).tenant, 'acme')
    assert.equal(await refusal(verifier, await sign({iat, exp: iat + 365 * 86_400})), `token lifetime ${365 * 86_400} s exceeds the maximum of 86400 s (auth.jwt.max_token_lifetime_s)`)
  })

  it('without iat, bounds exp - now (less the clock tolerance) by the maximum', async () => {
    const verifier = new JwtVerifier(config({max_token_lifetime_s: 3600}), TENANTS)
    const nowMs = Date.now()
    const now = Math.floor(nowMs / 1000)
    assert.equal((await verifier.verify(await sign({exp: now + 3600}), nowMs)).tenant, 'acme')
    assert.match(await refusal(verifier, await sign({exp: now + 7200})), /^token lifetime 71\d\d s from now exceeds the maximum of 3600 s/)
  })
})

describe('JwtVerifier with a JWKS URL', () => {
  it('fetches the keys from the URL and verifies with them', async () => {
    let fetches = 0
    const server = createServer((request, response) => {
      if (request.url === '/jwks.json') {
        fetches += 1
        response.writeHead(200, {'content-type': 'application/json'}).end(JSON.stringify({keys: [publicJwk]}))
      } else {
        response.writeHead(500).end('boom')
      }
    })
    const port = await listen(server)
    try {
      const verifier = new JwtVerifier(config({keys: undefined, jwks_url: `http://127.0.0.1:${port}/jwks.json`}), TENANTS)
      assert.equal((await verifier.verify(await sign())).tenant, 'acme')
      assert.equal((await verifier.verify(await sign())).subject, 'user-1')
      assert.equal(fetches, 1, 'the JWKS is cached')
      const broken = `http://127.0.0.1:${port}/broken`
      const failing = new JwtVerifier(config({keys: undefined, jwks_url: broken}), TENANTS)
      assert.match(await refusal(failing, await sign()), new RegExp(`^the JWKS at ${broken} cannot be fetched: Expected 200 OK`))
    } finally {
      await close(server)
    }
  })

  it('names a JWKS URL that cannot be reached', async () => {
    const server = createServer()
    const port = await listen(server)
    await close(server)
    const url = `http://127.0.0.1:${port}/jwks.json`
    const verifier = new JwtVerifier(config({keys: undefined, jwks_url: url}), TENANTS)
    assert.match(await refusal(verifier, await sign()), new RegExp(`^the JWKS at ${url} cannot be fetched: .*ECONNREFUSED`))
  })
})

describe('assertStillValid', () => {
  it('throws once the token has expired beyond the clock tolerance', () => {
    const verifier = new JwtVerifier(config(), TENANTS)
    const exp = Date.UTC(2030, 0, 1)
    const principal: RpcPrincipal = {tenant: 'acme', subject: 'u', expiresAtMs: exp, notBeforeMs: undefined}
    verifier.assertStillValid(principal, exp - 1000)
    verifier.assertStillValid(principal, exp + 29_000)
    assert.throws(
      () => verifier.assertStillValid(principal, exp + 31_000),
      (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_RPC_UNAUTHENTICATED' && error.details.reason === 'token expired at 2030-01-01T00:00:00.000Z',
    )
    verifier.assertStillValid({...principal, expiresAtMs: undefined}, exp * 2)
  })
})

describe('bearerToken', () => {
  it('takes the token of a Bearer header, whatever the case of the scheme and the spaces', () => {
    assert.equal(bearerToken('Bearer abc.def.ghi'), 'abc.def.ghi')
    assert.equal(bearerToken('bearer abc.def.ghi'), 'abc.def.ghi')
    assert.equal(bearerToken('  BEARER    abc.def.ghi  '), 'abc.def.ghi')
  })

  it('is undefined for no header, another scheme, or no token', () => {
    assert.equal(bearerToken(undefined), undefined)
    assert.equal(bearerToken('Basic dXNlcjpwYXNz'), undefined)
    assert.equal(bearerToken('Bearer'), undefined)
    assert.equal(bearerToken('Bearer '), undefined)
    assert.equal(bearerToken('Bearertoken'), undefined)
    assert.equal(bearerToken('Bearer a b'), undefined)
  })
})
