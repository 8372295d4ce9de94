// JWT authentication of SDK clients (issue 7, DESIGN §4 auth.jwt). jose does the
// cryptography and the registered-claim checks; this file picks the keys, adds
// the tenant check and turns jose's errors into short reasons an operator can
// act on. A reason never quotes the token; header values it names are clipped.
import {createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, errors, importJWK, jwtVerify} from 'jose'
import type {FlattenedJWSInput, JWK, JWSHeaderParameters, JWTVerifyGetKey} from 'jose'
import type {Config} from '../../src/config/schema.js'
import {CCError} from '../../src/errors.js'

type JwtConfig = NonNullable<Config['auth']['jwt']>

export interface RpcPrincipal {
  readonly tenant: string
  /** `sub`, '' when absent. */
  readonly subject: string
  readonly expiresAtMs: number | undefined
  readonly notBeforeMs: number | undefined
}

const JWKS_TIMEOUT_MS = 5_000
/** An unknown kid refetches the JWKS (key rotation), but at most this often. */
const JWKS_COOLDOWN_MS = 30_000

const unauthenticated = (reason: string): CCError => new CCError('CC_ERR_RPC_UNAUTHENTICATED', {reason})
/** Header values come from the client: quote, escape and clip them before they reach a log line. */
const quote = (value: unknown): string => JSON.stringify(String(value).slice(0, 64))
const iso = (seconds: unknown): string => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : String(seconds))

export class JwtVerifier {
  readonly #config: JwtConfig
  readonly #tenants: ReadonlySet<string>
  readonly #getKey: JWTVerifyGetKey

  constructor(config: JwtConfig, tenants: ReadonlySet<string>) {
    this.#config = config
    this.#tenants = tenants
    this.#getKey = config.jwks_url === undefined ? localKeys((config.keys ?? []) as JWK[]) : remoteKeys(config.jwks_url)
  }

  /**
   * Verifies signature (alg allow-list), iss, aud, exp (required unless
   * require_exp is off), nbf and iat (not in the future beyond the clock
   * tolerance), the lifetime (at most max_token_lifetime_s), and the tenant
   * claim (a string naming a configured tenant). Throws CCError('CC_ERR_RPC_UNAUTHENTICATED', {reason}).
   */
  async verify(token: string | undefined, nowMs: number = Date.now()): Promise<RpcPrincipal> {
    if (token === undefined || token.length === 0) throw unauthenticated('no bearer token')
    const {algorithms, issuer, audience, tenant_claim: claim, clock_tolerance_s: clockTolerance, require_exp: requireExp, max_token_lifetime_s: maxLifetime} = this.#config
    let header: JWSHeaderParameters
    try {
      header = decodeProtectedHeader(token)
    } catch {
      throw unauthenticated('malformed token')
    }
    let payload
    try {
      ;({payload} = await jwtVerify(token, this.#getKey, {algorithms, issuer, audience, clockTolerance, currentDate: new Date(nowMs), requiredClaims: requireExp ? ['exp'] : []}))
    } catch (error) {
      throw error instanceof CCError ? error : unauthenticated(reasonFor(error, header, algorithms))
    }
    // jose checks iat only together with a maximum age; a token from the future is refused here.
    const nowS = nowMs / 1000
    if (payload.iat !== undefined && payload.iat > nowS + clockTolerance) throw unauthenticated(`token issued in the future (iat ${iso(payload.iat)})`)
    if (payload.exp !== undefined) {
      // exp - iat is what the issuer granted; without iat, what is left of it now is the best bound there is.
      const lifetime = payload.iat === undefined ? payload.exp - nowS - clockTolerance : payload.exp - payload.iat
      if (lifetime > maxLifetime) {
        throw unauthenticated(`token lifetime ${Math.round(lifetime)} s ${payload.iat === undefined ? 'from now ' : ''}exceeds the maximum of ${maxLifetime} s (auth.jwt.max_token_lifetime_s)`)
      }
    }
    const tenant = payload[claim]
    if (tenant === undefined) throw unauthenticated(`no tenant claim ${quote(claim)}`)
    if (typeof tenant !== 'string') throw unauthenticated(`tenant claim ${quote(claim)} is not a string`)
    if (!this.#tenants.has(tenant)) throw unauthenticated(`tenant ${quote(tenant)} is not configured`)
    return {
      tenant,
      subject: typeof payload.sub === 'string' ? payload.sub : '',
      expiresAtMs: payload.exp === undefined ? undefined : payload.exp * 1000,
      notBeforeMs: payload.nbf === undefined ? undefined : payload.nbf * 1000,
    }
  }

  /** For long sessions: throws the same error when the principal's token has expired by now (clock tolerance applies, as in verify). */
  assertStillValid(principal: RpcPrincipal, nowMs: number = Date.now()): void {
    const exp = principal.expiresAtMs
    if (exp !== undefined && nowMs - this.#config.clock_tolerance_s * 1000 >= exp) throw unauthenticated(`token expired at ${new Date(exp).toISOString()}`)
  }
}

/** The token of an `Authorization: Bearer …` header value; undefined when absent or another scheme. */
export const bearerToken = (authorization: string | undefined): string | undefined =>
  authorization === undefined ? undefined : /^\s*bearer\s+(\S+)\s*$/i.exec(authorization)?.[1]

const reasonFor = (error: unknown, header: JWSHeaderParameters, allowed: readonly string[]): string => {
  const {alg, kid} = header
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return alg === 'none' ? 'algorithm none is not allowed' : `algorithm ${String(alg).slice(0, 16)} is not allowed (allowed: ${allowed.join(', ')})`
  }
  if (error instanceof errors.JWTExpired) return `token expired at ${iso(error.payload.exp)}`
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'wrong audience'
    if (error.claim === 'iss') return 'wrong issuer'
    if (error.claim === 'nbf' && error.reason === 'check_failed') return `token not valid before ${iso(error.payload.nbf)}`
    if (error.claim === 'exp' && error.reason === 'missing') return 'token has no exp claim: it would never expire (auth.jwt.require_exp)'
    return error.reason === 'missing' ? `missing claim ${quote(error.claim)}` : `claim ${quote(error.claim)} is invalid`
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature does not verify'
  if (error instanceof errors.JWKSNoMatchingKey) return kid === undefined ? `no key for algorithm ${String(alg).slice(0, 16)}` : `no key with key id ${quote(kid)}`
  if (error instanceof errors.JWKSMultipleMatchingKeys) return `several keys match ${kid === undefined ? 'and the token has no key id' : `key id ${quote(kid)}`}`
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed token'
  // Anything else (a key that cannot be imported, an unsupported key type) is jose's own wording, which never holds the token.
  return `token rejected: ${(error instanceof Error ? error.message : String(error)).slice(0, 200)}`
}

/** Configured keys. createLocalJWKSet refuses `oct` keys (shared secrets), so HS* tokens pick theirs by kid and alg here. */
const localKeys = (keys: JWK[]): JWTVerifyGetKey => {
  const secrets = keys.filter((jwk) => jwk.kty === 'oct')
  const publicSet = createLocalJWKSet({keys: keys.filter((jwk) => jwk.kty !== 'oct')})
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    const alg = header.alg
    if (alg === undefined || !alg.startsWith('HS')) return publicSet(header, token)
    const usable = secrets.filter(
      (jwk) => (header.kid === undefined || jwk.kid === header.kid) && (jwk.alg === undefined || jwk.alg === alg) && (jwk.use === undefined || jwk.use === 'sig'),
    )
    if (usable.length > 1) throw new errors.JWKSMultipleMatchingKeys()
    const [jwk] = usable
    if (jwk === undefined) throw new errors.JWKSNoMatchingKey()
    return importJWK(jwk, alg)
  }
}

/** A JWKS URL, cached by jose; a JWKS that cannot be fetched or parsed is named as such rather than as a bad token. */
const remoteKeys = (url: string): JWTVerifyGetKey => {
  const remote = createRemoteJWKSet(new URL(url), {timeoutDuration: JWKS_TIMEOUT_MS, cooldownDuration: JWKS_COOLDOWN_MS})
  return async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await remote(header, token)
    } catch (error) {
      if (error instanceof errors.JWKSTimeout) throw unauthenticated(`the JWKS at ${url} cannot be fetched: no answer within ${JWKS_TIMEOUT_MS / 1000} s`)
      if (error instanceof errors.JWKSInvalid) throw unauthenticated(`the JWKS at ${url} cannot be used: ${error.message}`)
      // fetch() failures are TypeErrors with the socket error as cause; jose's generic errors are a non-200 answer or non-JSON body.
      if (!(error instanceof errors.JOSEError) || error.code === errors.JOSEError.code) throw unauthenticated(`the JWKS at ${url} cannot be fetched: ${fetchDetail(error)}`)
      throw error
    }
  }
}

const fetchDetail = (error: unknown): string => {
  const cause = error instanceof Error ? error.cause : undefined
  const code = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined
  const message = cause instanceof Error && cause.message.length > 0 ? cause.message : code
  return message ?? (error instanceof Error ? error.message : String(error))
}
