// Everything ClutchCall takes from @matrixai/quic beyond its public API, in
// one place (the version is pinned in package.json for this reason):
//
// - QUIC DATAGRAM frames (RFC 9221). The library enables them in quiche
//   (config `enableDgram`) but its JavaScript layer neither reads nor sends
//   them, so `attachDatagrams` reaches the connection's native quiche object:
//   after each UDP packet the connection has processed, the datagrams quiche
//   queued are handed over; sending queues one and flushes the connection.
// - Streams that arrive while a connection is still starting (a client's
//   first streams can come in the packet that completes the handshake). The
//   library shuts such streams down, and for a peer's unidirectional stream
//   (HTTP/3 clients open their control stream at once) that shutdown throws
//   out of its packet handler: the process would die. `holdEarlyStreams`
//   makes them wait in quiche until the connection runs, and `takeStreams`
//   picks them up then (and those whose stream event went out before anyone
//   listened).
// - The receive path of an established connection (`attachDatagrams`): the
//   library takes an async lock for every UDP packet (a timed cancellable
//   with an AbortController and an error object with its stack trace each
//   time), a third of the SIP thread's QUIC CPU under datagram audio. Once
//   the connection is running and securely established, its recv and send
//   are synchronous (no await inside), so a packet that finds the lock free
//   is processed in one go without it: the same quiche calls, stream
//   processing, send and error events as the library's recv.
// - The send path of an established connection (`sendEstablished`): the
//   library's send makes, for every UDP packet, two event objects (the send
//   event and its EventAll copy), an async handler, a promisified dgram send
//   behind a readiness decorator. Once the connection and its socket run, the
//   packets quiche makes go straight to the socket's dgram send, then the
//   library's own timer update; anything unusual (not running, a peer's
//   close, an error from quiche) takes the library's path.
// - The server's `acceptConnection` (called for every Initial packet of an
//   unknown connection), wrapped by `hookAccept` to refuse connections over
//   the limits before any state is made for them, and to time each handshake.
//
// The SDK client over QUIC (rpc-client.ts: `clutchcall smoke` and the test
// clients) uses the same functions, so both ends of the tests go through the
// code the daemon runs.
import {createHmac, randomBytes} from 'node:crypto'
import type {Socket as DgramSocket} from 'node:dgram'
import {startStop} from '@matrixai/async-init'
import Logger, {Handler, LogLevel} from '@matrixai/logger'
import {errors, events, QUICConnection, type QUICServer, type QUICServerCrypto, type QUICStream} from '@matrixai/quic'
import type {Logger as PinoLogger} from 'pino'
import {requestReceiveBuffer, type ReceiveBufferOutcome} from '../net/receive-buffer.js'

/** What the native quiche connection offers for datagrams (a subset of the library's native types). */
interface NativeDatagrams {
  dgramRecvVec(): Uint8Array | null
  dgramSend(data: Uint8Array): void | null
  dgramMaxWritableLen(): number | null
}

interface NativeConnection extends NativeDatagrams {
  recv(data: Uint8Array, recvInfo: {to: {host: string; port: number}; from: {host: string; port: number}}): number
  send(data: Uint8Array): [number, {to: {host: string; port: number}}] | null
  isReadable(): boolean
  localError(): {isApp: boolean; errorCode: number; reason: Uint8Array} | null
  peerError(): unknown
}

interface SocketInternals {
  socket: DgramSocket
  [startStop.running]: boolean
  [startStop.status]: string | null
}

interface ConnectionInternals {
  conn: NativeConnection
  recv(data: Uint8Array, remoteInfo: {host: string; port: number}): Promise<void>
  send(): Promise<void>
  processStreams(): void
  recvLock: {isLocked(): boolean}
  secureEstablished: boolean
  socket: SocketInternals
  config: {maxSendUdpPayloadSize: number}
  setConnTimeoutTimer(): void
  _remoteHost: string
  _remotePort: number
  readonly localHost: string
  readonly localPort: number
  [startStop.running]: boolean
  [startStop.status]: string | null
}

/**
 * The library's recv (QUICConnection.recv of the pinned version) for a running, securely established
 * connection whose receive lock is free: nothing in it awaits, so it needs no lock. Undefined when the
 * connection is in any other state: the caller takes the library's path. 'received': the caller then
 * drains the datagrams, processes the streams and sends (finishReceive), as the library's recv goes on.
 */
const recvEstablished = (internals: ConnectionInternals, connection: QUICConnection, data: Uint8Array, remoteInfo: {host: string; port: number}): 'received' | 'failed' | undefined => {
  if (!internals.secureEstablished || internals[startStop.running] !== true || internals[startStop.status] !== null || internals.recvLock.isLocked()) return undefined
  try {
    internals.conn.recv(data, {to: {host: internals.localHost, port: internals.localPort}, from: {host: remoteInfo.host, port: remoteInfo.port}})
  } catch (error) {
    const localError = internals.conn.localError()
    if (localError === null) {
      const internal = new errors.ErrorQUICConnectionInternal('Failed connection recv due with unknown error', {cause: error})
      connection.dispatchEvent(new events.EventQUICConnectionError({detail: internal}))
      throw internal
    }
    // quiche closed the connection with a local error and drains it: the library's events, then nothing more.
    const tls = error instanceof Error && error.message === 'TlsFail'
    const local = tls
      ? new errors.ErrorQUICConnectionLocalTLS('Failed connection due to native TLS verification', {cause: error, data: localError})
      : new errors.ErrorQUICConnectionLocal('Failed connection due to local error', {cause: error, data: localError})
    connection.dispatchEvent(new events.EventQUICConnectionError({detail: local}))
    return 'failed'
  }
  internals._remoteHost = remoteInfo.host
  internals._remotePort = remoteInfo.port
  return 'received'
}

/**
 * How often, at most, an established connection's writable streams are visited when no stream has data
 * to read. A call's datagrams come every 20 ms, so this must be several of them to save anything; it is
 * the longest a write that waited for the peer's credit, or a peer's STOP_SENDING, waits to be seen.
 */
const WRITABLE_SCAN_MS = 100
const lastStreamScan = new WeakMap<ConnectionInternals, number>()

/**
 * The library's processStreams visits every readable stream, then every writable one (each open stream
 * with send credit: on a connection with long-lived streams, all of them, for every packet). Most
 * packets of a call carry datagrams only: then the writable visit (which resumes writes that waited for
 * credit and sees a peer's STOP_SENDING) runs at most every WRITABLE_SCAN_MS. A packet with stream data
 * to read is processed at once, as the library does.
 */
const processStreamsSparingly = (internals: ConnectionInternals): boolean => {
  const now = performance.now()
  // isReadable() is one cheap call (readable() makes an iterator object); quiche counts queued datagrams in it too, so the caller drains them first.
  const readable = internals.conn.isReadable()
  if (!readable && now - (lastStreamScan.get(internals) ?? -Infinity) < WRITABLE_SCAN_MS) return false
  lastStreamScan.set(internals, now)
  internals.processStreams()
  return readable
}

/**
 * Asks the kernel for a larger receive buffer on a started server's UDP socket (capped by
 * net.core.rmem_max). Every client's packets arrive on this one socket; the default (~200 KB, a few
 * hundred packets) overflows when the thread is busy for a few tens of ms with a hundred calls' audio
 * coming in, and what overflows is lost audio. What the kernel gave (src/net/receive-buffer.ts), or
 * undefined when the server has no socket.
 */
export const enlargeReceiveBuffer = (server: QUICServer, bytes: number): ReceiveBufferOutcome | undefined => {
  const socket = (server as unknown as {socket: SocketInternals | undefined}).socket?.socket
  return socket === undefined ? undefined : requestReceiveBuffer(socket, bytes)
}

/** A UDP send that failed (no route, a closed socket): the packet is lost, as UDP's are; QUIC's recovery resends what needs it. */
const ignoreSendError = (): void => {}

/**
 * The library's send (QUICConnection.send of the pinned version) for a running, securely established
 * connection on a running socket: every packet quiche has goes to the socket, then the connection's timer
 * is set again. False when the library's send must run (any other state, a quiche error, a peer's close,
 * which it reports).
 */
const sendEstablished = (internals: ConnectionInternals): boolean => {
  const socket = internals.socket
  if (!internals.secureEstablished || internals[startStop.running] !== true || internals[startStop.status] !== null || socket[startStop.running] !== true || socket[startStop.status] !== null) return false
  for (;;) {
    // Each packet its own buffer: dgram holds it until the send completes (a pool slice, not an allocation).
    const buffer = Buffer.allocUnsafe(internals.config.maxSendUdpPayloadSize)
    let sent: ReturnType<NativeConnection['send']>
    try {
      sent = internals.conn.send(buffer)
    } catch {
      return false
    }
    if (sent === null) break
    socket.socket.send(buffer, 0, sent[0], sent[1].to.port, sent[1].to.host, ignoreSendError)
  }
  internals.setConnTimeoutTimer()
  return internals.conn.peerError() === null
}

/** Sends what the connection has to send, by the short path when it can. */
const flush = (internals: ConnectionInternals): void => {
  ackDue.delete(internals)
  if (!sendEstablished(internals)) void internals.send().catch(() => undefined)
}

/**
 * How long at most the answer to a packet with no stream data (in a call, a packet of audio datagrams)
 * waits for a packet of ours to ride on. quiche acknowledges every packet with the next one it sends, and
 * the library sends right after each receive, so each audio datagram in cost an ACK-only packet out. A
 * call sends audio every 20 ms, so the ACK of a packet received now leaves in our next datagram when it
 * waits up to 20 ms: an SDK client whose echo comes back 1–5 ms after its own datagram sends its next one
 * 15–19 ms after that echo. Within the 25 ms max_ack_delay quiche announces (RFC 9000 §13.2.1); a timer
 * that runs late on a busy thread goes past it, and the peer counts the excess as round-trip time
 * (RFC 9002 §5.3): nothing is lost or resent for it.
 */
const ACK_WAIT_MS = 20
/** A timer that would fire less than this before a deadline waits for it, rather than firing twice. */
const ACK_TIMER_SLACK_MS = 1
/**
 * The connections whose ACK waits, each with the time it is due. Every wait is ACK_WAIT_MS from its
 * packet and a waiting connection keeps its first deadline, so the map's insertion order is the
 * deadlines' order: the timer flushes from its start and stops at the first one not yet due.
 */
const ackDue = new Map<ConnectionInternals, number>()
let ackTimer: NodeJS.Timeout | undefined

const scheduleAckTimer = (delayMs: number): void => {
  ackTimer = setTimeout(flushDueAcks, delayMs)
  ackTimer.unref()
}

const flushDueAcks = (): void => {
  ackTimer = undefined
  const now = performance.now()
  // flush() removes the entry it sends for: a Map's iteration goes on past deleted entries.
  for (const [internals, due] of ackDue) {
    if (due > now + ACK_TIMER_SLACK_MS) {
      scheduleAckTimer(due - now)
      return
    }
    flush(internals)
  }
}

/** The connection's next send (an ACK at least) happens with the next packet of ours, or ACK_WAIT_MS after this one. */
const flushSoon = (internals: ConnectionInternals): void => {
  if (!ackDue.has(internals)) ackDue.set(internals, performance.now() + ACK_WAIT_MS)
  if (ackTimer === undefined) scheduleAckTimer(ACK_WAIT_MS)
}

export interface DatagramChannel {
  /** Queues one datagram and flushes it; false when it cannot be sent (too large, the connection closing, datagrams not negotiated). */
  send(data: Uint8Array): boolean
}

/**
 * Delivers every QUIC datagram the connection receives to `onDatagram`, and
 * returns the way to send them. Call once per connection, right after it is
 * established (or created: the first recv comes later).
 */
export const attachDatagrams = (connection: QUICConnection, onDatagram: (data: Buffer) => void): DatagramChannel => {
  const internals = connection as unknown as ConnectionInternals
  const recv = internals.recv.bind(connection)
  internals.recv = async (data, remoteInfo) => {
    const fast = recvEstablished(internals, connection, data, remoteInfo)
    if (fast === undefined) await recv(data, remoteInfo)
    for (let datagram = internals.conn.dgramRecvVec(); datagram !== null; datagram = internals.conn.dgramRecvVec()) {
      onDatagram(Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength))
    }
    if (fast === 'received') {
      // Stream data (an RPC) or the peer's close is handled at once; a packet of datagrams only waits for our next one.
      if (processStreamsSparingly(internals) || internals.conn.peerError() !== null) flush(internals)
      else flushSoon(internals)
    }
  }
  return {
    send(data) {
      if (connection.closed) return false
      try {
        internals.conn.dgramSend(data)
      } catch {
        // Done (queue full), BufferTooShort (larger than the peer takes), InvalidState (not negotiated): dropped, as UDP would.
        return false
      }
      flush(internals)
      return true
    },
  }
}

interface StreamInternals {
  streamMap: Map<number, QUICStream>
  processStreams(): void
  send(): Promise<void>
  [startStop.running]: boolean
  [startStop.status]: string | null
}

let holding = false

/**
 * Streams a peer opens while the connection is starting are left in quiche (not shut down) until it runs;
 * while it is stopping, the library's shutdown of a peer's new unidirectional stream no longer throws out of
 * the packet handler. Applies to every connection of the process, server and client; idempotent.
 */
export const holdEarlyStreams = (): void => {
  if (holding) return
  holding = true
  const prototype = QUICConnection.prototype as unknown as StreamInternals
  const processStreams = prototype.processStreams
  prototype.processStreams = function (this: StreamInternals) {
    const stopping = this[startStop.status] === 'stopping'
    if (this[startStop.running] === false && !stopping) return
    try {
      processStreams.call(this)
    } catch (error) {
      // While stopping, the library shuts new streams down, which throws for a peer's unidirectional one: the connection is going anyway.
      if (!stopping) throw error
    }
  }
}

/**
 * Hands every stream of a running connection to `onStream` once: those it opens from now on, those already
 * created before this was called, and those held while it was starting.
 */
export const takeStreams = (connection: QUICConnection, onStream: (stream: QUICStream) => void): void => {
  const internals = connection as unknown as StreamInternals
  const seen = new WeakSet<QUICStream>()
  const take = (stream: QUICStream): void => {
    if (seen.has(stream)) return
    seen.add(stream)
    onStream(stream)
  }
  connection.addEventListener(events.EventQUICConnectionStream.name, (event: Event) => take((event as unknown as events.EventQUICConnectionStream).detail))
  for (const stream of internals.streamMap.values()) take(stream)
  if (connection.closed) return
  internals.processStreams()
  void internals.send().catch(() => undefined)
}

/** What `hookAccept` reports and asks. */
export interface AcceptHooks {
  /**
   * Asked for a validated Initial (one that carries a Retry token) before a
   * connection is made for it; false drops the packet (no state, no answer).
   */
  admit(remoteHost: string): boolean
  /** An admitted Initial: its handshake begins. Each ends in one `established`, or one `failed` then one `released`. */
  began(remoteHost: string): void
  established(connection: QUICConnection, remoteHost: string, seconds: number): void
  /** The handshake failed (at the handshake timeout, or when the library gave it up); `seconds` is how long it ran. */
  failed(remoteHost: string, seconds: number, error: unknown): void
  /** The failed handshake's connection is gone (after QUIC's closing period): what it held is free. */
  released(remoteHost: string): void
}

type AcceptConnection = (remoteInfo: {host: string; port: number}, header: {token: Uint8Array}, dcid: unknown, data: Uint8Array) => Promise<QUICConnection | undefined>

/**
 * Wraps the server's acceptConnection. Initials without a token get the
 * library's stateless Retry (which proves the source address) and are not
 * handshakes; an Initial with a token is admitted or dropped, then timed
 * from there to the established connection, or to its failure: a TLS error
 * such as a wrong ALPN, an invalid token, or `handshakeTimeoutMs` passing.
 * (The library gives a timed-out handshake up at the same moment, through
 * the server's minIdleTimeout, but reports it only after QUIC's closing
 * period, three probe timeouts later: the failure is observed at the timeout.)
 */
export const hookAccept = (server: QUICServer, hooks: AcceptHooks, handshakeTimeoutMs: number): void => {
  const target = server as unknown as {acceptConnection: AcceptConnection}
  const accept = target.acceptConnection.bind(server)
  target.acceptConnection = async (remoteInfo, header, dcid, data) => {
    if (header.token.byteLength === 0) return accept(remoteInfo, header, dcid, data)
    const host = remoteInfo.host
    if (!hooks.admit(host)) return undefined
    const start = performance.now()
    const seconds = () => (performance.now() - start) / 1000
    hooks.began(host)
    let failed = false
    const fail = (error: unknown): void => {
      if (failed) return
      failed = true
      hooks.failed(host, seconds(), error)
    }
    const timer = setTimeout(() => fail(new Error(`handshake not complete within ${handshakeTimeoutMs} ms`)), handshakeTimeoutMs)
    try {
      const connection = await accept(remoteInfo, header, dcid, data)
      // A token that does not validate (forged, or from another address) makes no connection.
      if (connection === undefined) fail(new Error('invalid Retry token'))
      // Completed just after the timeout had counted it failed: it stays failed, and is closed.
      else if (failed) void connection.stop({isApp: false, errorCode: 0, force: true}).catch(() => undefined)
      else hooks.established(connection, host, seconds())
      if (failed) hooks.released(host)
      return connection
    } catch (error) {
      fail(error)
      hooks.released(host)
      throw error
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The server's retry-token and connection-id keys: HMAC-SHA256 with a key made at each start. */
export const serverCrypto = (): QUICServerCrypto => {
  const key = randomBytes(32)
  const hmac = (secret: ArrayBuffer, data: ArrayBuffer): Buffer => createHmac('sha256', Buffer.from(secret)).update(Buffer.from(data)).digest()
  /** A copy in its own ArrayBuffer (a Buffer's may be a shared pool). */
  const arrayBuffer = (bytes: Buffer): ArrayBuffer => {
    const copy = new ArrayBuffer(bytes.length)
    new Uint8Array(copy).set(bytes)
    return copy
  }
  return {
    key: arrayBuffer(key),
    ops: {
      sign: async (secret, data) => arrayBuffer(hmac(secret, data)),
      verify: async (secret, data, signature) => {
        const expected = hmac(secret, data)
        const given = Buffer.from(signature)
        return given.length === expected.length && expected.equals(given)
      },
    },
  }
}

class PinoHandler extends Handler {
  constructor(private readonly log: PinoLogger) {
    super()
  }

  emit(output: string): void {
    this.log.debug({component: 'quic'}, output)
  }
}

/**
 * The library logs every connection it closes (at ERROR for the ungraceful ones a hostile peer can cause
 * at will): its warnings and errors go to the daemon log at debug level, so a peer cannot flood the log.
 */
export const libraryLogger = (log: PinoLogger): Logger => new Logger('quic', LogLevel.WARN, [new PinoHandler(log)])
