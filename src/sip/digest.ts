// HTTP Digest authentication for SIP (RFC 3261 §22, RFC 2617, RFC 7616,
// RFC 8760): MD5, SHA-256 and SHA-512-256, their -sess variants, qop=auth,
// qop=auth-int and the legacy form without qop. This file computes responses
// and is the client; digest-server.ts issues challenges and verifies.
// Not supported: userhash and username* (RFC 7616 §3.4.4-3.4.5).
//
// Server nonces are stateless: base64url(time ‖ random ‖ HMAC-SHA-256(secret,
// realm ‖ time ‖ random)), so any gateway process sharing the secret can tell
// a forged nonce (rejected) from an expired one (stale=true, the client
// retries without asking its user again). Replay protection is opt-in
// (DigestReplayGuard): it remembers the highest nonce-count seen per nonce
// until the nonce expires. The legacy no-qop form carries no nonce-count, so
// it can be replayed until its nonce expires; SIP transactions absorb
// retransmissions before they reach the verifier, so a repeated count is a replay.
import {createHash, randomBytes} from 'node:crypto'
import {formatDigestCredentials, parseDigestChallenge, type DigestChallenge, type DigestCredentials} from './digest-header.js'
import {SipParseError} from './errors.js'

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess' | 'SHA-512-256' | 'SHA-512-256-sess'
export type DigestQop = 'auth' | 'auth-int'

const HASHES: Readonly<Record<string, string>> = {md5: 'md5', 'sha-256': 'sha256', 'sha-512-256': 'sha512-256'}
const ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess', 'SHA-512-256', 'SHA-512-256-sess']

/** The algorithm in its canonical spelling, or undefined when unsupported (names are case-insensitive). */
export const digestAlgorithm = (name: string): DigestAlgorithm | undefined => ALGORITHMS.find((algorithm) => algorithm.toLowerCase() === name.toLowerCase())

export class DigestError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'DigestError'
  }
}

export interface DigestInput {
  algorithm: DigestAlgorithm
  username: string
  realm: string
  password: string
  method: string
  uri: string
  nonce: string
  /** Absent for the legacy RFC 2069 form, which then needs no nc or cnonce. */
  qop?: DigestQop | undefined
  nc?: string | undefined
  cnonce?: string | undefined
  /** The message body, hashed into A2 for qop=auth-int. */
  body?: Buffer | undefined
}

/** The `response` value (RFC 7616 §3.4.1-3.4.3). */
export const computeDigestResponse = (input: DigestInput): string => {
  const sess = input.algorithm.endsWith('-sess')
  const hashName = HASHES[input.algorithm.replace(/-sess$/, '').toLowerCase()] as string
  const hash = (data: string | Buffer): string => createHash(hashName).update(data).digest('hex')
  // Without qop there is no cnonce to send (RFC 2617 §3.2.2), so -sess needs a qop.
  if (sess && input.qop === undefined) throw new DigestError(`${input.algorithm} needs a qop`)
  if (input.qop !== undefined && (input.nc === undefined || input.cnonce === undefined)) throw new DigestError(`qop=${input.qop} needs a nonce-count and a cnonce`)
  const userHash = hash(`${input.username}:${input.realm}:${input.password}`)
  const ha1 = sess ? hash(`${userHash}:${input.nonce}:${input.cnonce}`) : userHash
  const a2 = input.qop === 'auth-int' ? `${input.method}:${input.uri}:${hash(input.body ?? Buffer.alloc(0))}` : `${input.method}:${input.uri}`
  const ha2 = hash(a2)
  if (input.qop === undefined) return hash(`${ha1}:${input.nonce}:${ha2}`)
  return hash(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`)
}

const formatNonceCount = (count: number): string => count.toString(16).padStart(8, '0')

/** Picks qop=auth when offered, else auth-int; undefined for a legacy challenge. */
const chooseQop = (offered: readonly string[]): DigestQop | undefined => {
  if (offered.length === 0) return undefined
  if (offered.includes('auth')) return 'auth'
  if (offered.includes('auth-int')) return 'auth-int'
  throw new DigestError(`no supported qop among ${offered.join(', ')}`)
}

export interface DigestAuthorizationInput {
  username: string
  password: string
  method: string
  uri: string
  body?: Buffer | undefined
  /** Fixed in tests; random otherwise. */
  cnonce?: string | undefined
  /** The nonce-count to send, 1 for the first request with this nonce. */
  nc?: number | undefined
}

/** Builds credentials answering one challenge. */
export const buildDigestCredentials = (challenge: DigestChallenge, input: DigestAuthorizationInput): DigestCredentials => {
  const algorithm = digestAlgorithm(challenge.algorithm)
  if (algorithm === undefined) throw new DigestError(`unsupported Digest algorithm ${challenge.algorithm}`)
  const qop = chooseQop(challenge.qop)
  const cnonce = qop === undefined ? undefined : (input.cnonce ?? randomBytes(12).toString('hex'))
  const nc = qop === undefined ? undefined : formatNonceCount(input.nc ?? 1)
  const response = computeDigestResponse({algorithm, username: input.username, realm: challenge.realm, password: input.password, method: input.method, uri: input.uri, nonce: challenge.nonce, qop, nc, cnonce, body: input.body})
  return {
    username: input.username,
    realm: challenge.realm,
    nonce: challenge.nonce,
    uri: input.uri,
    response,
    algorithm,
    cnonce,
    opaque: challenge.opaque,
    qop,
    nc,
  }
}

/** The first challenge (in header order) with an algorithm we support (RFC 8760 §2.4). */
export const selectDigestChallenge = (headerValues: readonly string[]): DigestChallenge | undefined => {
  for (const value of headerValues) {
    try {
      const challenge = parseDigestChallenge(value)
      if (digestAlgorithm(challenge.algorithm) !== undefined) return challenge
    } catch (error) {
      if (!(error instanceof SipParseError)) throw error
    }
  }
  return undefined
}

/** Client side: answers challenges, counting nonce uses so each request carries the next nc. */
export class DigestClient {
  private readonly counts = new Map<string, number>()

  constructor(private readonly credentials: {readonly username: string; readonly password: string}) {}

  /** The Authorization (or Proxy-Authorization) value for a request answering `challenge`. */
  authorize(challenge: string | DigestChallenge, request: {method: string; uri: string; body?: Buffer}): string {
    const parsed = typeof challenge === 'string' ? parseDigestChallenge(challenge) : challenge
    const key = `${parsed.realm}\0${parsed.nonce}`
    const nc = (this.counts.get(key) ?? 0) + 1
    // Only the latest nonce per realm is worth remembering.
    for (const existing of this.counts.keys()) if (existing.startsWith(`${parsed.realm}\0`)) this.counts.delete(existing)
    this.counts.set(key, nc)
    return formatDigestCredentials(buildDigestCredentials(parsed, {...this.credentials, ...request, nc}))
  }
}
