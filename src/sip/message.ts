// The SIP message model (RFC 3261 §7): a request or a response, an ordered
// header list and a raw body. Header values stay strings; the typed views
// below parse them on demand, and the parser has already checked that the
// mandatory ones parse.
import {SipParseError, syntaxError} from './errors.js'
import {DEFAULT_MAX_FORWARDS, parseContact, parseCSeq, parseMaxForwards, type ContactValue, type CSeq} from './header-values.js'
import {SipHeaders} from './headers.js'
import {parseNameAddr, type NameAddr} from './name-addr.js'
import {parseVia, type Via} from './via.js'

export interface SipRequest {
  readonly kind: 'request'
  method: string
  /** The Request-URI as written; parseUri gives its structure. */
  uri: string
  headers: SipHeaders
  body: Buffer
}

export interface SipResponse {
  readonly kind: 'response'
  status: number
  reason: string
  headers: SipHeaders
  body: Buffer
}

export type SipMessage = SipRequest | SipResponse

export const SIP_VERSION = 'SIP/2.0'

type HeaderInit = Iterable<readonly [string, string]> | SipHeaders

const toHeaders = (headers: HeaderInit | undefined): SipHeaders =>
  headers instanceof SipHeaders ? headers : new SipHeaders(headers)

export const createRequest = (method: string, uri: string, headers?: HeaderInit, body: Buffer = Buffer.alloc(0)): SipRequest => ({
  kind: 'request',
  method,
  uri,
  headers: toHeaders(headers),
  body,
})

export const createResponse = (status: number, reason: string = reasonPhrase(status), headers?: HeaderInit, body: Buffer = Buffer.alloc(0)): SipResponse => ({
  kind: 'response',
  status,
  reason,
  headers: toHeaders(headers),
  body,
})

/**
 * A response to `request` carrying the headers RFC 3261 §8.2.6.2 copies:
 * every Via (in order), From, To, Call-ID and CSeq. A To tag is added when
 * given and the To has none. Header lines are copied as written, so this works
 * on the partial request of a SipParseError too.
 */
export const createResponseTo = (request: SipRequest, status: number, options?: {reason?: string; toTag?: string}): SipResponse => {
  const headers = new SipHeaders()
  for (const via of request.headers.getAll('via')) headers.append('Via', via)
  const to = request.headers.get('to')
  for (const [name, value] of [['From', request.headers.get('from')], ['To', to], ['Call-ID', request.headers.get('call-id')], ['CSeq', request.headers.get('cseq')]] as const) {
    if (value === undefined) continue
    const withTag = name === 'To' && options?.toTag !== undefined && !hasTag(value) ? `${value};tag=${options.toTag}` : value
    headers.append(name, withTag)
  }
  return createResponse(status, options?.reason ?? reasonPhrase(status), headers)
}

const hasTag = (to: string): boolean => {
  try {
    return parseNameAddr(to).params.has('tag')
  } catch (error) {
    // A broken To (answering a malformed request): look for the tag textually.
    if (error instanceof SipParseError) return /;\s*tag\s*=/i.test(to)
    throw error
  }
}

const required = (message: SipMessage, name: string): string => {
  const value = message.headers.get(name)
  if (value === undefined) throw syntaxError(`missing ${name}`)
  return value
}

/** Every Via, top first, across header lines and comma-separated values. */
export const viasOf = (message: SipMessage): Via[] => message.headers.getAll('via').flatMap(parseVia)

export const topViaOf = (message: SipMessage): Via => {
  const top = viasOf(message)[0]
  if (top === undefined) throw syntaxError('missing Via')
  return top
}

export const fromOf = (message: SipMessage): NameAddr => parseNameAddr(required(message, 'from'), 'From')
export const toOf = (message: SipMessage): NameAddr => parseNameAddr(required(message, 'to'), 'To')
export const callIdOf = (message: SipMessage): string => required(message, 'call-id')
export const cseqOf = (message: SipMessage): CSeq => parseCSeq(required(message, 'cseq'))

/** Max-Forwards, or 70 when the request has none (we accept its absence; see parser.ts). */
export const maxForwardsOf = (message: SipMessage): number => {
  const value = message.headers.get('max-forwards')
  return value === undefined ? DEFAULT_MAX_FORWARDS : parseMaxForwards(value)
}

/** Every Contact line combined; undefined when there is none. */
export const contactOf = (message: SipMessage): ContactValue | undefined => {
  const lines = message.headers.getAll('contact')
  if (lines.length === 0) return undefined
  if (lines.length === 1 && lines[0]?.trim() === '*') return {star: true}
  return {star: false, addresses: lines.flatMap((line) => {
    const contact = parseContact(line)
    if (contact.star) throw syntaxError('Contact * must stand alone')
    return contact.addresses
  })}
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 182: 'Queued', 183: 'Session Progress', 199: 'Early Dialog Terminated',
  200: 'OK', 202: 'Accepted', 204: 'No Notification',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout', 410: 'Gone', 412: 'Conditional Request Failed',
  413: 'Request Entity Too Large', 414: 'Request-URI Too Long', 415: 'Unsupported Media Type', 416: 'Unsupported URI Scheme',
  417: 'Unknown Resource-Priority', 420: 'Bad Extension', 421: 'Extension Required', 422: 'Session Interval Too Small',
  423: 'Interval Too Brief', 428: 'Use Identity Header', 429: 'Provide Referrer Identity', 433: 'Anonymity Disallowed',
  436: 'Bad Identity-Info', 437: 'Unsupported Certificate', 438: 'Invalid Identity Header', 439: 'First Hop Lacks Outbound Support',
  440: 'Max-Breadth Exceeded', 469: 'Bad Info Package', 470: 'Consent Needed', 480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected', 483: 'Too Many Hops', 484: 'Address Incomplete', 485: 'Ambiguous',
  486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here', 489: 'Bad Event', 491: 'Request Pending',
  493: 'Undecipherable', 494: 'Security Agreement Required',
  500: 'Server Internal Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Server Time-out',
  505: 'Version Not Supported', 513: 'Message Too Large', 555: 'Push Notification Service Not Supported', 580: 'Precondition Failure',
  600: 'Busy Everywhere', 603: 'Decline', 604: 'Does Not Exist Anywhere', 606: 'Not Acceptable', 607: 'Unwanted', 608: 'Rejected',
}

/** The standard reason phrase of a status code, or a generic one for its class. */
export const reasonPhrase = (status: number): string => {
  const known = REASON_PHRASES[status]
  if (known !== undefined) return known
  const byClass = ['Informational', 'Success', 'Redirection', 'Client Error', 'Server Error', 'Global Failure'][Math.floor(status / 100) - 1]
  return byClass ?? 'Unknown'
}
