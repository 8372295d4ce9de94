// Server side of Digest: stateless HMAC-signed nonces, challenges and
// verification (see digest.ts for the design).
import {createHmac, randomBytes, timingSafeEqual} from 'node:crypto'
import {computeDigestResponse, digestAlgorithm, type DigestAlgorithm, type DigestQop} from './digest.js'
import {formatDigestChallenge, parseDigestCredentials, type DigestCredentials} from './digest-header.js'
import {SipParseError} from './errors.js'

export interface DigestServerOptions {
  realm: string
  /** HMAC key for nonces; at least 16 bytes, shared by every process that verifies. */
  secret: Buffer
  /** How long a nonce stays fresh; default 5 minutes. */
  nonceTtlMs?: number
  /** Offered in this order, one challenge each; default SHA-256 then MD5 (RFC 8760 §2.4). */
  algorithms?: readonly DigestAlgorithm[]
  /** Default ['auth']. An empty list issues legacy challenges without qop. */
  qop?: readonly DigestQop[]
  /** Remembers nonce-counts to refuse replays; none by default. */
  replayGuard?: DigestReplayGuard
  /** Clock in ms; Date.now by default. */
  now?: () => number
}

export type DigestFailure =
  | 'malformed' // not parseable Digest credentials
  | 'wrong-realm'
  | 'wrong-username'
  | 'wrong-uri' // digest-uri differs from the Request-URI
  | 'unsupported' // algorithm or qop we do not accept
  | 'forged-nonce' // not a nonce we issued
  | 'bad-response' // wrong password (or tampered fields)
  | 'stale' // right password, expired nonce: challenge again with stale=true
  | 'replayed' // nonce-count not above the last one seen

export type DigestVerification =
  | {readonly ok: true; readonly username: string; readonly algorithm: DigestAlgorithm}
  | {readonly ok: false; readonly failure: DigestFailure; /** Send the next challenge with stale=true. */ readonly stale: boolean}

const NONCE_TIME_BYTES = 6
const NONCE_RANDOM_BYTES = 9
const NONCE_MAC_BYTES = 16
const CLOCK_SKEW_MS = 5_000

/**
 * RFC 3261 §22.4 wants the digest-uri to equal the Request-URI. Deployed UAs
 * (SIPp among them) put the Request-URI without its user part there, so the
 * same scheme, host and port is accepted too; the response hash still covers
 * the URI they sent, and nonces expire.
 */
const sameRequestTarget = (digestUri: string, requestUri: string): boolean => {
  if (digestUri === requestUri) return true
  const target = (uri: string) => /^(sips?):(?:[^@]*@)?([^;?]+)/i.exec(uri)?.slice(1).join(':').toLowerCase()
  const digestTarget = target(digestUri)
  return digestTarget !== undefined && digestTarget === target(requestUri)
}

const safeEqual = (left: string, right: string): boolean => {
  const a = Buffer.from(left)
  const b = Buffer.from(right)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Optional replay protection: the highest nonce-count seen per nonce, kept until the nonce expires. */
export class DigestReplayGuard {
  private readonly seen = new Map<string, {count: number; expiresAt: number}>()

  constructor(private readonly maxEntries = 100_000) {}

  /** Records `count` for `nonce`; false when it is not above the last one seen. */
  accept(nonce: string, count: number, expiresAt: number, now: number): boolean {
    const last = this.seen.get(nonce)
    if (last !== undefined && count <= last.count) return false
    this.seen.delete(nonce)
    this.seen.set(nonce, {count, expiresAt})
    if (this.seen.size > this.maxEntries) this.evict(now)
    return true
  }

  get size(): number {
    return this.seen.size
  }

  private evict(now: number): void {
    for (const [nonce, entry] of this.seen) if (entry.expiresAt <= now) this.seen.delete(nonce)
    // Still full (a flood of fresh nonces): forget the least recently used.
    for (const nonce of this.seen.keys()) {
      if (this.seen.size <= this.maxEntries) break
      this.seen.delete(nonce)
    }
  }
}

export class DigestServer {
  private readonly realm: string
  private readonly secret: Buffer
  private readonly ttl: number
  private readonly algorithms: readonly DigestAlgorithm[]
  private readonly qop: readonly DigestQop[]
  private readonly replayGuard: DigestReplayGuard | undefined
  private readonly now: () => number

  constructor(options: DigestServerOptions) {
    if (options.secret.length < 16) throw new RangeError('Digest nonce secret must be at least 16 bytes')
    this.realm = options.realm
    this.secret = options.secret
    this.ttl = options.nonceTtlMs ?? 5 * 60_000
    this.algorithms = options.algorithms ?? ['SHA-256', 'MD5']
    this.qop = options.qop ?? ['auth']
    this.replayGuard = options.replayGuard
    this.now = options.now ?? Date.now
    if (this.qop.length === 0 && this.algorithms.some((algorithm) => algorithm.endsWith('-sess'))) throw new RangeError('-sess Digest algorithms need a qop')
  }

  private mac(payload: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(this.realm).update('\0').update(payload).digest().subarray(0, NONCE_MAC_BYTES)
  }

  createNonce(): string {
    const payload = Buffer.alloc(NONCE_TIME_BYTES + NONCE_RANDOM_BYTES)
    payload.writeUIntBE(this.now(), 0, NONCE_TIME_BYTES)
    randomBytes(NONCE_RANDOM_BYTES).copy(payload, NONCE_TIME_BYTES)
    return Buffer.concat([payload, this.mac(payload)]).toString('base64url')
  }

  /** When the nonce was issued, or undefined when we did not issue it. */
  private nonceTime(nonce: string): number | undefined {
    const raw = Buffer.from(nonce, 'base64url')
    if (raw.length !== NONCE_TIME_BYTES + NONCE_RANDOM_BYTES + NONCE_MAC_BYTES || raw.toString('base64url') !== nonce) return undefined
    const payload = raw.subarray(0, NONCE_TIME_BYTES + NONCE_RANDOM_BYTES)
    if (!timingSafeEqual(this.mac(payload), raw.subarray(payload.length))) return undefined
    const issued = raw.readUIntBE(0, NONCE_TIME_BYTES)
    return issued > this.now() + CLOCK_SKEW_MS ? undefined : issued
  }

  /** One WWW-Authenticate / Proxy-Authenticate value per configured algorithm, most preferred first. */
  challenges(options?: {stale?: boolean}): string[] {
    const nonce = this.createNonce()
    return this.algorithms.map((algorithm) => formatDigestChallenge({realm: this.realm, nonce, stale: options?.stale === true, algorithm, qop: [...this.qop]}))
  }

  /**
   * Checks an Authorization / Proxy-Authorization value for a request.
   * `uri` is the Request-URI: the credentials must name the same one.
   */
  verify(authorization: string, request: {method: string; uri: string; username: string; password: string; body?: Buffer}): DigestVerification {
    const fail = (failure: DigestFailure, stale = false): DigestVerification => ({ok: false, failure, stale})
    let credentials: DigestCredentials
    try {
      credentials = parseDigestCredentials(authorization)
    } catch (error) {
      if (error instanceof SipParseError) return fail('malformed')
      throw error
    }
    if (credentials.realm !== this.realm) return fail('wrong-realm')
    if (credentials.username !== request.username) return fail('wrong-username')
    if (!sameRequestTarget(credentials.uri, request.uri)) return fail('wrong-uri')
    const algorithm = digestAlgorithm(credentials.algorithm ?? 'MD5')
    if (algorithm === undefined || !this.algorithms.includes(algorithm)) return fail('unsupported')
    const qop = credentials.qop
    if (qop === undefined ? this.qop.length > 0 : !(this.qop as readonly string[]).includes(qop)) return fail('unsupported')
    if (qop === undefined && algorithm.endsWith('-sess')) return fail('unsupported')
    const issued = this.nonceTime(credentials.nonce)
    if (issued === undefined) return fail('forged-nonce')
    const expected = computeDigestResponse({
      algorithm,
      username: credentials.username,
      realm: this.realm,
      password: request.password,
      method: request.method,
      uri: credentials.uri,
      nonce: credentials.nonce,
      qop: qop as DigestQop | undefined,
      nc: credentials.nc,
      cnonce: credentials.cnonce,
      body: request.body,
    })
    if (!safeEqual(expected, credentials.response.toLowerCase())) return fail('bad-response')
    const now = this.now()
    if (now - issued > this.ttl) return fail('stale', true)
    if (this.replayGuard !== undefined && credentials.nc !== undefined) {
      if (!this.replayGuard.accept(credentials.nonce, Number.parseInt(credentials.nc, 16), issued + this.ttl, now)) return fail('replayed', true)
    }
    return {ok: true, username: credentials.username, algorithm}
  }
}
