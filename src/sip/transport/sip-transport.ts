// The SIP transport layer (RFC 3261 §18): UDP, TCP and TLS listeners, parsing of
// what arrives, RFC 3581 stamping of requests, response routing
// (§18.2.2), and one `packet` event per message sent or received for
// capture. A bad packet never throws out of here: it is answered when the
// parser says it can be (400 and friends, with a Warning naming the cause),
// otherwise dropped, and counted either way.
import {EventEmitter} from 'node:events'
import {isIP} from 'node:net'
import {SipParseError} from '../errors.js'
import type {SipFrameEvent} from '../framer.js'
import {generateTag} from '../ids.js'
import {createResponseTo, type SipMessage, type SipResponse} from '../message.js'
import {answerableRequest, DEFAULT_SIP_LIMITS, isSipKeepAlive, parseSipMessage, type SipLimits} from '../parser.js'
import {serializeSipMessage} from '../serializer.js'
import type {TcpConnection} from './tcp-connection.js'
import {TcpPool, type TlsTarget} from './tcp-pool.js'
import {resolveHost} from './target.js'
import {isStreamProtocol, preciseNow, SipTransportError, type BoundListener, type ConnectionVerdict, type InboundContext, type InboundMessageListener, type ListenSpec, type SentInfo, type SipConnectionDropReason, type SipPacketEvent, type SipTarget, type SipTlsClientProfile, type SipTlsServerOptions, type SipTransportLike, type SipTransportProtocol, type SocketAddress} from './types.js'
import {parseVia} from '../via.js'
import type {ReceiveBufferOutcome} from '../../net/receive-buffer.js'
import {UdpListener} from './udp-listener.js'
import {responseDestination, stampTopVia} from './via-routing.js'

export interface SipTransportOptions {
  readonly listen: readonly ListenSpec[]
  /** Message size limits for both transports; a datagram is one message. */
  readonly limits?: Partial<SipLimits>
  /** An idle TCP connection is closed after this long; default 5 minutes. */
  readonly tcpIdleTimeoutMs?: number
  /** Default 5 s; Timer B/F bound the transaction anyway. */
  readonly tcpConnectTimeoutMs?: number
  /** Accepted plus opened; default 10 000. */
  readonly maxTcpConnections?: number
  /** Accepted from one address that the connection screen does not exempt; default 128. */
  readonly maxTcpConnectionsPerSource?: number
  /** Our unsent bytes a TCP peer may leave unread before the connection is dropped; default 1 MiB. */
  readonly tcpSendBufferBytes?: number
  /** A message begun on a TCP connection must be complete within this long (0: no limit); default 10 s. */
  readonly tcpMessageTimeoutMs?: number
  /** The Server header of the answers the transport itself sends (to unparsable requests); '' or absent: none. */
  readonly server?: string
  /** Certificate, key and client verification of the TLS listeners; required when one is configured. */
  readonly tls?: SipTlsServerOptions
  /** How to connect to each TLS server (per trunk); default: verify against Node's roots, present no certificate. */
  readonly tlsClient?: (target: TlsTarget) => SipTlsClientProfile
}

export interface SipTransportCounters {
  messagesReceived: number
  messagesSent: number
  /** Unparsable requests answered with the status the parser chose (400, 413, 416, 505, 513). */
  badRequestsAnswered: number
  /** Unparsable messages nothing could be sent back for: dropped. */
  badMessagesDropped: number
  /** TCP streams closed because they could not be framed. */
  framingErrors: number
  keepAlivesReceived: number
  sendFailures: number
  /** Exceptions thrown by `message` listeners, caught here. */
  handlerErrors: number
  /** Stream connections, TLS included. */
  tcpConnectionsAccepted: number
  tcpConnectionsOpened: number
  /** The TLS part of the two above. */
  tlsConnectionsAccepted: number
  tlsConnectionsOpened: number
  /** Connections that reached us over TLS and were reused for our requests to the peer (RFC 5923 alias). */
  tlsAliases: number
}

export interface SipTransportWarning {
  readonly kind: 'bad-message' | 'framing-error' | 'handler-error' | 'send-failure'
  readonly reason: string
  readonly transport: SipTransportProtocol
  readonly remote?: SocketAddress | undefined
}

export interface SipTransportEvents {
  message: [message: SipMessage, context: InboundContext]
  packet: [event: SipPacketEvent]
  warning: [warning: SipTransportWarning]
  /** A stream connection refused as it was accepted, or closed by a limit. */
  connectionDropped: [transport: SipTransportProtocol, reason: SipConnectionDropReason, remote: SocketAddress, detail: string | undefined]
}

const isWildcard = (address: string): boolean => address === '0.0.0.0' || address === '::'

export class SipTransport extends EventEmitter<SipTransportEvents> implements SipTransportLike {
  private readonly udp: UdpListener[] = []
  private readonly tcp: TcpPool
  private readonly limits: SipLimits
  private readonly counts: SipTransportCounters = {
    messagesReceived: 0, messagesSent: 0, badRequestsAnswered: 0, badMessagesDropped: 0, framingErrors: 0,
    keepAlivesReceived: 0, sendFailures: 0, handlerErrors: 0, tcpConnectionsAccepted: 0, tcpConnectionsOpened: 0,
    tlsConnectionsAccepted: 0, tlsConnectionsOpened: 0, tlsAliases: 0,
  }
  private bound: BoundListener[] = []
  /** Whether an unparsable request from this source may be answered (400 and friends); false drops it unanswered. */
  screenUnparsable: ((context: InboundContext) => boolean) | undefined
  /**
   * Called for each UDP datagram before it is parsed: false drops it there, unparsed, uncounted and
   * uncaptured (the abuse guard drops a banned source's requests so, at the cost of a Map lookup).
   */
  screenDatagram: ((bytes: Buffer, remote: SocketAddress) => boolean) | undefined

  private constructor(private readonly options: SipTransportOptions) {
    super()
    this.limits = {...DEFAULT_SIP_LIMITS, ...options.limits}
    this.tcp = new TcpPool(
      {
        idleTimeoutMs: options.tcpIdleTimeoutMs ?? 300_000,
        connectTimeoutMs: options.tcpConnectTimeoutMs ?? 5_000,
        maxConnections: options.maxTcpConnections ?? 10_000,
        maxConnectionsPerSource: options.maxTcpConnectionsPerSource ?? 128,
        sendBufferBytes: options.tcpSendBufferBytes ?? 1024 * 1024,
        messageTimeoutMs: options.tcpMessageTimeoutMs ?? 10_000,
        limits: this.limits,
        tls: options.tls,
        tlsClient: options.tlsClient,
      },
      {
        dropped: (protocol, reason, remote, detail) => this.emit('connectionDropped', protocol, reason, remote, detail),
        frame: (connection, event) => this.onFrame(connection, event),
        opened: (connection) => {
          const tls = connection.protocol === 'tls'
          if (connection.role === 'server') {
            this.counts.tcpConnectionsAccepted++
            if (tls) this.counts.tlsConnectionsAccepted++
          } else {
            this.counts.tcpConnectionsOpened++
            if (tls) this.counts.tlsConnectionsOpened++
          }
        },
      },
    )
  }

  /** Binds every listener; rejects (closing what was bound) when one fails, e.g. EADDRINUSE. */
  static async listen(options: SipTransportOptions): Promise<SipTransport> {
    if (options.listen.length === 0) throw new RangeError('SipTransport needs at least one listener')
    const transport = new SipTransport(options)
    try {
      for (const spec of options.listen) {
        if (spec.transport === 'udp') {
          const listener = new UdpListener(spec, (bytes, remote, from) => transport.onDatagram(bytes, remote, from))
          transport.udp.push(listener)
          transport.bound.push(await listener.bind())
        } else {
          transport.bound.push(await transport.tcp.listen(spec))
        }
      }
    } catch (error) {
      await transport.close()
      throw error
    }
    return transport
  }

  /** The bound addresses, in the order given (port 0 replaced by the real port). */
  get addresses(): readonly BoundListener[] {
    return this.bound
  }

  get counters(): Readonly<SipTransportCounters> {
    return {...this.counts}
  }

  /** The UDP listeners whose receive buffer the kernel gave less of than asked (its cap, net.core.rmem_max on Linux). */
  get shortReceiveBuffers(): ReadonlyArray<{readonly listener: BoundListener; readonly outcome: ReceiveBufferOutcome}> {
    return this.udp.flatMap((udp) => (udp.receiveBuffer?.short === true ? [{listener: udp.listener, outcome: udp.receiveBuffer}] : []))
  }

  get tcpConnectionCount(): number {
    return this.tcp.connectionCount
  }

  /** Screens the source of every accepted stream connection before anything is read from it. */
  set screenConnection(screen: ((address: string) => ConnectionVerdict) | undefined) {
    this.tcp.screen = screen
  }

  /** Closes the stream connections accepted from `address` (a source just banned); returns how many. */
  dropConnectionsFrom(address: string, reason: SipConnectionDropReason): number {
    return this.tcp.dropFrom(address, reason)
  }

  listenerFor(transport: SipTransportProtocol): BoundListener | undefined {
    return this.bound.find((listener) => listener.transport === transport)
  }

  onMessage(listener: InboundMessageListener): () => void {
    this.on('message', listener)
    return () => this.off('message', listener)
  }

  async send(message: SipMessage, target: SipTarget, bytes: Buffer = serializeSipMessage(message)): Promise<SentInfo> {
    return this.sendFrom(message, target, bytes, undefined)
  }

  async respond(response: SipResponse, context: InboundContext, bytes: Buffer = serializeSipMessage(response)): Promise<SentInfo> {
    if (isStreamProtocol(context.transport)) {
      const connection = this.tcp.get(context.connectionId)
      if (connection !== undefined) return this.writeTcp(connection, response, bytes)
    }
    // UDP, or the stream connection is gone: §18.2.2 says where.
    const destination = responseDestination(response, context.transport)
    if (destination === undefined) throw new SipTransportError('response has no usable Via to route it')
    const address = await resolveHost(destination.host)
    return this.sendFrom(response, {transport: context.transport, address, port: destination.port}, bytes, context.local)
  }

  private async sendFrom(message: SipMessage, target: SipTarget, bytes: Buffer, local: SocketAddress | undefined): Promise<SentInfo> {
    try {
      if (isStreamProtocol(target.transport)) {
        const preferred = this.tcp.get(target.connectionId)
        const connection = preferred?.protocol === target.transport ? preferred : await this.tcp.connectionTo(target, target.transport, (this.listenerFor(target.transport) ?? this.listenerFor('tcp'))?.address)
        return await this.writeTcp(connection, message, bytes)
      }
      const udp = this.udpSocketFor(target.address, local)
      await udp.send(bytes, target)
      const listener = udp.listener
      const info: SentInfo = {transport: 'udp', local: {address: isWildcard(listener.address) ? listener.advertise : listener.address, port: listener.port}, remote: {address: target.address, port: target.port}}
      this.sent(message, bytes, info)
      return info
    } catch (error) {
      this.counts.sendFailures++
      const reason = error instanceof Error ? error.message : String(error)
      this.warn({kind: 'send-failure', reason, transport: target.transport, remote: target})
      throw error instanceof SipTransportError ? error : new SipTransportError(reason, {transport: target.transport, address: target.address, port: target.port}, {cause: error})
    }
  }

  private async writeTcp(connection: TcpConnection, message: SipMessage, bytes: Buffer): Promise<SentInfo> {
    await connection.write(bytes)
    const info: SentInfo = {transport: connection.protocol, local: connection.local, remote: connection.remote, connectionId: connection.id}
    this.sent(message, bytes, info)
    return info
  }

  private udpSocketFor(address: string, local: SocketAddress | undefined): UdpListener {
    const family = isIP(address) === 6 ? 6 : 4
    const exact = local === undefined ? undefined : this.udp.find((udp) => udp.listener.address === local.address && udp.listener.port === local.port)
    const socket = exact ?? this.udp.find((udp) => udp.family === family)
    if (socket === undefined) throw new SipTransportError(`no UDP listener for IPv${family} to send to ${address}`, {transport: 'udp', address, port: 0})
    return socket
  }

  private sent(message: SipMessage, bytes: Buffer, info: SentInfo): void {
    this.counts.messagesSent++
    if (this.listenerCount('packet') > 0) this.emitPacket({direction: 'out', transport: info.transport, local: info.local, remote: info.remote, bytes, message, timestamp: preciseNow()})
  }

  private onDatagram(bytes: Buffer, remote: SocketAddress, udp: UdpListener): void {
    try {
      this.receiveDatagram(bytes, remote, udp)
    } catch (error) {
      // Whatever a datagram does, it must not take the socket (or the process) down.
      this.counts.handlerErrors++
      this.warn({kind: 'handler-error', reason: error instanceof Error ? error.message : String(error), transport: 'udp', remote})
    }
  }

  private receiveDatagram(bytes: Buffer, remote: SocketAddress, udp: UdpListener): void {
    const listener = udp.listener
    const context: InboundContext = {transport: 'udp', local: {address: isWildcard(listener.address) ? listener.advertise : listener.address, port: listener.port}, remote, receivedAt: preciseNow()}
    // CRLF keep-alives on UDP carry no message and need no answer.
    if (isSipKeepAlive(bytes)) {
      this.counts.keepAlivesReceived++
      return
    }
    if (this.screenDatagram?.(bytes, remote) === false) return
    let message: SipMessage
    try {
      message = parseSipMessage(bytes, this.limits)
    } catch (error) {
      this.rejectUnparsable(error, bytes, context)
      return
    }
    this.deliver(message, bytes, context)
  }

  private onFrame(connection: TcpConnection, event: SipFrameEvent): void {
    const tls = connection.protocol === 'tls'
    const context: InboundContext = {transport: connection.protocol, local: connection.local, remote: connection.remote, connectionId: connection.id, receivedAt: preciseNow(), ...(tls ? {peerVerified: connection.peerVerified} : {})}
    if (event.type === 'message') {
      if (tls && connection.role === 'server' && event.message.kind === 'request') this.honourAlias(connection, event.message)
      this.deliver(event.message, event.bytes, context)
    }
    else if (event.type === 'invalid') this.rejectUnparsable(event.error, event.bytes, context)
    else if (event.type === 'ping') this.counts.keepAlivesReceived++
    else if (event.type === 'fatal') {
      this.counts.framingErrors++
      this.warn({kind: 'framing-error', reason: event.error.reason, transport: connection.protocol, remote: connection.remote})
    }
  }

  /**
   * RFC 5923: a request whose top Via carries `alias` lets us send our own
   * requests to its sent-by over the connection it came on, instead of
   * opening another. Only over TLS, only when the peer's certificate was
   * verified (§5: the alias must not let an unauthenticated peer capture
   * another's traffic), and only for the address it connects from.
   */
  private honourAlias(connection: TcpConnection, request: SipMessage): void {
    if (!connection.peerVerified) return
    const line = request.headers.get('via')
    if (line === undefined || !/;\s*alias\b/i.test(line)) return
    let top
    try {
      top = parseVia(line)[0]
    } catch {
      return
    }
    if (top === undefined || !top.params.has('alias') || top.transport !== 'TLS' || top.host !== connection.remote.address) return
    const before = connection.aliases.length
    this.tcp.alias(connection, {address: connection.remote.address, port: top.port ?? 5061})
    if (connection.aliases.length > before) this.counts.tlsAliases++
  }

  private deliver(message: SipMessage, bytes: Buffer, context: InboundContext): void {
    this.counts.messagesReceived++
    this.received(bytes, message, context)
    if (message.kind === 'request') {
      if (!stampTopVia(message, context.remote)) return this.dropped('request with an unusable top Via', context)
    } else if (message.headers.values('via').length !== 1) {
      // RFC 3261 §18.1.2: a response for us carries exactly our one Via.
      return this.dropped('response with more than one Via', context)
    }
    try {
      this.emit('message', message, context)
    } catch (error) {
      this.counts.handlerErrors++
      this.warn({kind: 'handler-error', reason: error instanceof Error ? (error.stack ?? error.message) : String(error), transport: context.transport, remote: context.remote})
    }
  }

  private rejectUnparsable(error: unknown, bytes: Buffer, context: InboundContext): void {
    this.received(bytes, undefined, context)
    const parseError = error instanceof SipParseError ? error : undefined
    const request = parseError === undefined ? undefined : answerableRequest(parseError)
    const reason = parseError?.reason ?? String(error)
    if (request === undefined || request.method === 'ACK' || parseError?.status === undefined || !stampTopVia(request, context.remote)) {
      return this.dropped(reason, context)
    }
    if (this.screenUnparsable?.(context) === false) return this.dropped(`${reason} (source not admitted)`, context)
    this.counts.badRequestsAnswered++
    this.warn({kind: 'bad-message', reason: `answered ${parseError.status}: ${reason}`, transport: context.transport, remote: context.remote})
    const response = createResponseTo(request, parseError.status, {toTag: generateTag()})
    const listener = this.listenerFor(context.transport)
    // RFC 3261 §20.43: 399 is the miscellaneous warning; the text says what was wrong.
    if (this.options.server) response.headers.append('Server', this.options.server)
    response.headers.append('Warning', `399 ${listener?.advertise ?? context.local.address} "${reason.replace(/["\\\r\n]/g, ' ')}"`)
    this.respond(response, context).catch(() => {})
  }

  private dropped(reason: string, context: InboundContext): void {
    this.counts.badMessagesDropped++
    this.warn({kind: 'bad-message', reason: `dropped: ${reason}`, transport: context.transport, remote: context.remote})
  }

  private received(bytes: Buffer, message: SipMessage | undefined, context: InboundContext): void {
    if (this.listenerCount('packet') > 0) this.emitPacket({direction: 'in', transport: context.transport, local: context.local, remote: context.remote, bytes, message, timestamp: context.receivedAt})
  }

  private emitPacket(event: SipPacketEvent): void {
    try {
      this.emit('packet', event)
    } catch {
      // Capture must never fail a call (DESIGN §9).
    }
  }

  private warn(warning: SipTransportWarning): void {
    if (this.listenerCount('warning') === 0) return
    try {
      this.emit('warning', warning)
    } catch {
      // A failing log sink must not break signalling.
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.udp.map((udp) => udp.close()), this.tcp.close()])
    this.udp.length = 0
    this.bound = []
  }
}
