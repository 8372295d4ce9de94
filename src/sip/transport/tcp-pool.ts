// Stream listeners (TCP and TLS) and the connections of both directions
// (RFC 3261 §18). A message to a peer reuses a connection of the same
// transport already open to that address and port (accepted or opened by
// us), else opens one; concurrent sends to the same peer share one
// connection attempt. Idle connections are closed.
// Accepted connections are screened before anything is read from them, and
// for TLS before the handshake: the owner's verdict on the source, a cap on
// the connections one source may hold (trusted sources exempt) and a cap on
// all connections, TCP and TLS together. A TLS connection holds its slot
// from the moment it is accepted, so it must finish its handshake in time.
import {connect, createServer, isIP, type Server, type Socket} from 'node:net'
import {networkInterfaces} from 'node:os'
import {checkServerIdentity as checkIdentity, connect as connectTls, createSecureContext, TLSSocket, type ConnectionOptions, type SecureContext} from 'node:tls'
import type {SipFrameEvent} from '../framer.js'
import {plainAddress} from '../../net/cidr.js'
import {describeTlsError, TcpConnection, type ClientCertificateCheck, type TcpConnectionOptions} from './tcp-connection.js'
import {defaultAdvertise, SipTransportError, type BoundListener, type ConnectionVerdict, type ListenSpec, type SipConnectionDropReason, type SipStreamProtocol, type SipTlsClientProfile, type SipTlsServerOptions, type SocketAddress} from './types.js'

export interface TcpPoolOptions extends TcpConnectionOptions {
  /** Opening a connection, its TLS handshake included. */
  connectTimeoutMs: number
  /** Accepted plus opened, TCP and TLS together. */
  maxConnections: number
  /** Accepted from one address, unless the screen says the source is exempt. */
  maxConnectionsPerSource: number
  /** What TLS listeners present; without it a TLS listener cannot be bound. */
  tls?: SipTlsServerOptions | undefined
  /** How to connect to a TLS peer (whom to trust, what to present); default: verify against Node's roots, present nothing. */
  tlsClient?: ((target: TlsTarget) => SipTlsClientProfile) | undefined
}

/** A TLS server we are about to connect to. */
export interface TlsTarget extends SocketAddress {
  /** The host name of the URI it came from, when there was one. */
  readonly hostname?: string | undefined
}

export interface TcpPoolEvents {
  frame(connection: TcpConnection, event: SipFrameEvent): void
  opened(connection: TcpConnection): void
  /** A connection closed by a limit, or refused as it was accepted; `detail` says more (a TLS handshake's error). */
  dropped(protocol: SipStreamProtocol, reason: SipConnectionDropReason, remote: SocketAddress, detail: string | undefined): void
}

const peerKey = (protocol: SipStreamProtocol, address: SocketAddress): string => `${protocol}|${address.address}|${address.port}`

const DEFAULT_CLIENT_PROFILE: SipTlsClientProfile = {verifyServer: true, minVersion: 'TLSv1.2'}

export class TcpPool {
  private readonly servers: Array<{server: Server; listener: BoundListener}> = []
  private readonly connections = new Map<number, TcpConnection>()
  private readonly byPeer = new Map<string, TcpConnection>()
  private readonly connecting = new Map<string, Promise<TcpConnection>>()
  /** Accepted connections that count against the per-source cap, by plain address. */
  private readonly perSource = new Map<string, number>()
  private readonly counted = new WeakSet<TcpConnection>()
  private closed = false
  private secureContext: SecureContext | undefined
  /** Screens each accepted connection's source; absent admits every source. */
  screen: ((address: string) => ConnectionVerdict) | undefined

  constructor(private readonly options: TcpPoolOptions, private readonly events: TcpPoolEvents) {}

  get connectionCount(): number {
    return this.connections.size
  }

  get listeners(): readonly BoundListener[] {
    return this.servers.map(({listener}) => listener)
  }

  listen(spec: ListenSpec): Promise<BoundListener> {
    const protocol: SipStreamProtocol = spec.transport === 'tls' ? 'tls' : 'tcp'
    if (protocol === 'tls') {
      const tls = this.options.tls
      if (tls === undefined) return Promise.reject(new SipTransportError('a TLS listener needs a certificate and key (sip.tls.cert, sip.tls.key)'))
      // Built once, so a bad certificate or key fails here, at start-up, and not at the first handshake.
      this.secureContext ??= createSecureContext({cert: tls.cert, key: tls.key, ...(tls.ca === undefined ? {} : {ca: tls.ca}), minVersion: tls.minVersion})
    }
    const server = createServer((socket) => this.accept(socket, protocol))
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({host: spec.address, port: spec.port, ipv6Only: isIP(spec.address) === 6, exclusive: true}, () => {
        server.off('error', reject)
        server.on('error', () => {})
        const address = server.address()
        if (address === null || typeof address === 'string') {
          reject(new Error(`${protocol.toUpperCase()} listener has no address`))
          return
        }
        const listener: BoundListener = {transport: protocol, address: address.address, port: address.port, advertise: spec.advertise ?? defaultAdvertise(address.address, networkInterfaces())}
        this.servers.push({server, listener})
        resolve(listener)
      })
    })
  }

  private accept(socket: Socket, protocol: SipStreamProtocol): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    const source = plainAddress(socket.remoteAddress ?? '')
    const refuse = (reason: SipConnectionDropReason): void => {
      socket.destroy()
      this.events.dropped(protocol, reason, {address: source, port: socket.remotePort ?? 0}, undefined)
    }
    if (this.connections.size >= this.options.maxConnections) return refuse('connection_limit')
    const verdict = this.screen?.(source) ?? 'admit'
    if (verdict === 'unknown_source' || verdict === 'banned') return refuse(verdict)
    const held = this.perSource.get(source) ?? 0
    if (verdict === 'admit' && held >= this.options.maxConnectionsPerSource) return refuse('source_limit')
    let connection: TcpConnection
    if (protocol === 'tls') {
      const tls = this.options.tls as SipTlsServerOptions
      // Wrapped only now: a screened-out source never costs a handshake.
      const client = tls.verifyClient ? 'required' : tls.requestClientCert === true ? 'requested' : 'off'
      const secure = new TLSSocket(socket, {isServer: true, secureContext: this.secureContext, requestCert: client !== 'off', rejectUnauthorized: tls.verifyClient})
      connection = this.adopt(secure, 'server', 'tls', {timeoutMs: tls.handshakeTimeoutMs, client})
    } else {
      connection = this.adopt(socket, 'server', 'tcp')
    }
    if (verdict === 'admit') {
      this.perSource.set(source, held + 1)
      this.counted.add(connection)
    }
  }

  /** Closes every connection accepted from `address` (a source just banned). */
  dropFrom(address: string, reason: SipConnectionDropReason): number {
    const source = plainAddress(address)
    let dropped = 0
    for (const connection of [...this.connections.values()]) {
      if (connection.role !== 'server' || plainAddress(connection.remote.address) !== source) continue
      connection.drop(reason)
      dropped++
    }
    return dropped
  }

  private adopt(socket: Socket, role: 'server' | 'client', protocol: SipStreamProtocol, handshake?: {timeoutMs: number; client: ClientCertificateCheck}): TcpConnection {
    const connection = new TcpConnection(socket, role, this.options, {
      frame: (from, event) => this.events.frame(from, event),
      closed: (gone) => this.forget(gone),
      dropped: (from, reason, detail) => this.events.dropped(from.protocol, reason, from.remote, detail),
    }, protocol, handshake)
    this.connections.set(connection.id, connection)
    this.byPeer.set(peerKey(protocol, connection.remote), connection)
    this.events.opened(connection)
    return connection
  }

  /**
   * RFC 5923: the connection `connection` may also carry our requests to
   * `alias` (the sent-by of a Via with `alias`), as if we had opened it.
   */
  alias(connection: TcpConnection, alias: SocketAddress): void {
    if (!connection.isOpen) return
    const key = peerKey(connection.protocol, alias)
    const existing = this.byPeer.get(key)
    if (existing?.isOpen === true && existing !== connection) return
    this.byPeer.set(key, connection)
    connection.aliases.push(key)
  }

  private forget(connection: TcpConnection): void {
    this.connections.delete(connection.id)
    if (this.counted.has(connection)) {
      const source = plainAddress(connection.remote.address)
      const held = (this.perSource.get(source) ?? 1) - 1
      if (held > 0) this.perSource.set(source, held)
      else this.perSource.delete(source)
    }
    for (const key of [peerKey(connection.protocol, connection.remote), ...connection.aliases]) {
      if (this.byPeer.get(key) === connection) this.byPeer.delete(key)
    }
  }

  get(id: number | undefined): TcpConnection | undefined {
    if (id === undefined) return undefined
    const connection = this.connections.get(id)
    return connection?.isOpen === true ? connection : undefined
  }

  /** The open connection of `protocol` to `remote`, or a new one from the listener's address. */
  async connectionTo(remote: TlsTarget, protocol: SipStreamProtocol, localAddress: string | undefined): Promise<TcpConnection> {
    const key = peerKey(protocol, remote)
    const existing = this.byPeer.get(key)
    if (existing?.isOpen === true) return existing
    const pending = this.connecting.get(key)
    if (pending !== undefined) return pending
    const attempt = this.open(remote, protocol, localAddress).finally(() => this.connecting.delete(key))
    this.connecting.set(key, attempt)
    return attempt
  }

  private open(remote: TlsTarget, protocol: SipStreamProtocol, localAddress: string | undefined): Promise<TcpConnection> {
    const name = protocol.toUpperCase()
    const target = {transport: protocol, address: remote.address, port: remote.port}
    if (this.closed) return Promise.reject(new SipTransportError('SIP transport is closed', target))
    if (this.connections.size >= this.options.maxConnections) {
      return Promise.reject(new SipTransportError(`too many TCP connections (${this.connections.size})`, target))
    }
    const wildcard = localAddress === undefined || localAddress === '0.0.0.0' || localAddress === '::'
    // Bind to the listening address only when it is of the peer's family.
    const bindLocal = !wildcard && isIP(localAddress) === isIP(remote.address) ? {localAddress} : {}
    const profile = protocol === 'tls' ? (this.options.tlsClient?.(remote) ?? DEFAULT_CLIENT_PROFILE) : undefined
    return new Promise((resolve, reject) => {
      const socket = profile === undefined ? connect({host: remote.address, port: remote.port, ...bindLocal}) : connectTls({host: remote.address, port: remote.port, ...bindLocal, ...tlsClientOptions(remote, profile)})
      const fail = (error: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        const why = profile === undefined ? error.message : describeTlsError(error)
        const whose = profile?.label === undefined ? '' : ` (${profile.label})`
        reject(new SipTransportError(`${name} connect to ${remote.address}:${remote.port}${whose} failed: ${why}`, target, {cause: error}))
      }
      const timer = setTimeout(() => fail(new Error('timed out')), this.options.connectTimeoutMs)
      socket.once('error', fail)
      socket.once(profile === undefined ? 'connect' : 'secureConnect', () => {
        clearTimeout(timer)
        socket.off('error', fail)
        if (this.closed) {
          socket.destroy()
          reject(new SipTransportError('SIP transport is closed', target))
          return
        }
        resolve(this.adopt(socket, 'client', protocol))
      })
    })
  }

  async close(): Promise<void> {
    this.closed = true
    for (const connection of [...this.connections.values()]) connection.close()
    await Promise.all(this.servers.map(({server}) => new Promise<void>((resolve) => server.close(() => resolve()))))
    this.servers.length = 0
  }
}

/**
 * node:tls options for connecting to `remote` with `profile`. The server's
 * certificate must chain to the CA and name the host we meant (the URI's
 * host name, else the address), unless verification is switched off.
 */
export const tlsClientOptions = (remote: TlsTarget, profile: SipTlsClientProfile): ConnectionOptions => {
  const name = profile.serverName ?? remote.hostname ?? remote.address
  return {
    minVersion: profile.minVersion,
    rejectUnauthorized: profile.verifyServer,
    // SNI carries names only (RFC 6066 §3).
    ...(isIP(name) === 0 ? {servername: name} : {}),
    ...(profile.ca === undefined ? {} : {ca: profile.ca}),
    ...(profile.cert === undefined || profile.key === undefined ? {} : {cert: profile.cert, key: profile.key}),
    // The name checked is the one we meant, not the address connected to.
    checkServerIdentity: (_host, certificate) => (profile.verifyServer ? checkIdentity(name, certificate) : undefined),
  }
}
