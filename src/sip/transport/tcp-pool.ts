// TCP listeners and the connections of both directions (RFC 3261 §18).
// A message to a peer reuses a connection already open to that address and
// port (accepted or opened by us), else opens one; concurrent sends to the
// same peer share one connection attempt. Idle connections are closed.
import {connect, createServer, isIP, type Server, type Socket} from 'node:net'
import {networkInterfaces} from 'node:os'
import type {SipFrameEvent} from '../framer.js'
import type {SipLimits} from '../parser.js'
import {TcpConnection} from './tcp-connection.js'
import {defaultAdvertise, SipTransportError, type BoundListener, type ListenSpec, type SocketAddress} from './types.js'

export interface TcpPoolOptions {
  idleTimeoutMs: number
  connectTimeoutMs: number
  maxConnections: number
  limits: SipLimits
}

export interface TcpPoolEvents {
  frame(connection: TcpConnection, event: SipFrameEvent): void
  opened(connection: TcpConnection): void
}

const peerKey = (address: SocketAddress): string => `${address.address}|${address.port}`

export class TcpPool {
  private readonly servers: Array<{server: Server; listener: BoundListener}> = []
  private readonly connections = new Map<number, TcpConnection>()
  private readonly byPeer = new Map<string, TcpConnection>()
  private readonly connecting = new Map<string, Promise<TcpConnection>>()
  private closed = false

  constructor(private readonly options: TcpPoolOptions, private readonly events: TcpPoolEvents) {}

  get connectionCount(): number {
    return this.connections.size
  }

  get listeners(): readonly BoundListener[] {
    return this.servers.map(({listener}) => listener)
  }

  listen(spec: ListenSpec): Promise<BoundListener> {
    const server = createServer((socket) => this.accept(socket))
    server.maxConnections = this.options.maxConnections
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
    this.adopt(socket, 'server')
  }

  private adopt(socket: Socket, role: 'server' | 'client'): TcpConnection {
    const connection = new TcpConnection(socket, role, this.options, {
      frame: (from, event) => this.events.frame(from, event),
      closed: (gone) => this.forget(gone),
    })
    this.connections.set(connection.id, connection)
    this.byPeer.set(peerKey(connection.remote), connection)
    this.events.opened(connection)
    return connection
  }

  private forget(connection: TcpConnection): void {
    this.connections.delete(connection.id)
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
