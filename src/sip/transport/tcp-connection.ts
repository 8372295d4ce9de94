// One stream connection carrying SIP (RFC 3261 §18.3), TCP or TLS (a
// TLSSocket is a Socket: the same framing and limits apply to what it
// decrypts): framed by SipStreamFramer, answering RFC 5626 CRLF keep-alive
// pings, closed when idle, when the stream can no longer be framed, when a
// message is started and not finished in time (a slow sender holding our
// buffer), or when the peer leaves too much of what we send unread. An
// accepted TLS connection must also finish its handshake in time: a peer
// that opens one and never speaks TLS cannot keep the slot.
import type {Socket} from 'node:net'
import type {TLSSocket} from 'node:tls'
import {SIP_PONG, SipStreamFramer, type SipFrameEvent} from '../framer.js'
import type {SipLimits} from '../parser.js'
import {SipTransportError, type SipConnectionDropReason, type SipStreamProtocol, type SocketAddress} from './types.js'

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
  /** Closed by one of the limits, just before `closed`; `detail` says more (a TLS handshake's error). */
  dropped(connection: TcpConnection, reason: SipConnectionDropReason, detail: string | undefined): void
}

/** What an accepted TLS connection's client certificate must be: none asked for, asked for and noted, or required. */
export type ClientCertificateCheck = 'off' | 'requested' | 'required'

let nextConnectionId = 1

export class TcpConnection {
  readonly id = nextConnectionId++
  readonly local: SocketAddress
  readonly remote: SocketAddress
  /** Other peer keys this connection is reused for (RFC 5923 aliases); kept by the pool. */
  readonly aliases: string[] = []
  private readonly framer: SipStreamFramer
  private open = true
  private messageTimer: NodeJS.Timeout | undefined
  private handshakeTimer: NodeJS.Timeout | undefined
  /** An accepted TLS connection before its handshake is done. */
  private handshaking = false
  private verified = false

  constructor(
    private readonly socket: Socket,
    readonly role: 'server' | 'client',
    private readonly options: TcpConnectionOptions,
    private readonly events: TcpConnectionEvents,
    readonly protocol: SipStreamProtocol = 'tcp',
    /** For an accepted TLS socket whose handshake is still to come: how long it may take, and what its client certificate must be. */
    handshake?: {readonly timeoutMs: number; readonly client: ClientCertificateCheck},
  ) {
    this.local = {address: socket.localAddress ?? '', port: socket.localPort ?? 0}
    this.remote = {address: socket.remoteAddress ?? '', port: socket.remotePort ?? 0}
    this.framer = new SipStreamFramer({...options.limits, role})
    socket.setNoDelay(true)
    // Node resets this timer on every read and write.
    socket.setTimeout(options.idleTimeoutMs)
    socket.on('timeout', () => this.close())
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', (error: Error) => (this.handshaking ? this.drop('handshake_failed', describeTlsError(error)) : this.close()))
    socket.on('close', () => this.close())
    if (handshake !== undefined) {
      this.handshaking = true
      this.handshakeTimer = setTimeout(() => this.drop('handshake_timeout', `no TLS handshake within ${handshake.timeoutMs} ms`), handshake.timeoutMs)
      this.handshakeTimer.unref()
      socket.once('secure', () => this.secured(handshake.client))
    }
  }

  /**
   * The server side of a handshake is done. OpenSSL let any client
   * certificate through (node:tls decides after the handshake, in the
   * `tls.Server` this socket did not come from), so the verdict is taken
   * here as node:tls takes it: a required certificate that did not verify
   * closes the connection; a requested one is only noted (peerVerified).
   */
  private secured(client: ClientCertificateCheck): void {
    this.handshaking = false
    clearTimeout(this.handshakeTimer)
    if (client === 'off') return
    const error = clientVerifyError(this.socket as TLSSocket)
    if (error === undefined) this.verified = true
    else if (client === 'required') this.drop('handshake_failed', `client certificate refused: ${error}`)
  }

  get isOpen(): boolean {
    return this.open
  }

  /** TLS: the peer presented a certificate that our CA verified. */
  get peerVerified(): boolean {
    if (this.protocol !== 'tls') return false
    return this.role === 'server' ? this.verified : (this.socket as TLSSocket).authorized
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
  drop(reason: SipConnectionDropReason, detail?: string): void {
    if (!this.open) return
    this.events.dropped(this, reason, detail)
    this.close()
  }

  private get name(): string {
    return `${this.protocol.toUpperCase()} connection to ${this.remote.address}:${this.remote.port}`
  }

  write(bytes: Buffer): Promise<void> {
    const target = {transport: this.protocol, ...this.remote}
    if (!this.open) return Promise.reject(new SipTransportError(`${this.name} is closed`, target))
    if (this.socket.writableLength > this.options.sendBufferBytes) {
      this.drop('send_buffer')
      return Promise.reject(new SipTransportError(`${this.protocol.toUpperCase()} peer ${this.remote.address}:${this.remote.port} does not read; connection dropped`, target))
    }
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (error) => {
        if (error) reject(new SipTransportError(`write on the ${this.name} failed: ${error.message}`, target, {cause: error}))
        else resolve()
      })
    })
  }

  close(): void {
    if (!this.open) return
    this.open = false
    if (this.messageTimer !== undefined) clearTimeout(this.messageTimer)
    if (this.handshakeTimer !== undefined) clearTimeout(this.handshakeTimer)
    this.socket.destroy()
    this.events.closed(this)
  }
}

/**
 * Why the client certificate of a server-side TLSSocket failed verification,
 * or undefined when it passed. This is the check node:tls's own server makes
 * (`_handle.verifyError()`, there since Node 0.x); should a Node release drop
 * it, every client is refused rather than admitted unverified.
 */
const clientVerifyError = (socket: TLSSocket): string | undefined => {
  const handle = (socket as unknown as {_handle?: {verifyError?: () => (Error & {code?: string}) | null | undefined}})._handle
  if (typeof handle?.verifyError !== 'function') return 'this Node.js cannot tell whether the certificate verified'
  if (socket.getPeerCertificate() === null || Object.keys(socket.getPeerCertificate()).length === 0) return 'no certificate'
  const error = handle.verifyError()
  return error === null || error === undefined ? undefined : describeTlsError(error)
}

/** An OpenSSL error as an operator reads it: its reason (`wrong version number`, `peer did not return a certificate`), without the source file. */
export const describeTlsError = (error: Error & {code?: string; reason?: string}): string => {
  const reason = error.reason ?? /routines:[^:]*:([^:]+)/.exec(error.message)?.[1] ?? error.message.split('\n')[0] ?? String(error)
  return error.code === undefined ? reason : `${reason} (${error.code})`
}
