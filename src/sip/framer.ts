// Cuts a stream transport (TCP, TLS) into SIP messages. Content-Length is
// mandatory on streams (RFC 3261 §18.3); CRLF keep-alives between messages
// are reported (RFC 5626 §3.5.1: a client pings with CRLFCRLF, the server
// answers a single CRLF). A framing error leaves the stream position unknown:
// it is fatal and the connection must be closed. A message that is framed
// correctly but fails to parse is reported and skipped; the stream goes on.
import {SipParseError} from './errors.js'
import type {SipMessage} from './message.js'
import {DEFAULT_SIP_LIMITS, parseSipMessage, type SipLimits} from './parser.js'

export type SipFrameEvent =
  | {readonly type: 'message'; readonly message: SipMessage; readonly bytes: Buffer}
  /** Framed but not valid; answer it when answerableRequest(error) says so. */
  | {readonly type: 'invalid'; readonly error: SipParseError; readonly bytes: Buffer}
  /** CRLFCRLF keep-alive from the peer: reply with a single CRLF (SIP_PONG). */
  | {readonly type: 'ping'}
  /** CRLF answering our ping (client role only). */
  | {readonly type: 'pong'}
  /** The stream cannot be framed any more: close the connection. */
  | {readonly type: 'fatal'; readonly error: SipParseError}

export const SIP_PING = Buffer.from('\r\n\r\n')
export const SIP_PONG = Buffer.from('\r\n')

export interface SipStreamFramerOptions extends Partial<SipLimits> {
  /**
   * `server` (we accepted the connection): CRLFCRLF is a ping, a lone CRLF
   * before a message is ignored (RFC 3261 §7.5). `client` (we opened it):
   * every CRLF between messages is a pong. Default `server`.
   */
  readonly role?: 'server' | 'client'
}

const CR = 0x0d
const LF = 0x0a
const CRLF_CRLF = Buffer.from('\r\n\r\n')
const START_LINE = /^(?:[A-Za-z0-9\-.!%*_+`'~]+ |SIP\/)/i

type Framing = {length: number} | {error: SipParseError}

/** Finds the one Content-Length of a header section without a full parse (folded lines included). */
const contentLengthOf = (head: Buffer): Framing => {
  const lines = head.toString('latin1').split('\r\n').slice(1)
  const unfolded: string[] = []
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && unfolded.length > 0) unfolded[unfolded.length - 1] += ` ${line.trim()}`
    else unfolded.push(line)
  }
  const values = unfolded.flatMap((line) => {
    const match = /^(?:content-length|l)[ \t]*:[ \t]*(.*?)[ \t]*$/i.exec(line)
    return match === null ? [] : [match[1] ?? '']
  })
  if (values.length === 0) return {error: new SipParseError('missing Content-Length on a stream transport', 400)}
  if (values.length > 1) return {error: new SipParseError('more than one Content-Length on a stream transport', 400)}
  const value = values[0] ?? ''
  if (!/^\d{1,15}$/.test(value)) return {error: new SipParseError('malformed Content-Length on a stream transport', 400)}
  return {length: Number(value)}
}

export class SipStreamFramer {
  private buffer: Buffer = Buffer.alloc(0)
  private failed = false
  private readonly limits: SipLimits
  private readonly role: 'server' | 'client'

  constructor(options: SipStreamFramerOptions = {}) {
    const {role = 'server', ...limits} = options
    this.limits = {...DEFAULT_SIP_LIMITS, ...limits}
    this.role = role
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.buffer.length
  }

  /** Feeds received bytes; returns what became complete, in order. */
  push(chunk: Buffer): SipFrameEvent[] {
    if (this.failed) throw new Error('SipStreamFramer: the stream already failed; close the connection')
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const events: SipFrameEvent[] = []
    for (;;) {
      const event = this.next()
      if (event === undefined) break
      events.push(event)
      if (event.type === 'fatal') {
        this.failed = true
        this.buffer = Buffer.alloc(0)
        break
      }
    }
    return events
  }

  private consume(count: number): void {
    this.buffer = this.buffer.subarray(count)
  }

  /** The next event, or undefined when more bytes are needed. */
  private next(): SipFrameEvent | undefined {
    const buffer = this.buffer
    if (buffer.length === 0) return undefined
    if (buffer[0] === CR || buffer[0] === LF) return this.keepAlive()
    const fatal = (reason: string, status: number): SipFrameEvent => ({type: 'fatal', error: new SipParseError(reason, status)})
    const lineEnd = buffer.subarray(0, this.limits.maxHeaderLineBytes + 2).indexOf('\r\n')
    if (lineEnd === -1) return buffer.length > this.limits.maxHeaderLineBytes ? fatal('start line too long', 513) : undefined
    if (!START_LINE.test(buffer.subarray(0, lineEnd).toString('latin1'))) return fatal('stream does not carry SIP', 400)
    const headEnd = buffer.subarray(0, this.limits.maxHeaderBytes + CRLF_CRLF.length).indexOf(CRLF_CRLF)
    if (headEnd === -1 || headEnd > this.limits.maxHeaderBytes) {
      return buffer.length > this.limits.maxHeaderBytes + CRLF_CRLF.length - 1 || headEnd !== -1 ? fatal('header section too large', 513) : undefined
    }
    const framing = contentLengthOf(buffer.subarray(0, headEnd))
    if ('error' in framing) return {type: 'fatal', error: framing.error}
    const total = headEnd + CRLF_CRLF.length + framing.length
    if (total > this.limits.maxMessageBytes) return fatal('message too large', 413)
    if (buffer.length < total) return undefined
    const bytes = buffer.subarray(0, total)
    this.consume(total)
    try {
      return {type: 'message', message: parseSipMessage(bytes, {...this.limits, stream: true}), bytes}
    } catch (error) {
      if (error instanceof SipParseError) return {type: 'invalid', error, bytes}
      throw error
    }
  }

  private keepAlive(): SipFrameEvent | undefined {
    const buffer = this.buffer
    const crlfAt = (index: number): boolean | undefined =>
      buffer.length < index + 2 ? (buffer.length === index || buffer[index] === CR ? undefined : false) : buffer[index] === CR && buffer[index + 1] === LF
    const first = crlfAt(0)
    if (first === undefined) return undefined
    if (!first) return {type: 'fatal', error: new SipParseError('stray CR or LF between messages', 400)}
    if (this.role === 'client') {
      this.consume(2)
      return {type: 'pong'}
    }
    const second = crlfAt(2)
    if (second === undefined) return undefined
    if (second) {
      this.consume(4)
      return {type: 'ping'}
    }
    // A lone CRLF before a start line is ignored (RFC 3261 §7.5).
    this.consume(2)
    return this.next()
  }
}
