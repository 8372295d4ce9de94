// TCP listeners and the connections of both directions (RFC 3261 §18).
// A message to a peer reuses a connection already open to that address and
// port (accepted or opened by us), else opens one; concurrent sends to the
// same peer share one connection attempt. Idle connections are closed.
// Accepted connections are screened before anything is read from them:
// the owner's verdict on the source, a cap on the connections one source
// may hold (trusted sources exempt) and a cap on all connections.
import {connect, createServer, isIP, type Server, type Socket} from 'node:net'
import {networkInterfaces} from 'node:os'
import type {SipFrameEvent} from '../framer.js'
import type {SipLimits} from '../parser.js'
import {plainAddress} from '../../net/cidr.js'
import {TcpConnection, type TcpConnectionOptions} from './tcp-connection.js'
import {defaultAdvertise, SipTransportError, type BoundListener, type ConnectionVerdict, type ListenSpec, type SipConnectionDropReason, type SocketAddress} from './types.js'

export interface TcpPoolOptions extends TcpConnectionOptions {
  connectTimeoutMs: number
  /** Accepted plus opened. */
  maxConnections: number
  /** Accepted from one address, unless the screen says the source is exempt. */
  maxConnectionsPerSource: number
}

export interface TcpPoolEvents {
  frame(connection: TcpConnection, event: SipFrameEvent): void
  opened(connection: TcpConnection): void
  /** A connection closed by a limit, or refused as it was accepted. */
  dropped(reason: SipConnectionDropReason, remote: SocketAddress): void
}

const peerKey = (address: SocketAddress): string => `${address.address}|${address.port}`

export class TcpPool {
  private readonly servers: Array<{server: Server; listener: BoundListener}> = []
  private readonly connections = new Map<number, TcpConnection>()
  private readonly byPeer = new Map<string, TcpConnection>()
  private readonly connecting = new Map<string, Promise<TcpConnection>>()
  /** Accepted connections that count against the per-source cap, by plain address. */
  private readonly perSource = new Map<string, number>()
  private readonly counted = new WeakSet<TcpConnection>()
  private closed = false
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
    const server = createServer((socket) => this.accept(socket))
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen({host: spec.address, port: spec.port, ipv6Only: isIP(spec.address) === 6, exclusive: true}, () => {
        server.off('error', reject)
        server.on('error', () => {})
        const address = server.address()
        if (address === null || typeof address === 'string') {
          reject(new Error('TCP listener has no address'))
          return
        }
        const listener: BoundListener = {transport: 'tcp', address: address.address, port: address.port, advertise: spec.advertise ?? defaultAdvertise(address.address, networkInterfaces())}
        this.servers.push({server, listener})
        resolve(listener)
      })
    })
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    const source = plainAddress(socket.remoteAddress ?? '')
    const refuse = (reason: SipConnectionDropReason): void => {
      socket.destroy()
      this.events.dropped(reason, {address: source, port: socket.remotePort ?? 0})
    }
    if (this.connections.size >= this.options.maxConnections) return refuse('connection_limit')
    const verdict = this.screen?.(source) ?? 'admit'
    if (verdict === 'unknown_source' || verdict === 'banned') return refuse(verdict)
    const held = this.perSource.get(source) ?? 0
    if (verdict === 'admit' && held >= this.options.maxConnectionsPerSource) return refuse('source_limit')
    const connection = this.adopt(socket, 'server')
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

  private adopt(socket: Socket, role: 'server' | 'client'): TcpConnection {
    const connection = new TcpConnection(socket, role, this.options, {
      frame: (from, event) => this.events.frame(from, event),
      closed: (gone) => this.forget(gone),
      dropped: (from, reason) => this.events.dropped(reason, from.remote),
    })
    this.connections.set(connection.id, connection)
    this.byPeer.set(peerKey(connection.remote), connection)
    this.events.opened(connection)
    return connection
  }

  private forget(connection: TcpConnection): void {
    this.connections.delete(connection.id)
    if (this.counted.has(connection)) {
      const source = plainAddress(connection.remote.address)
      const held = (this.perSource.get(source) ?? 1) - 1
      if (held > 0) this.perSource.set(source, held)
      else this.perSource.delete(source)
    }
    const key = peerKey(connection.remote)
    if (this.byPeer.get(key) === connection) this.byPeer.delete(key)
  }

  get(id: number | undefined): TcpConnection | undefined {
    if (id === undefined) return undefined
    const connection = this.connections.get(id)
    return connection?.isOpen === true ? connection : undefined
  }

  /** The open connection to `remote`, or a new one from the listener's address. */
  async connectionTo(remote: SocketAddress, localAddress: string | undefined): Promise<TcpConnection> {
    const key = peerKey(remote)
    const existing = this.byPeer.get(key)
    if (existing?.isOpen === true) return existing
    const pending = this.connecting.get(key)
    if (pending !== undefined) return pending
    const attempt = this.open(remote, localAddress).finally(() => this.connecting.delete(key))
    this.connecting.set(key, attempt)
    return attempt
  }

  private open(remote: SocketAddress, localAddress: string | undefined): Promise<TcpConnection> {
    if (this.closed) return Promise.reject(new SipTransportError('SIP transport is closed', {transport: 'tcp', ...remote}))
    if (this.connections.size >= this.options.maxConnections) {
      return Promise.reject(new SipTransportError(`too many TCP connections (${this.connections.size})`, {transport: 'tcp', ...remote}))
    }
    const wildcard = localAddress === undefined || localAddress === '0.0.0.0' || localAddress === '::'
    // Bind to the listening address only when it is of the peer's family.
    const bindLocal = !wildcard && isIP(localAddress) === isIP(remote.address) ? {localAddress} : {}
    return new Promise((resolve, reject) => {
      const socket = connect({host: remote.address, port: remote.port, ...bindLocal})
      const fail = (error: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        reject(new SipTransportError(`TCP connect to ${remote.address}:${remote.port} failed: ${error.message}`, {transport: 'tcp', ...remote}, {cause: error}))
      }
      const timer = setTimeout(() => fail(new Error('timed out')), this.options.connectTimeoutMs)
      socket.once('error', fail)
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.off('error', fail)
        if (this.closed) {
          socket.destroy()
          reject(new SipTransportError('SIP transport is closed', {transport: 'tcp', ...remote}))
          return
        }
        resolve(this.adopt(socket, 'client'))
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
