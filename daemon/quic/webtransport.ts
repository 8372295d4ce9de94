// One browser (or other WebTransport client) connected over HTTP/3 (docs/quic.md,
// "WebTransport"). The gateway's side of HTTP/3 is as small as WebTransport
// allows: its control stream carries SETTINGS (extended CONNECT, HTTP
// datagrams, WebTransport, a QPACK dynamic table of 0), the client's control
// and QPACK streams are read (SETTINGS kept, the rest drained), and the one
// request it serves is the extended CONNECT with `:protocol = webtransport` on
// quic.webtransport.path. The JWT comes with the CONNECT (`Authorization:
// Bearer`, or `access_token` in the query since browsers cannot set headers)
// and is verified before the session is accepted: 200, or 401 with the reason.
// Then the session's bidirectional streams carry the SDK RPC exactly as QUIC
// streams do, and its HTTP datagrams (quarter stream id, then the payload) the
// call audio: the same SdkStreamSession.
import {randomBytes} from 'node:crypto'
import {events, type QUICConnection, type QUICStream} from '@matrixai/quic'
import type {Logger} from 'pino'
import {CCError, toCCError} from '../../src/errors.js'
import {bearerToken} from '../rpc/jwt.js'
import {SessionOpenTrace} from '../rpc/session-open.js'
import {SdkStreamSession, type QuicServices} from './connection.js'
import {decodeSettings, encodeH3Frame, encodeSettings, encodeVarint, H3_ERROR, H3_FRAME, H3_SETTING, H3_STREAM_TYPE, H3FrameReader, readVarint, WEBTRANSPORT_STREAM_SIGNAL} from './h3.js'
import {attachDatagrams, takeStreams, type DatagramChannel} from '../../src/quic/library.js'
import {decodeFieldSection, encodeFieldSection, type HeaderFields} from './qpack.js'

/** HEADERS and control frames larger than this are refused (a CONNECT with a JWT is a few KiB). */
const MAX_H3_FRAME_BYTES = 16 * 1024
/** What the gateway announces on its control stream. */
const SETTINGS: ReadonlyArray<readonly [number, number]> = [
  [H3_SETTING.qpackMaxTableCapacity, 0],
  [H3_SETTING.qpackBlockedStreams, 0],
  [H3_SETTING.enableConnectProtocol, 1],
  [H3_SETTING.h3Datagram, 1],
  [H3_SETTING.enableWebTransport, 1],
  [H3_SETTING.webTransportMaxSessions, 1],
]

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

const STATUS_OF: Partial<Record<string, number>> = {CC_ERR_RPC_UNAUTHENTICATED: 401, CC_ERR_DRAINING: 503, CC_ERR_RPC_BAD_FRAME: 400, CC_ERR_QUIC_LIMIT: 429}

export interface WebTransportServices extends QuicServices {
  /** quic.webtransport.path: where the CONNECT must go. */
  readonly path: string
}

/** Reads until `count` varints can be read from the start of what came; returns them and the bytes after them. */
const readHeader = async (reader: ReadableStreamDefaultReader<Uint8Array>, first: Buffer, count: number): Promise<{values: number[]; rest: Buffer} | undefined> => {
  let data = first
  for (;;) {
    const values: number[] = []
    let offset = 0
    for (let index = 0; index < count; index++) {
      const varint = readVarint(data, offset)
      if (!varint) break
      values.push(varint.value)
      offset = varint.next
    }
    if (values.length === count) return {values, rest: data.subarray(offset)}
    if (data.length > 16) return undefined
    const {value, done} = await reader.read()
    if (done) return undefined
    data = Buffer.concat([data, value])
  }
}

export class WebTransportConnection {
  readonly closed: Promise<void>
  private markClosed: () => void = () => {}
  private readonly log: Logger
  private readonly datagrams: DatagramChannel
  private readonly authTimer: NodeJS.Timeout
  private sdk: SdkStreamSession | undefined
  /** The CONNECT stream's id: the session id, and four times the quarter stream id of its datagrams. */
  private sessionId: number | undefined
  private peerSettings: Map<number, number> | undefined
  /** Set when the connection is over a limit: its CONNECT is answered 429 with this error, then it is closed. */
  private overLimit: CCError | undefined
  private isClosed = false
  droppedDatagrams = 0

  constructor(
    readonly connection: QUICConnection,
    readonly remoteHost: string,
    private readonly services: WebTransportServices,
    private readonly isDraining: () => boolean,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
    this.log = services.log.child({webtransport_connection: randomBytes(8).toString('hex'), remote: remoteHost})
    this.datagrams = attachDatagrams(connection, (datagram) => this.onDatagram(datagram))
    void this.openControlStream()
    takeStreams(connection, (stream) => void this.route(stream).catch((error: unknown) => this.log.debug({err: error}, 'WebTransport stream failed')))
    void connection.closedP.then(() => this.close('connection closed'))
    connection.addEventListener(events.EventQUICConnectionStopped.name, () => void this.close('connection stopped'), {once: true})
    this.authTimer = setTimeout(() => {
      if (this.overLimit) void this.shutdown(H3_ERROR.excessiveLoad, `${this.overLimit.code}: ${this.overLimit.message}`)
      else if (this.sdk === undefined) void this.shutdown(H3_ERROR.requestRejected, `CC_ERR_RPC_UNAUTHENTICATED: no WebTransport session within ${services.authTimeoutMs} ms (quic.limits.auth_timeout_ms)`)
    }, services.authTimeoutMs)
    this.authTimer.unref()
  }

  get tenant(): string | undefined {
    return this.sdk?.tenant
  }

  /**
   * Over a limit (max_connections_per_source): the CONNECT gets 429 with the reason, and the connection is closed
   * (H3_EXCESSIVE_LOAD) once that is out, or when no CONNECT came within auth_timeout_ms. Closing it straight after
   * the handshake, as over QUIC, makes Chromium drop its other sessions to the gateway too.
   */
  refuseOverLimit(error: CCError): void {
    this.overLimit = error
  }

  private async openControlStream(): Promise<void> {
    try {
      const control = this.connection.newStream('uni')
      // Never ended: closing a control stream is a connection error (RFC 9114 6.2.1).
      await control.writable.getWriter().write(Buffer.concat([encodeVarint(H3_STREAM_TYPE.control), encodeSettings(SETTINGS)]))
    } catch (error) {
      this.log.debug({err: error}, 'the HTTP/3 control stream could not be opened')
      void this.shutdown(H3_ERROR.internalError, 'the HTTP/3 control stream could not be opened')
    }
  }

  private onDatagram(datagram: Buffer): void {
    const quarter = readVarint(datagram, 0)
    if (!this.sdk || this.sessionId === undefined || !quarter || quarter.value * 4 !== this.sessionId) {
      this.droppedDatagrams++
      return
    }
    this.sdk.onDatagram(datagram.subarray(quarter.next))
  }

  private sendDatagram(packet: Buffer): boolean {
    if (this.sessionId === undefined) return false
    return this.datagrams.send(Buffer.concat([encodeVarint(this.sessionId / 4), packet]))
  }

  private async route(stream: QUICStream): Promise<void> {
    // The gateway's own control stream: nothing to read.
    if (stream.initiated === 'local') return
    const reader = stream.readable.getReader()
    const first = await reader.read()
    if (first.done) return
    if (stream.type === 'uni') {
      await this.readUni(reader, Buffer.from(first.value))
      return
    }
    const writer = stream.writable.getWriter()
    const header = await readHeader(reader, Buffer.from(first.value), 1)
    if (!header) return
    if (header.values[0] === WEBTRANSPORT_STREAM_SIGNAL) {
      const session = await readHeader(reader, header.rest, 1)
      if (!session || !this.sdk || session.values[0] !== this.sessionId) {
        // A stream of no session of this connection.
        await reader.cancel().catch(() => undefined)
        await writer.abort().catch(() => undefined)
        return
      }
      await this.sdk.onStream({reader, writer, initial: session.rest})
      return
    }
    await this.request(stream.streamId, reader, writer, Buffer.from(first.value))
  }

  /** A client unidirectional stream: its control stream (SETTINGS), its QPACK streams (drained), nothing else. */
  private async readUni(reader: ReadableStreamDefaultReader<Uint8Array>, first: Buffer): Promise<void> {
    const header = await readHeader(reader, first, 1)
    if (!header) return
    const type = header.values[0]
    if (type === H3_STREAM_TYPE.qpackEncoder || type === H3_STREAM_TYPE.qpackDecoder) {
      // With a dynamic table capacity of 0 there is nothing to act on: read and forget.
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
      return
    }
    if (type !== H3_STREAM_TYPE.control) {
      // Push, WebTransport unidirectional (the SDK RPC uses none) and unknown types.
      await reader.cancel().catch(() => undefined)
      return
    }
    const frames = new H3FrameReader(MAX_H3_FRAME_BYTES)
    const take = (chunk: Uint8Array): void => {
      for (const frame of frames.push(chunk)) {
        if (!this.peerSettings) {
          if (frame.type !== H3_FRAME.settings) throw new CCError('CC_ERR_RPC_BAD_FRAME', {detail: 'HTTP/3: the control stream must begin with SETTINGS'})
          this.peerSettings = decodeSettings(frame.payload)
        } else if (frame.type === H3_FRAME.goaway) {
          void this.close('the client sent GOAWAY')
        }
      }
    }
    try {
      take(header.rest)
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) take(chunk.value)
      void this.shutdown(H3_ERROR.closedCriticalStream, 'the client closed its HTTP/3 control stream')
    } catch (error) {
      void this.shutdown(H3_ERROR.missingSettings, toCCError(error).message)
    }
  }

  /** A request stream: the extended CONNECT of a WebTransport session, or a refusal. */
  private async request(streamId: number, reader: ReadableStreamDefaultReader<Uint8Array>, writer: WritableStreamDefaultWriter<Uint8Array>, first: Buffer): Promise<void> {
    const trace = new SessionOpenTrace(this.services.activity, 'webtransport')
    try {
      if (this.isDraining()) throw new CCError('CC_ERR_DRAINING')
      if (this.overLimit) throw this.overLimit
      const {token, fields} = await trace.timed('parse', async () => {
        const frames = new H3FrameReader(MAX_H3_FRAME_BYTES)
        let headers = frames.push(first).find((frame) => frame.type === H3_FRAME.headers)
        while (!headers) {
          const chunk = await reader.read()
          if (chunk.done) throw new HttpRefusal(400, 'the request ended before its HEADERS')
          headers = frames.push(chunk.value).find((frame) => frame.type === H3_FRAME.headers)
        }
        const fields = decodeFieldSection(headers.payload)
        return {fields, token: this.connectToken(fields)}
      })
      const principal = await trace.timed('jwt', () => this.services.verifier.verify(token))
      trace.tenant = principal.tenant
      trace.begin()
      if (this.sdk) throw new HttpRefusal(409, 'one WebTransport session per connection')
      this.sessionId = streamId
      this.sdk = new SdkStreamSession({
        transport: 'webtransport',
        services: this.services,
        log: this.log,
        sendDatagram: (packet) => this.sendDatagram(packet),
        isDraining: this.isDraining,
        refuse: (code, reason) => void this.shutdown(code, reason),
      })
      this.sdk.authenticated(principal)
      clearTimeout(this.authTimer)
      await writer.write(encodeH3Frame(H3_FRAME.headers, encodeFieldSection([[':status', '200'], ['sec-webtransport-http3-draft', 'draft02']])))
      trace.succeeded()
      this.log.info({tenant: principal.tenant, fields: fields.length}, 'WebTransport session accepted')
    } catch (error) {
      const status = error instanceof HttpRefusal ? error.status : (STATUS_OF[toCCError(error).code] ?? 500)
      trace.failed(error, error instanceof HttpRefusal ? `HTTP_${error.status}` : undefined)
      await this.refuse(writer, status, error)
      await reader.cancel().catch(() => undefined)
      if (this.overLimit) setTimeout(() => void this.shutdown(H3_ERROR.excessiveLoad, `${this.overLimit?.code}: ${this.overLimit?.message}`), 100).unref()
      return
    }
    // The session lasts as long as its CONNECT stream: when the client ends it (or resets it), the session ends.
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read());
    } catch {
      // Reset: ended all the same.
    }
    await this.shutdown(H3_ERROR.noError, 'the WebTransport session ended')
  }

  /** The token of a CONNECT: `Authorization: Bearer …`, else the `access_token` query parameter (RFC 6750 2.3). */
  private connectToken(fields: HeaderFields): string | undefined {
    const field = (name: string): string | undefined => fields.find(([candidate]) => candidate === name)?.[1]
    if (field(':method') !== 'CONNECT') throw new HttpRefusal(405, `the WebTransport endpoint takes an extended CONNECT, not ${field(':method') ?? 'no method'}`)
    if (field(':protocol') !== 'webtransport') throw new HttpRefusal(400, 'the CONNECT must carry :protocol webtransport')
    const path = field(':path') ?? ''
    const url = new URL(path, 'https://gateway.invalid')
    if (url.pathname !== this.services.path) throw new HttpRefusal(404, `not found: the WebTransport endpoint is ${this.services.path}`)
    return bearerToken(field('authorization')) ?? url.searchParams.get('access_token') ?? undefined
  }

  private async refuse(writer: WritableStreamDefaultWriter<Uint8Array>, status: number, error: unknown): Promise<void> {
    const failure = error instanceof HttpRefusal ? {code: `HTTP_${status}`, message: error.message, hint: 'See docs/quic.md.'} : toCCError(error)
    const fields: Array<[string, string]> = [
      [':status', String(status)],
      ['content-type', 'application/json'],
    ]
    if (status === 401) fields.push(['www-authenticate', `Bearer error="invalid_token", error_description="${failure.message.replace(/["\\]/g, "'")}"`])
    const body = Buffer.from(JSON.stringify({error: {code: failure.code, message: failure.message, hint: failure.hint}}))
    this.log.info({status, reason: failure.message}, 'WebTransport CONNECT refused')
    try {
      await writer.write(Buffer.concat([encodeH3Frame(H3_FRAME.headers, encodeFieldSection(fields)), encodeH3Frame(H3_FRAME.data, body)]))
      await writer.close()
    } catch {
      // The client is gone: nobody to tell.
    }
  }

  /** Closes the connection with an HTTP/3 error code and reason. */
  async shutdown(code: number, reason: string): Promise<void> {
    if (!this.connection.closed) {
      await this.connection.stop({isApp: true, errorCode: code, reason: Buffer.from(reason.slice(0, 900), 'utf8'), force: true}).catch(() => undefined)
    }
    await this.close(reason)
  }

  /** Ends the session (calls hung up with cause 16) and the connection. */
  async close(why: string): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    clearTimeout(this.authTimer)
    this.log.info({why, droppedDatagrams: this.droppedDatagrams + (this.sdk?.droppedDatagrams ?? 0)}, 'WebTransport connection closed')
    await this.sdk?.close()
    if (!this.connection.closed) await this.connection.stop({isApp: true, errorCode: H3_ERROR.noError, force: true}).catch(() => undefined)
    this.markClosed()
  }
}
