// name-addr / addr-spec with header parameters: the value of To, From,
// Contact, Route, Record-Route and friends (RFC 3261 §20.10, §25.1).
import {syntaxError} from './errors.js'
import {Cursor, isToken, quote} from './grammar.js'
import {readHeaderParams, SipParams} from './params.js'
import {formatUri, parseUri, type Uri} from './uri.js'

export interface NameAddr {
  displayName?: string | undefined
  uri: Uri
  /** Header parameters (tag, q, expires...), never the URI's own parameters. */
  params: SipParams
}

const TOKEN_CHAR = /[A-Za-z0-9\-.!%*_+`'~]/
// An addr-spec ends at the header parameters, the list separator or whitespace.
const ADDR_SPEC_CHAR = /[^;,\s]/

const readDisplayTokens = (cursor: Cursor): string | undefined => {
  const start = cursor.pos
  const tokens: string[] = []
  for (;;) {
    const token = cursor.readWhile(TOKEN_CHAR)
    if (token === '') break
    tokens.push(token)
    cursor.skipWs()
  }
  if (cursor.peek() === '<') return tokens.length > 0 ? tokens.join(' ') : undefined
  cursor.pos = start
  return undefined
}

/** Reads one name-addr or addr-spec with its parameters. */
export const readNameAddr = (cursor: Cursor, what: string): NameAddr => {
  cursor.skipWs()
  let displayName: string | undefined
  if (cursor.peek() === '"') {
    displayName = cursor.readQuotedString(`display name in ${what}`)
    cursor.skipWs()
    if (cursor.peek() !== '<') throw syntaxError(`expected <URI> after the display name in ${what}`)
  } else {
    displayName = readDisplayTokens(cursor)
  }
  let uri: Uri
  if (cursor.consume('<')) {
    const close = cursor.text.indexOf('>', cursor.pos)
    if (close === -1) throw syntaxError(`unclosed < in ${what}`)
    uri = parseUri(cursor.text.slice(cursor.pos, close))
    cursor.pos = close + 1
  } else {
    const text = cursor.readWhile(ADDR_SPEC_CHAR)
    if (text === '') throw syntaxError(`missing URI in ${what}`)
    // A URI with ',', '?' or ';' must be in angle brackets (RFC 3261 §20.10).
    if (text.includes('?')) throw syntaxError(`URI with headers must be in <> in ${what}`)
    uri = parseUri(text)
  }
  const params = readHeaderParams(cursor, what)
  return {displayName, uri, params}
}

/** Parses a single name-addr header value (To, From, Refer-To...). */
export const parseNameAddr = (value: string, what = 'address'): NameAddr => {
  const cursor = new Cursor(value)
  const address = readNameAddr(cursor, what)
  cursor.expectEnd(what)
  return address
}

/** Parses a comma-separated list of name-addr values (Route, Record-Route, Contact...). */
export const parseNameAddrList = (value: string, what = 'address list'): NameAddr[] => {
  const cursor = new Cursor(value)
  const list: NameAddr[] = []
  do {
    list.push(readNameAddr(cursor, what))
    cursor.skipWs()
  } while (cursor.consume(','))
  cursor.expectEnd(what)
  return list
}

export const formatNameAddr = (address: NameAddr): string => {
  const name = address.displayName === undefined ? '' : `${address.displayName.split(' ').every(isToken) ? address.displayName : quote(address.displayName)} `
  return `${name}<${formatUri(address.uri)}>${address.params.toString()}`
}

/** The `tag` parameter of a To or From value. */
export const tagOf = (address: NameAddr): string | undefined => address.params.get('tag') ?? undefined
