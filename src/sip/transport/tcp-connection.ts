// One TCP connection carrying SIP (RFC 3261 §18.3): framed by
// SipStreamFramer, answering RFC 5626 CRLF keep-alive pings, closed when
// idle or when the stream can no longer be framed.
import type {Socket} from 'node:net'
import {SIP_PONG, SipStreamFramer, type SipFrameEvent} from '../framer.js'
import type {SipLimits} from '../parser.js'
import {SipTransportError, type SocketAddress} from './types.js'

/** A peer that does not read: past this many unsent bytes the connection is dropped. */
const MAX_PENDING_WRITE_BYTES = 4 * 1024 * 1024

export interface TcpConnectionEvents {
  frame(connection: TcpConnection, event: SipFrameEvent): void
  closed(connection: TcpConnection): void
}

let nextConnectionId = 1

export class TcpConnection {
  readonly id = nextConnectionId++
  readonly local: SocketAddress
  readonly remote: SocketAddress
  private readonly framer: SipStreamFramer
  private open = true

  constructor(
    private readonly socket: Socket,
    readonly role: 'server' | 'client',
    options: {idleTimeoutMs: number; limits: SipLimits},
    private readonly events: TcpConnectionEvents,
  ) {
    this.local = {address: socket.localAddress ?? '', port: socket.localPort ?? 0}
    this.remote = {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0}
    this.framer = new SipStreamFramer({...options.limits, role})
    socket.setNoDelay(true)
    // Node resets this timer on every read and write.
    socket.setTimeout(options.idleTimeoutMs)
    socket.on('timeout', () => this.close())
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', () => this.close())
    socket.on('close', () => this.close())
  }

  get isOpen(): boolean {
    return this.open
  }

  private receive(chunk: Buffer): void {
    if (!this.open) return
    let events: SipFrameEvent[]
    try {
      events = this.framer.push(chunk)
    } catch {
      // Not a framing result but a fault: the stream cannot be trusted any more.
      this.close()
      return
    }
    for (const event of events) {
      if (event.type === 'ping') this.write(SIP_PONG).catch(() => {})
      else if (event.type !== 'pong') this.events.frame(this, event)
      if (event.type === 'fatal') {
        // The stream position is lost: nothing after this can be framed (RFC 3261 §18.3).
        this.close()
        return
      }
    }
  }

  write(bytes: Buffer): Promise<void> {
    if (!this.open) return Promise.reject(new SipTransportError(`TCP connection to ${this.remote.address}:${this.remote.port} is closed`, {transport: 'tcp', ...this.remote}))
    if (this.socket.writableLength > MAX_PENDING_WRITE_BYTES) {
      this.close()
      return Promise.reject(new SipTransportError(`TCP peer ${this.remote.address}:${this.remote.port} does not read; connection dropped`, {transport: 'tcp', ...this.remote}))
    }
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => {
        if (error) reject(new SipTransportError(`TCP write to ${this.remote.address}:${this.remote.port} failed: ${error.message}`, {transport: 'tcp', ...this.remote}, {cause: error}))
        else resolve()
      })
    })
  }

  close(): void {
    if (!this.open) return
    this.open = false
    this.socket.destroy()
    this.events.closed(this)
  }
}
