// Scalar and small structured header values: CSeq, Max-Forwards,
// Content-Length, Call-ID, Contact (with `*`) and Reason (RFC 3326).
import {syntaxError} from './errors.js'
import {Cursor, isToken, parseBoundedInteger, quote} from './grammar.js'
import {parseNameAddrList, type NameAddr} from './name-addr.js'
import {readHeaderParams, SipParams} from './params.js'

/** RFC 3261 §8.1.1.5: a CSeq number is a 32-bit unsigned integer. */
export const MAX_CSEQ = 2 ** 32 - 1
/** RFC 3261 §8.1.1.6: the value a UAC starts Max-Forwards at, and what we assume when it is missing. */
export const DEFAULT_MAX_FORWARDS = 70

export interface CSeq {
  seq: number
  method: string
}

export const parseCSeq = (value: string): CSeq => {
  const match = /^[ \t]*(\d+)[ \t]+([^ \t]+)[ \t]*$/.exec(value)
  const seq = match?.[1] === undefined ? undefined : parseBoundedInteger(match[1], MAX_CSEQ)
  const method = match?.[2]
  if (seq === undefined || method === undefined || !isToken(method)) throw syntaxError('malformed CSeq')
  return {seq, method}
}

export const formatCSeq = (cseq: CSeq): string => `${cseq.seq} ${cseq.method}`

/** Max-Forwards is 0-255 (RFC 3261 §20.22); larger values are rejected, not clamped. */
export const parseMaxForwards = (value: string): number => {
  const hops = parseBoundedInteger(value.trim(), 255)
  if (hops === undefined) throw syntaxError('malformed Max-Forwards')
  return hops
}

/** Content-Length: digits only; `max` keeps absurd values from becoming unsafe integers. */
export const parseContentLength = (value: string, max = Number.MAX_SAFE_INTEGER): number => {
  const length = parseBoundedInteger(value.trim(), max)
  if (length === undefined) throw syntaxError('malformed or oversized Content-Length')
  return length
}

// word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" / "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
const CALL_ID = /^[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\"/[\]?{}]+)?$/

export const isValidCallId = (value: string): boolean => CALL_ID.test(value)

/** Contact: either `*` (REGISTER removal of all bindings) or a list of addresses. */
export type ContactValue = {star: true} | {star: false; addresses: NameAddr[]}

export const parseContact = (value: string): ContactValue => {
  if (value.trim() === '*') return {star: true}
  return {star: false, addresses: parseNameAddrList(value, 'Contact')}
}

export interface ReasonValue {
  /** `SIP`, `Q.850` or an extension token. */
  protocol: string
  cause?: number | undefined
  text?: string | undefined
  /** Every parameter, cause and text included. */
  params: SipParams
}

/** Parses a Reason header value (RFC 3326), which may list several reasons. */
export const parseReason = (value: string): ReasonValue[] => {
  const cursor = new Cursor(value)
  const reasons: ReasonValue[] = []
  do {
    cursor.skipWs()
    const protocol = cursor.readToken('Reason protocol')
    const params = readHeaderParams(cursor, 'Reason')
    const rawCause = params.get('cause')
    const cause = rawCause === undefined ? undefined : parseBoundedInteger(rawCause ?? '', 0xffff)
    if (rawCause !== undefined && cause === undefined) throw syntaxError('Reason cause is not a number')
    const text = params.get('text')
    if (text === null) throw syntaxError('Reason text has no value')
    reasons.push({protocol, cause, text, params})
    cursor.skipWs()
  } while (cursor.consume(','))
  cursor.expectEnd('Reason')
  return reasons
}

export const formatReason = (reason: {protocol: string; cause?: number | undefined; text?: string | undefined}): string => {
  let out = reason.protocol
  if (reason.cause !== undefined) out += `;cause=${reason.cause}`
  if (reason.text !== undefined) out += `;text=${quote(reason.text)}`
  return out
}

/**
 * Whether Accept (RFC 3261 §20.1, the ranges of every Accept line) admits a
 * media type: the most specific range that covers it (`type/subtype`, then
 * `type/*`, then `*\/*`, as RFC 2616 §14.1 has it) decides, and admits it
 * unless its q-value is 0. No Accept header admits it (`acceptValues`
 * undefined); an Accept header with no ranges at all admits nothing.
 */
export const acceptsMediaType = (acceptValues: readonly string[] | undefined, mediaType: string): boolean => {
  if (acceptValues === undefined) return true
  const [type = '', subtype = ''] = mediaType.toLowerCase().split('/')
  let best: {specificity: number; q: number} | undefined
  for (const range of acceptValues) {
    const [name = '', ...params] = range.split(';').map((part) => part.trim().toLowerCase())
    const [rangeType, rangeSubtype] = name.split('/').map((part) => part.trim())
    const specificity = rangeType === type && rangeSubtype === subtype ? 3 : rangeType === type && rangeSubtype === '*' ? 2 : rangeType === '*' && rangeSubtype === '*' ? 1 : 0
    if (specificity === 0) continue
    const qParam = params.find((param) => /^q\s*=/.test(param))
    const q = qParam === undefined ? 1 : Number(qParam.slice(qParam.indexOf('=') + 1).trim())
    if (best === undefined || specificity > best.specificity || (specificity === best.specificity && q > best.q)) best = {specificity, q: Number.isNaN(q) ? 0 : q}
  }
  return best !== undefined && best.q > 0
}
