// One SDK client over QUIC (docs/quic.md), and what a WebTransport session
// shares with it (SdkStreamSession). Every RPC is a bidirectional stream the
// client opens: it writes one length-prefixed request frame
// (src/rpc/stream-frames.ts) and the gateway answers on the same stream, then
// ends it; an events.subscribe stream stays open and carries the events until
// the client cancels it. Over QUIC the first request must be session.open
// (method id 0) with the JWT, checked by the same verifier as a WebRTC offer
// (a WebTransport session is authenticated by its CONNECT instead); after it,
// requests go through the same RpcSession and methods as over WebRTC. Call
// audio travels in datagrams, one RTP packet each, into the same media shard
// pipe as a WebRTC client's (daemon/rpc/rtp-audio-leg.ts).
import {randomBytes} from 'node:crypto'
import {events, type QUICConnection} from '@matrixai/quic'
import type {Logger} from 'pino'
import {CCError, toCCError} from '../../src/errors.js'
import {decodeFrame, encodeFrame, FRAME_KIND, parseRpcParams, RPC_METHODS, RpcFrameError, type RpcFrame} from '../../src/rpc/protocol.js'
import {encodeStreamFrame, StreamFrameReader} from '../../src/rpc/stream-frames.js'
import {Q850_NORMAL_CLEARING} from '../../src/sip/q850.js'
import type {MediaEngine} from '../media/engine.js'
import type {RpcActivity, RpcTransport} from '../rpc/activity.js'
import type {JwtVerifier, RpcPrincipal} from '../rpc/jwt.js'
import {createSessionMethods, type SessionMethods} from '../rpc/methods.js'
import {oneCallAudio, type ClientCodec} from '../rpc/rtp-audio-leg.js'
import type {SdkCallServices} from '../rpc/sdk-call.js'
import {SessionOpenTrace} from '../rpc/session-open.js'
import {RpcSession} from '../rpc/session.js'
import {attachDatagrams, takeStreams, type DatagramChannel} from '../../src/quic/library.js'

/** QUIC application error codes of CONNECTION_CLOSE (docs/quic.md); the reason phrase says why. */
export const QUIC_CLOSE = {
  /** The client closed, or the session ended normally. */
  normal: 0,
  /** session.open failed (its error frame says why), or none succeeded within quic.limits.auth_timeout_ms. */
  unauthenticated: 1,
  /** More connections from this address than quic.limits.max_connections_per_source. */
  tooManyFromSource: 2,
  /** The gateway is stopping or draining (no new sessions). */
  stopping: 3,
  /** The client broke the stream rules (docs/quic.md, "Streams"). */
  protocol: 4,
} as const

/** The method ids whose stream stays open after a successful answer: it carries the events. */
const STREAMING_METHODS = new Set<number>([RPC_METHODS['events.subscribe'].id])
const SESSION_OPEN = RPC_METHODS['session.open'].id
const RTP_HEADER_BYTES = 12
/** The payload types a QUIC client may send: G.711 µ-law, 20 ms (160 bytes) a packet. */
const CLIENT_CODECS: ReadonlyMap<number, ClientCodec> = new Map([[0, 'PCMU']])

export interface QuicServices extends SdkCallServices {
  readonly media: MediaEngine
  readonly verifier: JwtVerifier
  readonly activity: RpcActivity
  /** The address the media pipe binds to (rtp.address). */
  readonly rtpAddress: string
  readonly authTimeoutMs: number
}

/** What one received RTP datagram holds, or undefined when it is not RTP version 2. */
export const parseRtp = (packet: Buffer): {payloadType: number; sequenceNumber: number; timestamp: number; payload: Buffer} | undefined => {
  if (packet.length < RTP_HEADER_BYTES || (packet[0] ?? 0) >> 6 !== 2) return undefined
  const first = packet[0] ?? 0
  let offset = RTP_HEADER_BYTES + 4 * (first & 0x0f)
  if (first & 0x10) {
    if (packet.length < offset + 4) return undefined
    offset += 4 + 4 * packet.readUInt16BE(offset + 2)
  }
  let end = packet.length
  if (first & 0x20) end -= packet[packet.length - 1] ?? 0
  if (offset > end) return undefined
  return {payloadType: (packet[1] ?? 0) & 0x7f, sequenceNumber: packet.readUInt16BE(2), timestamp: packet.readUInt32BE(4), payload: packet.subarray(offset, end)}
}

/** Where a stream's bytes come from and go to (a QUIC stream, or a WebTransport stream after its header). */
export interface StreamEnds {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>
  readonly writer: WritableStreamDefaultWriter<Uint8Array>
  /** Bytes of the stream already read (what followed a WebTransport stream header). */
  readonly initial?: Uint8Array
}

export interface SdkStreamSessionOptions {
  readonly transport: Extract<RpcTransport, 'quic' | 'webtransport'>
  readonly services: QuicServices
  readonly log: Logger
  /** Sends one RTP packet to the client as a datagram. */
  readonly sendDatagram: (packet: Buffer) => boolean
  readonly isDraining: () => boolean
  /** session.open was refused: close what carries the session with this application error and reason. */
  readonly refuse: (code: number, reason: string) => void
}

/**
 * The SDK session of one QUIC connection or one WebTransport session: its RPC
 * streams, its datagram audio, its calls. Authenticated by session.open (QUIC)
 * or by the caller once its CONNECT has verified (WebTransport).
 */
export class SdkStreamSession {
  readonly id = randomBytes(8).toString('hex')
  private readonly rtpListeners = new Set<(payloadType: number, sequenceNumber: number, timestamp: number, payload: Buffer) => void>()
  private principal: RpcPrincipal | undefined
  private session: RpcSession | undefined
  private methods: SessionMethods | undefined
  /** The session.open under way: requests that arrive meanwhile wait for it. */
  private opening: Promise<boolean> | undefined
  private isClosed = false
  /** Datagrams dropped: not RTP, a payload type other than PCMU, before a session, or with no call to carry them. */
  droppedDatagrams = 0

  constructor(private readonly options: SdkStreamSessionOptions) {}

  get tenant(): string | undefined {
    return this.principal?.tenant
  }

  /** One datagram's RTP packet from the client. */
  onDatagram(datagram: Buffer): void {
    const rtp = this.principal ? parseRtp(datagram) : undefined
    if (!rtp || !CLIENT_CODECS.has(rtp.payloadType) || this.rtpListeners.size === 0) {
      this.droppedDatagrams++
      return
    }
    for (const listener of this.rtpListeners) listener(rtp.payloadType, rtp.sequenceNumber, rtp.timestamp, rtp.payload)
  }

  /** One RPC: read the request frame, answer it on the same stream. */
  async onStream({reader, writer, initial}: StreamEnds): Promise<void> {
    let writable = true
    let markEnded: () => void = () => {}
    const ended = new Promise<void>((resolve) => (markEnded = resolve))
    const end = (): void => {
      if (!writable) return
      writable = false
      markEnded()
    }
    // A stream the client cancels (STOP_SENDING, RESET_STREAM) or the connection takes down ends here.
    writer.closed.then(end, end)
    let answered: number | undefined
    const send = (frame: Buffer): boolean => {
      if (!writable) return false
      answered ??= frame[1]
      writer.write(encodeStreamFrame(frame)).catch(end)
      return true
    }
    const finish = async (): Promise<void> => {
      if (!writable) return
      end()
      await writer.close().catch(() => undefined)
    }
    const frames = new StreamFrameReader()
    let handling: Promise<void> | undefined
    const take = (chunk: Uint8Array): void => {
      for (const request of frames.push(chunk)) {
        // The first frame is the request, whatever the packet boundaries; any frame after it is refused.
        if (handling !== undefined) throw new CCError('CC_ERR_RPC_BAD_FRAME', {detail: 'one request per stream: open a new stream for the next one'})
        handling = this.handle(request, {send, closed: ended}).then(async () => {
          const streaming = answered === FRAME_KIND.response && STREAMING_METHODS.has(methodIdOf(request))
          if (!streaming) await finish()
        })
      }
    }
    try {
      if (initial !== undefined && initial.length > 0) take(initial)
      for (;;) {
        const {value, done} = await reader.read()
        if (done) break
        take(value)
      }
      if (handling === undefined) {
        // The client ended its side without a whole frame.
        const detail = frames.buffered > 0 ? `the stream ended inside a frame (${frames.buffered} bytes of it)` : 'the stream ended before a request frame'
        throw new CCError('CC_ERR_RPC_BAD_FRAME', {detail})
      }
      await handling
    } catch (error) {
      const failure = toCCError(error)
      if (failure.code === 'CC_ERR_INTERNAL') this.options.log.error({err: error}, 'SDK stream failed')
      // Reading failed because the stream or connection went away: nobody to answer.
      if (!(error instanceof CCError)) {
        end()
        return
      }
      send(encodeFrame({kind: 'error', methodId: 0, requestId: 0, payload: {code: failure.code, message: failure.message, hint: failure.hint}}))
      await reader.cancel().catch(() => undefined)
      await (handling ?? Promise.resolve()).catch(() => undefined)
      await finish()
    }
  }

  /** Routes one request frame: session.open first (QUIC), then the RpcSession. */
  private async handle(frame: Buffer, channel: {send: (frame: Buffer) => boolean; closed: Promise<void>}): Promise<void> {
    if (!this.principal && this.opening) await this.opening
    if (this.session) {
      await this.session.receive(frame, channel)
      return
    }
    const opening = this.open(frame, channel.send)
    this.opening ??= opening
    await opening
  }

  /**
   * session.open: the request is parsed (a first request that is not session.open is refused here), the token
   * verified in full; a refusal is answered, then the connection closed with application error 1.
   */
  private async open(data: Buffer, send: (frame: Buffer) => boolean): Promise<boolean> {
    const trace = new SessionOpenTrace(this.options.services.activity, this.options.transport)
    let frame: RpcFrame | undefined
    try {
      if (this.options.isDraining()) throw new CCError('CC_ERR_DRAINING')
      const params = await trace.timed('parse', () => {
        try {
          frame = decodeFrame(data)
        } catch (error) {
          if (error instanceof RpcFrameError) frame = {kind: 'request', methodId: error.methodId, requestId: error.requestId, payload: {}}
          throw error
        }
        if (frame.kind !== 'request') throw new RpcFrameError(`a client sends request frames, not ${frame.kind}`, frame.methodId, frame.requestId)
        if (frame.methodId !== SESSION_OPEN) throw new CCError('CC_ERR_RPC_UNAUTHENTICATED', {reason: `the first request of a connection must be session.open (method_id 0) with the token, not method_id ${frame.methodId}`})
        return parseRpcParams('session.open', frame.payload)
      })
      const principal = await trace.timed('jwt', () => this.options.services.verifier.verify(params.token))
      trace.tenant = principal.tenant
      trace.begin()
      this.authenticated(principal)
      send(encodeFrame({kind: 'response', methodId: SESSION_OPEN, requestId: frame?.requestId ?? 0, payload: {tenant: principal.tenant, session: this.id}}))
      trace.succeeded()
      return true
    } catch (error) {
      trace.failed(error)
      const failure = toCCError(error)
      send(encodeFrame({kind: 'error', methodId: frame?.methodId ?? SESSION_OPEN, requestId: frame?.requestId ?? 0, payload: {code: failure.code, message: failure.message, hint: failure.hint}}))
      this.options.log.info({reason: failure.message}, 'SDK session refused')
      // Closed once the answer is on its way: the reason phrase repeats it for a client that reads only the close.
      const code = failure.code === 'CC_ERR_DRAINING' ? QUIC_CLOSE.stopping : QUIC_CLOSE.unauthenticated
      setTimeout(() => this.options.refuse(code, `${failure.code}: ${failure.message}`), 50).unref()
      return false
    }
  }

  /** The session's token verified: from now on requests go to the RpcSession. */
  authenticated(principal: RpcPrincipal): void {
    this.principal = principal
    const {services, transport} = this.options
    const log = this.options.log.child({tenant: principal.tenant})
    log.info('SDK session opened')
    const audio = oneCallAudio({
      media: services.media,
      address: services.rtpAddress,
      log,
      what: 'datagram audio',
      isClosing: () => this.isClosed,
      port: () => ({
        onRtp: (listener) => {
          this.rtpListeners.add(listener)
          return () => this.rtpListeners.delete(listener)
        },
        sendRtp: (packet) => {
          this.options.sendDatagram(packet)
        },
        codecs: CLIENT_CODECS,
        sendCodec: 'PCMU',
      }),
    })
    this.methods = createSessionMethods({...services, log}, principal.tenant, audio, transport)
    this.session = new RpcSession({
      principal,
      transport,
      verifier: services.verifier,
      activity: services.activity,
      handlers: this.methods.handlers,
      // Every request carries its own stream; nothing is sent outside one.
      send: () => false,
      log,
    })
  }

  /** Ends the session: its calls are hung up (cause 16), its subscriptions end. */
  async close(): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.rtpListeners.clear()
    await this.methods?.close(Q850_NORMAL_CLEARING).catch((error: unknown) => this.options.log.warn({err: error}, 'hanging up the session\'s calls failed'))
  }
}

/** One SDK client's QUIC connection (ALPN clutchcall-sdk/1): one session, opened by its first request. */
export class QuicClientConnection {
  readonly closed: Promise<void>
  private markClosed: () => void = () => {}
  private readonly log: Logger
  private readonly datagrams: DatagramChannel
  private readonly authTimer: NodeJS.Timeout
  private readonly sdk: SdkStreamSession
  private isClosed = false

  constructor(
    readonly connection: QUICConnection,
    readonly remoteHost: string,
    services: QuicServices,
    isDraining: () => boolean,
  ) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
    this.datagrams = attachDatagrams(connection, (datagram) => this.sdk.onDatagram(datagram))
    this.log = services.log.child({quic_connection: randomBytes(8).toString('hex'), remote: remoteHost})
    this.sdk = new SdkStreamSession({
      transport: 'quic',
      services,
      log: this.log,
      sendDatagram: (packet) => this.datagrams.send(packet),
      isDraining,
      refuse: (code, reason) => void this.shutdown(code, reason),
    })
    takeStreams(connection, (stream) => void this.sdk.onStream({reader: stream.readable.getReader(), writer: stream.writable.getWriter()}))
    void connection.closedP.then(() => this.close('connection closed'))
    connection.addEventListener(events.EventQUICConnectionStopped.name, () => void this.close('connection stopped'), {once: true})
    this.authTimer = setTimeout(() => {
      if (this.sdk.tenant === undefined) void this.shutdown(QUIC_CLOSE.unauthenticated, `CC_ERR_RPC_UNAUTHENTICATED: no session.open within ${services.authTimeoutMs} ms (quic.limits.auth_timeout_ms)`)
    }, services.authTimeoutMs)
    this.authTimer.unref()
  }

  get tenant(): string | undefined {
    return this.sdk.tenant
  }

  /** Closes the connection with an application error code and reason (the client sees both). */
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
    this.log.info({why, droppedDatagrams: this.sdk.droppedDatagrams}, 'QUIC connection closed')
    await this.sdk.close()
    if (!this.connection.closed) await this.connection.stop({isApp: true, errorCode: QUIC_CLOSE.normal, force: true}).catch(() => undefined)
    this.markClosed()
  }
}

/** The method id of a frame's header (0 when it is too short to have one). */
const methodIdOf = (frame: Buffer): number => (frame.length >= 6 ? frame.readUInt32BE(2) : 0)
