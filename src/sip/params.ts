// Ordered `;name=value` parameters with case-insensitive names, shared by
// header parameters (tag, branch, q...) and URI parameters (transport, lr...).
import {Cursor, isToken, quote} from './grammar.js'
import {syntaxError} from './errors.js'

export interface SipParam {
  readonly name: string
  /** Unquoted (header params) or unescaped (URI params) value; null when valueless (`;lr`). */
  readonly value: string | null
  /** Whether the value travels as a quoted-string (header params only). */
  readonly quoted: boolean
}

const GEN_VALUE = /^[A-Za-z0-9\-.!%*_+`'~:[\]]+$/

export class SipParams implements Iterable<SipParam> {
  private readonly list: SipParam[] = []

  constructor(params?: Iterable<SipParam> | Readonly<Record<string, string | null>>) {
    if (params === undefined) return
    if (Symbol.iterator in params) {
      for (const param of params as Iterable<SipParam>) this.list.push({...param})
    } else {
      for (const [name, value] of Object.entries(params)) this.set(name, value)
    }
  }

  get size(): number {
    return this.list.length
  }

  private indexOf(name: string): number {
    const lower = name.toLowerCase()
    return this.list.findIndex((param) => param.name.toLowerCase() === lower)
  }

  /** The value; null for a valueless parameter; undefined when absent. */
  get(name: string): string | null | undefined {
    return this.list[this.indexOf(name)]?.value
  }

  has(name: string): boolean {
    return this.indexOf(name) !== -1
  }

  /** Replaces the parameter in place, or appends it. Values that are not a token or host get quoted. */
  set(name: string, value: string | null, options?: {quoted?: boolean}): this {
    if (!isToken(name)) throw new TypeError(`invalid parameter name ${JSON.stringify(name)}`)
    const quoted = options?.quoted ?? (value !== null && !GEN_VALUE.test(value))
    const param = {name, value, quoted}
    const index = this.indexOf(name)
    if (index === -1) this.list.push(param)
    else this.list[index] = param
    return this
  }

  delete(name: string): this {
    const index = this.indexOf(name)
    if (index !== -1) this.list.splice(index, 1)
    return this
  }

  [Symbol.iterator](): Iterator<SipParam> {
    return this.list[Symbol.iterator]()
  }

  /** Header-parameter form: `;name=value;flag;text="quoted"`. */
  toString(): string {
    return this.list.map(({name, value, quoted}) => (value === null ? `;${name}` : `;${name}=${quoted ? quote(value) : value}`)).join('')
  }

  clone(): SipParams {
    return new SipParams(this.list)
  }
}

/**
 * Reads `*( SEMI generic-param )` from the cursor (RFC 3261 §25.1: SWS is
 * allowed around `;` and `=`). Stops before anything that does not start a
 * parameter, such as a comma or the end.
 */
export const readHeaderParams = (cursor: Cursor, what: string): SipParams => {
  const params = new SipParams()
  while (cursor.consume(';', true)) {
    cursor.skipWs()
    const name = cursor.readToken(`${what} parameter name`)
    if (params.has(name)) throw syntaxError(`duplicate ${what} parameter ${name}`)
    if (cursor.consume('=', true)) {
      cursor.skipWs()
      const {value, quoted} = cursor.readGenValue(`${what} parameter ${name}`)
      params.set(name, value, {quoted})
    } else {
      params.set(name, null)
    }
  }
  return params
}
