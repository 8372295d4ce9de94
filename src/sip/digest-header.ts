// WWW-Authenticate / Proxy-Authenticate challenges and Authorization /
// Proxy-Authorization credentials for HTTP Digest (RFC 3261 §25.1,
// RFC 7616 §3.3-3.4). Values may come quoted or bare; quoting on output
// follows RFC 7616: algorithm, stale, qop (in credentials) and nc are bare.
import {syntaxError} from './errors.js'
import {Cursor, quote} from './grammar.js'

export interface AuthHeader {
  /** `Digest` for everything this module handles. */
  scheme: string
  /** Lower-case parameter name → unquoted value. */
  params: Map<string, string>
}

export interface DigestChallenge {
  realm: string
  nonce: string
  opaque?: string | undefined
  domain?: string | undefined
  stale: boolean
  /** As offered; `MD5` when absent (RFC 2617 §3.2.1). */
  algorithm: string
  /** qop options offered, e.g. ['auth', 'auth-int']; empty for the legacy RFC 2069 form. */
  qop: string[]
}

export interface DigestCredentials {
  username: string
  realm: string
  nonce: string
  uri: string
  response: string
  algorithm?: string | undefined
  cnonce?: string | undefined
  opaque?: string | undefined
  qop?: string | undefined
  /** nonce-count as 8 hex digits. */
  nc?: string | undefined
}

/** Parses `Scheme name=value, name="value", ...`; duplicate parameters are an error. */
export const parseAuthHeader = (value: string): AuthHeader => {
  const cursor = new Cursor(value)
  cursor.skipWs()
  const scheme = cursor.readToken('authentication scheme')
  const params = new Map<string, string>()
  if (!cursor.skipWs() && !cursor.done) throw syntaxError('expected whitespace after the authentication scheme')
  if (cursor.done) return {scheme, params}
  do {
    cursor.skipWs()
    const name = cursor.readToken('authentication parameter').toLowerCase()
    if (!cursor.consume('=', true)) throw syntaxError(`authentication parameter ${name} has no value`)
    cursor.skipWs()
    const param = cursor.peek() === '"' ? cursor.readQuotedString(name) : cursor.readToken(`authentication parameter ${name}`)
    if (params.has(name)) throw syntaxError(`duplicate authentication parameter ${name}`)
    params.set(name, param)
    cursor.skipWs()
  } while (cursor.consume(','))
  cursor.expectEnd('authentication header')
  return {scheme, params}
}

const requireDigest = (header: AuthHeader): void => {
  if (header.scheme.toLowerCase() !== 'digest') throw syntaxError(`authentication scheme ${header.scheme} is not Digest`)
}

const requiredParam = (header: AuthHeader, name: string): string => {
  const value = header.params.get(name)
  if (value === undefined) throw syntaxError(`Digest ${name} is missing`)
  return value
}

export const parseDigestChallenge = (value: string): DigestChallenge => {
  const header = parseAuthHeader(value)
  requireDigest(header)
  const qop = header.params.get('qop')
  return {
    realm: requiredParam(header, 'realm'),
    nonce: requiredParam(header, 'nonce'),
    opaque: header.params.get('opaque'),
    domain: header.params.get('domain'),
    stale: header.params.get('stale')?.toLowerCase() === 'true',
    algorithm: header.params.get('algorithm') ?? 'MD5',
    qop: qop === undefined ? [] : qop.split(',').map((option) => option.trim()).filter((option) => option !== ''),
  }
}

export const parseDigestCredentials = (value: string): DigestCredentials => {
  const header = parseAuthHeader(value)
  requireDigest(header)
  const nc = header.params.get('nc')
  if (nc !== undefined && !/^[0-9a-fA-F]{8}$/.test(nc)) throw syntaxError('Digest nc is not 8 hex digits')
  const credentials: DigestCredentials = {
    username: requiredParam(header, 'username'),
    realm: requiredParam(header, 'realm'),
    nonce: requiredParam(header, 'nonce'),
    uri: requiredParam(header, 'uri'),
    response: requiredParam(header, 'response'),
    algorithm: header.params.get('algorithm'),
    cnonce: header.params.get('cnonce'),
    opaque: header.params.get('opaque'),
    qop: header.params.get('qop'),
    nc,
  }
  if (credentials.qop !== undefined && (credentials.cnonce === undefined || nc === undefined)) throw syntaxError('Digest qop needs cnonce and nc')
  return credentials
}

const joinParams = (params: ReadonlyArray<readonly [string, string | undefined, 'quoted' | 'bare']>): string =>
  params.flatMap(([name, value, style]) => (value === undefined ? [] : [`${name}=${style === 'quoted' ? quote(value) : value}`])).join(', ')

export const formatDigestChallenge = (challenge: DigestChallenge): string =>
  `Digest ${joinParams([
    ['realm', challenge.realm, 'quoted'],
    ['domain', challenge.domain, 'quoted'],
    ['nonce', challenge.nonce, 'quoted'],
    ['opaque', challenge.opaque, 'quoted'],
    ['stale', challenge.stale ? 'TRUE' : undefined, 'bare'],
    ['algorithm', challenge.algorithm, 'bare'],
    ['qop', challenge.qop.length === 0 ? undefined : challenge.qop.join(','), 'quoted'],
  ])}`

export const formatDigestCredentials = (credentials: DigestCredentials): string =>
  `Digest ${joinParams([
    ['username', credentials.username, 'quoted'],
    ['realm', credentials.realm, 'quoted'],
    ['nonce', credentials.nonce, 'quoted'],
    ['uri', credentials.uri, 'quoted'],
    ['response', credentials.response, 'quoted'],
    ['algorithm', credentials.algorithm, 'bare'],
    ['cnonce', credentials.cnonce, 'quoted'],
    ['opaque', credentials.opaque, 'quoted'],
    ['qop', credentials.qop, 'bare'],
    ['nc', credentials.nc, 'bare'],
  ])}`
