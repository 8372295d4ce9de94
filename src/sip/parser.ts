// Strict RFC 3261 message parser for one datagram (or one frame cut by
// SipStreamFramer). It throws only SipParseError; the error says which status
// to answer with when the message was a request and carries what was parsed,
// so the engine can still answer 400 to a broken request (answerableRequest).
//
// Choices where the RFC leaves room:
// - Lines must end in CRLF; a bare CR or LF in the header section is a 400.
// - The header section must be UTF-8; the body is raw bytes.
// - Missing Max-Forwards is accepted (see validate.ts).
// - A status line without a reason phrase ("SIP/2.0 200") is accepted.
// - Oversized header sections, too many headers or an over-long header line
//   get 513 Message Too Large; a message over the size limit with a header
//   section within its own limit gets 413 (the body is what is too large).
import {SipParseError, syntaxError} from './errors.js'
import {parseContentLength} from './header-values.js'
import {isToken} from './grammar.js'
import {SipHeaders} from './headers.js'
import {createRequest, createResponse, type SipMessage, type SipRequest} from './message.js'
import {parseUri} from './uri.js'
import {validateMessageHeaders} from './validate.js'
import {parseVia} from './via.js'

export interface SipLimits {
  /** Whole message, header section and body. */
  readonly maxMessageBytes: number
  /** Start line and header lines, without the blank line. */
  readonly maxHeaderBytes: number
  readonly maxHeaderCount: number
  /** One physical header line, and one header after unfolding. */
  readonly maxHeaderLineBytes: number
}

export const DEFAULT_SIP_LIMITS: SipLimits = {
  maxMessageBytes: 64 * 1024,
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 128,
  maxHeaderLineBytes: 8 * 1024,
}

export interface SipParseOptions extends Partial<SipLimits> {
  /**
   * The bytes are one frame of a stream transport: Content-Length is then
   * mandatory and must match the body exactly (RFC 3261 §18.3).
   */
  readonly stream?: boolean
}

const CRLF_CRLF = Buffer.from('\r\n\r\n')
const utf8 = new TextDecoder('utf-8', {fatal: true, ignoreBOM: true})
const REQUEST_LINE_START = /^[A-Za-z0-9\-.!%*_+`'~]+ /
const VERSION = /^SIP\/(\d{1,9})\.(\d{1,9})$/i
const STATUS_LINE = /^(SIP\/\d{1,9}\.\d{1,9}) (\d{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/i

const tooLarge = (reason: string): SipParseError => new SipParseError(reason, 513)

type StartLine = {kind: 'request'; method: string; uri: string} | {kind: 'response'; status: number; reason: string}

const isVersion20 = (version: string): boolean => {
  const match = VERSION.exec(version)
  return match !== null && Number(match[1]) === 2 && Number(match[2]) === 0
}

const parseStartLine = (line: string): StartLine => {
  if (/^SIP\//i.test(line)) {
    const match = STATUS_LINE.exec(line)
    if (match === null) throw syntaxError('malformed status line')
    if (!isVersion20(match[1] ?? '')) throw syntaxError('unsupported SIP version in status line')
    const status = Number(match[2])
    if (status < 100) throw syntaxError('status code out of range')
    return {kind: 'response', status, reason: match[3] ?? ''}
  }
  const parts = line.split(' ')
  const [method, uri, version] = parts
  if (parts.length !== 3 || method === undefined || uri === undefined || version === undefined || !isToken(method) || uri === '') {
    throw syntaxError('malformed request line')
  }
  if (!VERSION.test(version)) throw syntaxError('malformed SIP version')
  if (!isVersion20(version)) throw new SipParseError(`unsupported SIP version ${version}`, 505)
  const parsed = parseUri(uri)
  if (parsed.kind === 'absolute') throw new SipParseError(`unsupported URI scheme ${parsed.scheme}`, 416)
  if (parsed.kind === 'sip' && parsed.headers.length > 0) throw syntaxError('Request-URI must not carry headers')
  return {kind: 'request', method, uri}
}

const messageFor = (start: StartLine, headers: SipHeaders): SipMessage =>
  start.kind === 'request' ? createRequest(start.method, start.uri, headers) : createResponse(start.status, start.reason, headers)

/**
 * Parses header lines (after the start line), unfolding continuation lines.
 * Collects every well-formed header up to the count limit and reports the
 * first problem, so a broken request still yields as much as possible.
 */
const parseHeaderLines = (lines: readonly string[], limits: SipLimits): {headers: SipHeaders; error?: SipParseError} => {
  const headers = new SipHeaders()
  let error: SipParseError | undefined
  const fail = (problem: SipParseError): void => {
    error ??= problem
  }
  const logical: string[] = []
  for (const line of lines) {
    if (Buffer.byteLength(line) > limits.maxHeaderLineBytes) {
      fail(tooLarge('header line too long'))
      continue
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // LWS continuation (RFC 3261 §7.3.1): the fold is one SP.
      if (logical.length === 0) fail(syntaxError('continuation line without a header'))
      else logical[logical.length - 1] += ` ${line.replace(/^[ \t]+/, '')}`
      continue
    }
    logical.push(line)
  }
  for (const line of logical) {
    if (/[\r\n]/.test(line)) {
      fail(syntaxError('bare CR or LF in the header section'))
      continue
    }
    if (Buffer.byteLength(line) > limits.maxHeaderLineBytes) {
      fail(tooLarge('header too long'))
      continue
    }
    const match = /^([^ \t:]+)[ \t]*:[ \t]*(.*?)[ \t]*$/s.exec(line)
    const name = match?.[1]
    if (match === null || name === undefined || !isToken(name)) {
      fail(syntaxError('malformed header line'))
      continue
    }
    if (headers.size >= limits.maxHeaderCount) {
      fail(tooLarge('too many headers'))
      break
    }
    headers.append(name, match[2] ?? '')
  }
  return error === undefined ? {headers} : {headers, error}
}

/** Fails with the right status (requests only) and whatever was parsed. Anything but a SipParseError is a bug and propagates. */
const failWith = (error: unknown, start: StartLine | undefined, headers: SipHeaders | undefined, looksLikeRequest: boolean): never => {
  if (!(error instanceof SipParseError)) throw error
  const problem = error
  const status = start === undefined ? (looksLikeRequest ? (problem.status ?? 400) : undefined) : start.kind === 'request' ? (problem.status ?? 400) : undefined
  throw problem.withContext(status, start === undefined ? undefined : messageFor(start, headers ?? new SipHeaders()))
}

/** The lines of a header section; one that is not UTF-8 is still read (as Latin-1) for the partial request, then refused. */
const decodeLines = (head: Buffer): {lines: string[]; encodingError?: SipParseError} => {
  try {
    return {lines: utf8.decode(head).split('\r\n')}
  } catch {
    return {lines: head.toString('latin1').split('\r\n'), encodingError: syntaxError('header section is not UTF-8')}
  }
}

/**
 * A request line that failed to parse but still names a method and a URI: kept
 * so the request can be answered (505 for another SIP version, 416 for another
 * URI scheme, RFC 4475 §3.1.2) rather than dropped.
 */
const answerableRequestLine = (line: string): StartLine | undefined => {
  const [method, uri, version, extra] = line.split(' ')
  if (extra !== undefined || method === undefined || uri === undefined || uri === '' || version === undefined || !isToken(method)) return undefined
  return {kind: 'request', method, uri}
}

const parseHead = (head: Buffer, limits: SipLimits, looksLikeRequest: boolean): {start: StartLine; headers: SipHeaders} => {
  let start: StartLine | undefined
  let headers: SipHeaders | undefined
  try {
    const {lines: [startLine = '', ...lines], encodingError} = decodeLines(head)
    if (/[\r\n]/.test(startLine)) throw syntaxError('bare CR or LF in the start line')
    if (Buffer.byteLength(startLine) > limits.maxHeaderLineBytes) throw tooLarge('start line too long')
    let startError: unknown
    try {
      start = parseStartLine(startLine)
    } catch (error) {
      startError = error
      start = looksLikeRequest ? answerableRequestLine(startLine) : undefined
    }
    const parsed = parseHeaderLines(lines, limits)
    headers = parsed.headers
    if (startError !== undefined) throw startError
    if (encodingError !== undefined) throw encodingError
    if (parsed.error !== undefined) throw parsed.error
    if (start === undefined) throw syntaxError('malformed start line')
    return {start, headers}
  } catch (error) {
    return failWith(error, start, headers, looksLikeRequest)
  }
}

/** The part of an oversized header section that ends at a line boundary, for a best-effort partial parse. */
const partialHeadOf = (data: Buffer, limits: SipLimits, looksLikeRequest: boolean): {start: StartLine; headers: SipHeaders} | undefined => {
  const window = data.subarray(0, limits.maxHeaderBytes)
  const lastLineEnd = window.lastIndexOf('\r\n')
  if (lastLineEnd <= 0) return undefined
  try {
    return parseHead(window.subarray(0, lastLineEnd), limits, looksLikeRequest)
  } catch (error) {
    if (!(error instanceof SipParseError)) throw error
    return error.partial === undefined ? undefined : {start: startLineOf(error.partial), headers: error.partial.headers}
  }
}

const startLineOf = (message: SipMessage): StartLine =>
  message.kind === 'request' ? {kind: 'request', method: message.method, uri: message.uri} : {kind: 'response', status: message.status, reason: message.reason}

/** Parses one SIP message. Throws SipParseError, and nothing else, on any problem. */
export const parseSipMessage = (data: Buffer, options: SipParseOptions = {}): SipMessage => {
  const limits: SipLimits = {...DEFAULT_SIP_LIMITS, ...options}
  const looksLikeRequest = REQUEST_LINE_START.test(data.subarray(0, 256).toString('latin1')) && !/^SIP\//i.test(data.subarray(0, 4).toString('latin1'))
  if (data.length === 0) throw new SipParseError('empty message')
  const headEnd = data.subarray(0, limits.maxHeaderBytes + CRLF_CRLF.length).indexOf(CRLF_CRLF)
  if (headEnd === -1 || headEnd > limits.maxHeaderBytes) {
    const oversized = data.length > limits.maxHeaderBytes
    const error = oversized ? tooLarge('header section too large') : syntaxError('no blank line after the headers')
    const partial = oversized ? partialHeadOf(data, limits, looksLikeRequest) : partialHeadOf(Buffer.concat([data, Buffer.from('\r\n')]), limits, looksLikeRequest)
    return failWith(error, partial?.start, partial?.headers, looksLikeRequest)
  }
  const {start, headers} = parseHead(data.subarray(0, headEnd), limits, looksLikeRequest)
  const message = messageFor(start, headers)
  try {
    if (data.length > limits.maxMessageBytes) throw new SipParseError('message too large', 413)
    validateMessageHeaders(message)
    const bodyStart = headEnd + CRLF_CRLF.length
    const available = data.length - bodyStart
    const declared = headers.get('content-length')
    if (declared === undefined && options.stream === true) throw syntaxError('missing Content-Length on a stream transport')
    // Without Content-Length a datagram's body runs to its end (RFC 3261 §18.3).
    const length = declared === undefined ? available : parseContentLength(declared)
    if (length > available) throw syntaxError('Content-Length larger than the body')
    if (length < available && options.stream === true) throw syntaxError('bytes after the body in a stream frame')
    // A longer datagram body is truncated to Content-Length (RFC 3261 §18.3).
    message.body = Buffer.from(data.subarray(bodyStart, bodyStart + length))
    return message
  } catch (error) {
    return failWith(error, start, headers, looksLikeRequest)
  }
}

/**
 * The partial request of a parse failure when a response can be routed back:
 * its top Via parses. RFC 3261 §8.2.6.2 copies From, To, Call-ID and CSeq;
 * a missing one is left out of the 400 and a repeated one is copied once
 * (the first), as RFC 4475 asks for `insuf` (§3.3.1) and `multi01` (§3.3.8):
 * the sender learns why, rather than retransmitting into silence.
 */
export const answerableRequest = (error: SipParseError): SipRequest | undefined => {
  const partial = error.partial
  if (partial?.kind !== 'request' || error.status === undefined) return undefined
  const topVia = partial.headers.get('via')
  if (topVia === undefined) return undefined
  try {
    parseVia(topVia)
  } catch (viaError) {
    if (viaError instanceof SipParseError) return undefined
    throw viaError
  }
  return partial
}

/** A datagram of only CR and LF: a NAT keep-alive, not a message to parse or answer. */
export const isSipKeepAlive = (data: Buffer): boolean => data.length > 0 && data.every((byte) => byte === 0x0d || byte === 0x0a)
