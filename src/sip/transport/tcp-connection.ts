// One TCP connection carrying SIP (RFC 3261 §18.3): framed by
// SipStreamFramer, answering RFC 5626 CRLF keep-alive pings, closed when
// idle, when the stream can no longer be framed, when a message is started
// and not finished in time (a slow sender holding our buffer), or when the
// peer leaves too much of what we send unread.
import type {Socket} from 'node:net'
import {SIP_PONG, SipStreamFramer, type SipFrameEvent} from '../framer.js'
import type {SipLimits} from '../parser.js'
import {SipTransportError, type SipConnectionDropReason, type SocketAddress} from './types.js'

export interface TcpConnectionOptions {
  idleTimeoutMs: number
  limits: SipLimits
  /** A peer that does not read: past this many unsent bytes the connection is dropped. */
  sendBufferBytes: number
  /** A message begun must be complete within this long; 0 never times out. */
  messageTimeoutMs: number
}

export interface TcpConnectionEvents {
  frame(connection: TcpConnection, event: SipFrameEvent): void
  closed(connection: TcpConnection): void
  /** Closed by one of the limits, just before `closed`. */
  dropped(connection: TcpConnection, reason: SipConnectionDropReason): void
}

let nextConnectionId = 1

export class TcpConnection {
  readonly id = nextConnectionId++
  readonly local: SocketAddress
  readonly remote: SocketAddress
  private readonly framer: SipStreamFramer
  private open = true
  private messageTimer: NodeJS.Timeout | undefined

  constructor(
    private readonly socket: Socket,
    readonly role: 'server' | 'client',
    private readonly options: TcpConnectionOptions,
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
    if (this.open) this.watchPartialMessage(events.length > 0)
  }

  /**
   * A partial message is held only for messageTimeoutMs from the moment it
   * began: trickling bytes does not extend it, finishing a message does (a
   * busy peer whose segments always end mid-message is making progress).
   */
  private watchPartialMessage(progressed: boolean): void {
    if (this.messageTimer !== undefined && (progressed || this.framer.buffered === 0)) {
      clearTimeout(this.messageTimer)
      this.messageTimer = undefined
    }
    if (this.framer.buffered === 0 || this.messageTimer !== undefined || this.options.messageTimeoutMs === 0) return
    this.messageTimer = setTimeout(() => this.drop('message_timeout'), this.options.messageTimeoutMs)
    this.messageTimer.unref()
  }

  /** Closes the connection because of a limit, saying which. */
  drop(reason: SipConnectionDropReason): void {
    if (!this.open) return
    this.events.dropped(this, reason)
    this.close()
  }

  write(bytes: Buffer): Promise<void> {
    if (!this.open) return Promise.reject(new SipTransportError(`TCP connection to ${this.remote.address}:${this.remote.port} is closed`, {transport: 'tcp', ...this.remote}))
    if (this.socket.writableLength > this.options.sendBufferBytes) {
      this.drop('send_buffer')
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
    if (this.messageTimer !== undefined) clearTimeout(this.messageTimer)
    this.socket.destroy()
    this.events.closed(this)
  }
}
