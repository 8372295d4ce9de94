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
