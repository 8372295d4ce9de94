// RFC 3261 §25 character classes and a cursor for the structured header
// grammars. Header values reach the cursor unfolded (folding became one SP),
// so linear whitespace is only SP and HTAB here.
import {isIPv4, isIPv6} from 'node:net'
import {syntaxError} from './errors.js'

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/
const TOKEN_CHAR = /[A-Za-z0-9\-.!%*_+`'~]/
/** gen-value = token / host / quoted-string: token characters plus what IPv6 references add. */
const GEN_VALUE_CHAR = /[A-Za-z0-9\-.!%*_+`'~:[\]]/
const HOSTNAME = /^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?\.?$/
const WSP = /[ \t]/

export const isToken = (text: string): boolean => TOKEN.test(text)

/** hostname, IPv4address or IPv6 address (without brackets). */
export const isValidHost = (host: string): boolean => {
  if (host.length === 0 || host.length > 255) return false
  if (host.includes(':')) return isIPv6(host)
  return /^[\d.]+$/.test(host) ? isIPv4(host) : HOSTNAME.test(host)
}

/** A decimal integer made only of digits, no larger than `max`; undefined otherwise. */
export const parseBoundedInteger = (text: string, max: number): number | undefined => {
  if (!/^\d{1,20}$/.test(text)) return undefined
  const value = Number(text)
  return value <= max ? value : undefined
}

/** Quotes a value for a quoted-string; CR and LF cannot be carried by one. */
export const quote = (value: string): string => {
  if (/[\r\n]/.test(value)) throw new TypeError(`cannot quote a value containing CR or LF: ${JSON.stringify(value)}`)
  // quoted-pair covers the other control characters, DQUOTE and backslash.
  return `"${value.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f"\\]/g, '\\$&')}"`
}

export class Cursor {
  pos = 0

  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length
  }

  peek(): string | undefined {
    return this.text[this.pos]
  }

  /** Skips linear whitespace; true when there was some. */
  skipWs(): boolean {
    const start = this.pos
    while (this.pos < this.text.length && WSP.test(this.text[this.pos] ?? '')) this.pos++
    return this.pos > start
  }

  /** Consumes `char` (after optional whitespace when `sws`); false and no move when absent. */
  consume(char: string, sws = false): boolean {
    const start = this.pos
    if (sws) this.skipWs()
    if (this.text[this.pos] === char) {
      this.pos++
      return true
    }
    this.pos = start
    return false
  }

  expect(char: string, what: string): void {
    if (!this.consume(char)) throw syntaxError(`expected ${JSON.stringify(char)} ${what}`)
  }

  readWhile(charClass: RegExp): string {
    const start = this.pos
    while (this.pos < this.text.length && charClass.test(this.text[this.pos] ?? '')) this.pos++
    return this.text.slice(start, this.pos)
  }

  readToken(what: string): string {
    const token = this.readWhile(TOKEN_CHAR)
    if (token === '') throw syntaxError(`expected a token for ${what}`)
    return token
  }

  /** Reads a quoted-string at the cursor and returns its unescaped content. */
  readQuotedString(what: string): string {
    this.expect('"', `to open the quoted ${what}`)
    let value = ''
    for (;;) {
      const char = this.text[this.pos]
      if (char === undefined) throw syntaxError(`unterminated quoted ${what}`)
      this.pos++
      if (char === '"') return value
      if (char === '\\') {
        const escaped = this.text[this.pos]
        if (escaped === undefined || escaped === '\r' || escaped === '\n' || escaped.charCodeAt(0) > 0x7f) {
          throw syntaxError(`bad escape in quoted ${what}`)
        }
        value += escaped
        this.pos++
        continue
      }
      const code = char.charCodeAt(0)
      // qdtext: LWS, visible ASCII except DQUOTE and backslash, and UTF-8 non-ASCII.
      if ((code < 0x20 && char !== '\t') || code === 0x7f) throw syntaxError(`control character in quoted ${what}`)
      value += char
    }
  }

  /** Reads a gen-value: quoted-string, or token / host. */
  readGenValue(what: string): {value: string; quoted: boolean} {
    if (this.peek() === '"') return {value: this.readQuotedString(what), quoted: true}
    const value = this.readWhile(GEN_VALUE_CHAR)
    if (value === '') throw syntaxError(`empty value for ${what}`)
    return {value, quoted: false}
  }

  /** Fails unless only whitespace is left. */
  expectEnd(what: string): void {
    this.skipWs()
    if (!this.done) throw syntaxError(`unexpected ${JSON.stringify(this.text.slice(this.pos, this.pos + 16))} in ${what}`)
  }
}
