// SIP, SIPS (RFC 3261 §19.1, §25.1) and tel (RFC 3966) URIs, plus any other
// absoluteURI kept verbatim (To/From/Contact may carry them: RFC 4475 §3.1.1.11).
// Escaped characters are decoded in the model and re-escaped when formatting.
import {isIPv6} from 'node:net'
import {SipParseError, syntaxError} from './errors.js'
import {isValidHost, parseBoundedInteger} from './grammar.js'
import {SipParams, type SipParam} from './params.js'

export interface SipUri {
  readonly kind: 'sip'
  scheme: 'sip' | 'sips'
  user?: string | undefined
  password?: string | undefined
  /** Hostname, IPv4 or IPv6 address; IPv6 without brackets. */
  host: string
  port?: number | undefined
  params: SipParams
  headers: Array<{name: string; value: string}>
}

export interface TelUri {
  readonly kind: 'tel'
  readonly scheme: 'tel'
  /** The number as written, visual separators included (`+1-201-555-0123`). */
  number: string
  params: SipParams
}

/** Any other scheme (`isbn:...`, `urn:...`), kept as written after the colon. */
export interface AbsoluteUri {
  readonly kind: 'absolute'
  scheme: string
  opaque: string
}

export type Uri = SipUri | TelUri | AbsoluteUri

const ALNUM = 'A-Za-z0-9'
const UNRESERVED = `${ALNUM}\\-_.!~*'()`
const charsOrEscapes = (chars: string): RegExp => new RegExp(`^(?:[${chars}]|%[0-9A-Fa-f]{2})+$`)
const USER = charsOrEscapes(`${UNRESERVED}&=+$,;?/`)
const PASSWORD = charsOrEscapes(`${UNRESERVED}&=+$,`)
const PARAM_CHARS = `${UNRESERVED}\\[\\]/:&+$`
const PARAM = charsOrEscapes(PARAM_CHARS)
const HEADER_CHARS = `${UNRESERVED}\\[\\]/?:+$`
const HEADER_NAME = charsOrEscapes(HEADER_CHARS)
const HEADER_VALUE = new RegExp(`^(?:[${HEADER_CHARS}]|%[0-9A-Fa-f]{2})*$`)
const URIC = charsOrEscapes(`${UNRESERVED};/?:@&=+$,\\[\\]`)
const SCHEME = /^[A-Za-z][A-Za-z0-9+\-.]*$/
const TEL_GLOBAL = /^\+[\d\-.()]*\d[\d\-.()]*$/
const TEL_LOCAL = /^[\dA-Fa-f*#\-.()]*[\dA-Fa-f*#][\dA-Fa-f*#\-.()]*$/

const utf8 = new TextDecoder('utf-8', {fatal: true})

/** Decodes %XX escapes (the text was already checked to hold only valid escapes). */
const unescape = (text: string, what: string): string => {
  if (!text.includes('%')) return text
  const bytes: number[] = []
  for (let index = 0; index < text.length; ) {
    if (text[index] === '%') {
      bytes.push(Number.parseInt(text.slice(index + 1, index + 3), 16))
      index += 3
    } else {
      const code = text.codePointAt(index) ?? 0
      bytes.push(...Buffer.from(String.fromCodePoint(code)))
      index += code > 0xffff ? 2 : 1
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes))
  } catch {
    throw syntaxError(`escapes in ${what} are not UTF-8`)
  }
}

/** Escapes every character outside `allowed` (a regex character-class body) as UTF-8 %XX. */
const escape = (text: string, allowed: string): string => {
  const keep = new RegExp(`[${allowed}]`)
  let out = ''
  for (const char of text) {
    if (keep.test(char)) out += char
    else for (const byte of Buffer.from(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

const parseUriParams = (text: string, what: string): SipParams => {
  const list: SipParam[] = []
  const seen = new Set<string>()
  for (const part of text.split(';')) {
    const equals = part.indexOf('=')
    const rawName = equals === -1 ? part : part.slice(0, equals)
    const rawValue = equals === -1 ? undefined : part.slice(equals + 1)
    if (!PARAM.test(rawName) || (rawValue !== undefined && !PARAM.test(rawValue))) throw syntaxError(`malformed ${what} parameter ${JSON.stringify(part)}`)
    const name = unescape(rawName, what)
    if (seen.has(name.toLowerCase())) throw syntaxError(`duplicate ${what} parameter ${name}`)
    seen.add(name.toLowerCase())
    list.push({name, value: rawValue === undefined ? null : unescape(rawValue, what), quoted: false})
  }
  return new SipParams(list)
}

const parseHostPort = (text: string, what: string): {host: string; port?: number} => {
  let host: string
  let rest: string
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    host = text.slice(1, close)
    if (close === -1 || !isIPv6(host)) throw syntaxError(`bad IPv6 reference in ${what}`)
    rest = text.slice(close + 1)
  } else {
    const colon = text.indexOf(':')
    host = colon === -1 ? text : text.slice(0, colon)
    if (!isValidHost(host) || isIPv6(host)) throw syntaxError(`bad host in ${what}`)
    rest = colon === -1 ? '' : text.slice(colon)
  }
  if (rest === '') return {host}
  const port = rest.startsWith(':') ? parseBoundedInteger(rest.slice(1), 65_535) : undefined
  if (port === undefined) throw syntaxError(`bad port in ${what}`)
  return {host, port}
}

const parseSipUriBody = (scheme: 'sip' | 'sips', body: string): SipUri => {
  const what = `${scheme} URI`
  const at = body.indexOf('@')
  let user: string | undefined
  let password: string | undefined
  if (at !== -1) {
    const userinfo = body.slice(0, at)
    const colon = userinfo.indexOf(':')
    const rawUser = colon === -1 ? userinfo : userinfo.slice(0, colon)
    const rawPassword = colon === -1 ? undefined : userinfo.slice(colon + 1)
    if (!USER.test(rawUser)) throw syntaxError(`bad user part in ${what}`)
    if (rawPassword !== undefined && rawPassword !== '' && !PASSWORD.test(rawPassword)) throw syntaxError(`bad password in ${what}`)
    user = unescape(rawUser, what)
    password = rawPassword === undefined ? undefined : unescape(rawPassword, what)
  }
  const afterUser = body.slice(at + 1)
  const question = afterUser.indexOf('?')
  const beforeHeaders = question === -1 ? afterUser : afterUser.slice(0, question)
  const semicolon = beforeHeaders.indexOf(';')
  const hostPort = semicolon === -1 ? beforeHeaders : beforeHeaders.slice(0, semicolon)
  const {host, port} = parseHostPort(hostPort, what)
  const params = semicolon === -1 ? new SipParams() : parseUriParams(beforeHeaders.slice(semicolon + 1), what)
  const headers: SipUri['headers'] = []
  if (question !== -1) {
    for (const part of afterUser.slice(question + 1).split('&')) {
      const equals = part.indexOf('=')
      const name = part.slice(0, equals)
      const value = part.slice(equals + 1)
      if (equals === -1 || !HEADER_NAME.test(name) || !HEADER_VALUE.test(value)) throw syntaxError(`malformed header in ${what}`)
      headers.push({name: unescape(name, what), value: unescape(value, what)})
    }
  }
  return {kind: 'sip', scheme, user, password, host, port, params, headers}
}

const parseTelUriBody = (body: string): TelUri => {
  const semicolon = body.indexOf(';')
  const number = semicolon === -1 ? body : body.slice(0, semicolon)
  const params = semicolon === -1 ? new SipParams() : parseUriParams(body.slice(semicolon + 1), 'tel URI')
  if (TEL_GLOBAL.test(number)) return {kind: 'tel', scheme: 'tel', number, params}
  // A local number means nothing without its context (RFC 3966 §5.1.5).
  if (TEL_LOCAL.test(number) && params.has('phone-context')) return {kind: 'tel', scheme: 'tel', number, params}
  throw syntaxError('bad tel URI number')
}

/** Parses a URI; throws SipParseError (400) on bad syntax. Schemes are case-insensitive and come back lower-case. */
export const parseUri = (text: string): Uri => {
  const colon = text.indexOf(':')
  const scheme = text.slice(0, colon).toLowerCase()
  const body = text.slice(colon + 1)
  if (colon <= 0 || !SCHEME.test(scheme)) throw syntaxError('URI has no valid scheme')
  if (scheme === 'sip' || scheme === 'sips') return parseSipUriBody(scheme, body)
  if (!URIC.test(body)) throw syntaxError(`malformed ${scheme} URI`)
  if (scheme === 'tel') return parseTelUriBody(body)
  return {kind: 'absolute', scheme, opaque: body}
}

/** Parses a sip: or sips: URI; any other valid scheme fails with 416 Unsupported URI Scheme. */
export const parseSipUri = (text: string): SipUri => {
  const uri = parseUri(text)
  if (uri.kind !== 'sip') throw new SipParseError(`unsupported URI scheme ${uri.scheme}`, 416)
  return uri
}

const formatUriParams = (params: SipParams): string => {
  let out = ''
  for (const {name, value} of params) out += `;${escape(name, PARAM_CHARS)}${value === null ? '' : `=${escape(value, PARAM_CHARS)}`}`
  return out
}

export const formatUri = (uri: Uri): string => {
  if (uri.kind === 'absolute') return `${uri.scheme}:${uri.opaque}`
  if (uri.kind === 'tel') return `tel:${uri.number}${formatUriParams(uri.params)}`
  let out = `${uri.scheme}:`
  if (uri.user !== undefined) {
    out += escape(uri.user, `${UNRESERVED}&=+$,;?/`)
    if (uri.password !== undefined) out += `:${escape(uri.password, `${UNRESERVED}&=+$,`)}`
    out += '@'
  }
  out += uri.host.includes(':') ? `[${uri.host}]` : uri.host
  if (uri.port !== undefined) out += `:${uri.port}`
  out += formatUriParams(uri.params)
  if (uri.headers.length > 0) {
    out += `?${uri.headers.map(({name, value}) => `${escape(name, HEADER_CHARS)}=${escape(value, HEADER_CHARS)}`).join('&')}`
  }
  return out
}

/** Builds a SIP URI from its parts, with empty params and headers unless given. */
export const sipUri = (parts: Omit<SipUri, 'kind' | 'scheme' | 'params' | 'headers'> & Partial<Pick<SipUri, 'scheme' | 'params' | 'headers'>>): SipUri => ({
  kind: 'sip',
  scheme: parts.scheme ?? 'sip',
  user: parts.user,
  password: parts.password,
  host: parts.host,
  port: parts.port,
  params: parts.params ?? new SipParams(),
  headers: parts.headers ?? [],
})
