// An ordered header list. Names keep the spelling they arrived with (the
// message re-serializes as received); lookups are case-insensitive and
// treat compact forms (RFC 3261 §7.3.3 and later RFCs) as their long names.

export interface SipHeader {
  readonly name: string
  readonly value: string
}

/** Compact form → canonical long name. */
export const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'Accept-Contact', // RFC 3841
  b: 'Referred-By', // RFC 3892
  c: 'Content-Type',
  d: 'Request-Disposition', // RFC 3841
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact', // RFC 3841
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info', // RFC 4474
  o: 'Event', // RFC 6665
  r: 'Refer-To', // RFC 3515
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events', // RFC 6665
  v: 'Via',
  x: 'Session-Expires', // RFC 4028
  y: 'Identity', // RFC 8224
}

const CANONICAL = new Map<string, string>(
  [
    ...Object.values(COMPACT_FORMS),
    'Accept', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow', 'Authentication-Info', 'Authorization',
    'Call-Info', 'Content-Disposition', 'Content-Language', 'CSeq', 'Date', 'Error-Info', 'Expires', 'In-Reply-To',
    'Max-Forwards', 'Min-Expires', 'MIME-Version', 'Organization', 'Priority', 'Proxy-Authenticate',
    'Proxy-Authorization', 'Proxy-Require', 'Reason', 'Record-Route', 'Reply-To', 'Require', 'Retry-After', 'Route',
    'RSeq', 'RAck', 'Server', 'Timestamp', 'Unsupported', 'User-Agent', 'Warning', 'WWW-Authenticate', 'Path',
    'P-Asserted-Identity', 'P-Preferred-Identity', 'Privacy', 'Min-SE', 'Replaces', 'Service-Route', 'Diversion',
  ].map((name) => [name.toLowerCase(), name]),
)

/** Headers whose grammar is a comma-separated list, so several lines may be combined (RFC 3261 §7.3.1). */
const LIST_HEADERS = new Set(
  [
    'Via', 'Contact', 'Route', 'Record-Route', 'Path', 'Service-Route', 'Allow', 'Supported', 'Require', 'Proxy-Require',
    'Unsupported', 'Accept', 'Accept-Encoding', 'Accept-Language', 'Content-Encoding', 'Content-Language',
    'Alert-Info', 'Call-Info', 'Error-Info', 'In-Reply-To', 'Reason', 'Allow-Events', 'P-Asserted-Identity',
    'P-Preferred-Identity', 'Accept-Contact', 'Reject-Contact', 'Diversion', 'Warning',
  ].map((name) => name.toLowerCase()),
)

const COMPACT_KEYS = new Map(Object.entries(COMPACT_FORMS).map(([compact, name]) => [compact, name.toLowerCase()]))

/** Lower-case long name used for comparisons: `i` and `CALL-ID` both give `call-id`. */
export const headerKey = (name: string): string => {
  const lower = name.toLowerCase()
  return lower.length === 1 ? (COMPACT_KEYS.get(lower) ?? lower) : lower
}

/** The usual spelling of a header name: `call-id` and `i` give `Call-ID`; unknown names come back as given. */
export const canonicalHeaderName = (name: string): string => CANONICAL.get(headerKey(name)) ?? name

export const isListHeader = (name: string): boolean => LIST_HEADERS.has(headerKey(name))

/** Splits a list header value on commas outside quoted strings and angle brackets. */
export const splitHeaderList = (value: string): string[] => {
  const parts: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let index = 0; index < value.length; index++) {
    const char = value[index]
    if (quoted) {
      if (char === '\\') index++
      else if (char === '"') quoted = false
    } else if (char === '"') quoted = true
    else if (char === '<') depth++
    else if (char === '>') depth = Math.max(0, depth - 1)
    else if (char === ',' && depth === 0) {
      parts.push(value.slice(start, index).trim())
      start = index + 1
    }
  }
  parts.push(value.slice(start).trim())
  return parts.filter((part) => part !== '')
}

export class SipHeaders implements Iterable<SipHeader> {
  private readonly list: SipHeader[] = []
  // headerKey of each entry, computed once: lookups are the hot path of parsing.
  private readonly keys: string[] = []

  constructor(headers?: Iterable<SipHeader | readonly [string, string]>) {
    for (const header of headers ?? []) {
      if (Array.isArray(header)) this.append(header[0] as string, header[1] as string)
      else this.append((header as SipHeader).name, (header as SipHeader).value)
    }
  }

  get size(): number {
    return this.list.length
  }

  /** The first value of the header, or undefined. */
  get(name: string): string | undefined {
    const index = this.keys.indexOf(headerKey(name))
    return index === -1 ? undefined : this.list[index]?.value
  }

  /** Every line's value, in order, not split on commas. */
  getAll(name: string): string[] {
    const key = headerKey(name)
    const values: string[] = []
    for (let index = 0; index < this.keys.length; index++) if (this.keys[index] === key) values.push((this.list[index] as SipHeader).value)
    return values
  }

  /** For list headers: every element across all lines, split on commas; otherwise the same as getAll. */
  values(name: string): string[] {
    const lines = this.getAll(name)
    return isListHeader(name) ? lines.flatMap(splitHeaderList) : lines
  }

  has(name: string): boolean {
    return this.keys.includes(headerKey(name))
  }

  count(name: string): number {
    const key = headerKey(name)
    return this.keys.filter((existing) => existing === key).length
  }

  append(name: string, value: string): this {
    this.list.push({name, value})
    this.keys.push(headerKey(name))
    return this
  }

  /** Inserts before every other header, e.g. a new top Via. */
  prepend(name: string, value: string): this {
    this.list.unshift({name, value})
    this.keys.unshift(headerKey(name))
    return this
  }

  /** Replaces the first line of the header and removes the others, or appends when absent. */
  set(name: string, value: string): this {
    const key = headerKey(name)
    const index = this.keys.indexOf(key)
    if (index === -1) return this.append(name, value)
    this.list[index] = {name: (this.list[index] as SipHeader).name, value}
    for (let other = this.list.length - 1; other > index; other--) if (this.keys[other] === key) this.removeAt(other)
    return this
  }

  delete(name: string): this {
    const key = headerKey(name)
    for (let index = this.list.length - 1; index >= 0; index--) if (this.keys[index] === key) this.removeAt(index)
    return this
  }

  private removeAt(index: number): void {
    this.list.splice(index, 1)
    this.keys.splice(index, 1)
  }

  [Symbol.iterator](): Iterator<SipHeader> {
    return this.list[Symbol.iterator]()
  }

  clone(): SipHeaders {
    return new SipHeaders(this.list)
  }
}
