// The QUIC listeners of the SDK (docs/quic.md), on @matrixai/quic (Cloudflare
// quiche): the SDK's own protocol (ALPN `clutchcall-sdk/1`, quic.listen) and,
// when quic.webtransport.enabled, WebTransport over HTTP/3 (ALPN `h3`,
// quic.webtransport.listen) for browsers. Both use the configured or generated
// certificate and share the limits of quic.limits (connections in total and
// per source across both, streams and unread bytes per connection, handshake,
// idle and authentication timeouts); every handshake is timed for
// clutchcall_quic_handshake_seconds. Each established connection goes to a
// QuicClientConnection or a WebTransportConnection.
import {QUICServer, type QUICConnection} from '@matrixai/quic'
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'
import {CCError} from '../../src/errors.js'
import {listenAddress, listenError, type BoundAddress} from '../net/listen.js'
import {loadCertificate, needsRenewal, type QuicCertificate} from './certificate.js'
import {QUIC_CLOSE, QuicClientConnection, type QuicServices} from './connection.js'
import {H3_ERROR} from './h3.js'
import {receiveBufferAdvice} from '../../src/net/receive-buffer.js'
import {enlargeReceiveBuffer, holdEarlyStreams, hookAccept, libraryLogger, serverCrypto} from '../../src/quic/library.js'
import {WebTransportConnection} from './webtransport.js'

export const QUIC_ALPN = 'clutchcall-sdk/1'
export const WEBTRANSPORT_ALPN = 'h3'
/** Datagrams quiche queues each way per connection (50 a second is one call's audio). */
const DATAGRAM_QUEUE = 128
/** Every client's packets arrive on the listener's one UDP socket: room for bursts while the thread is busy (as the SIP UDP listener has). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024
/** How often a generated certificate is checked for renewal. */
const RENEW_CHECK_MS = 6 * 3600_000
/** A WebTransport client's unidirectional streams: its HTTP/3 control stream and two QPACK streams (and a spare). */
const H3_PEER_UNI_STREAMS = 4
/** Bytes unread on one of them: SETTINGS and QPACK instructions are small. */
const H3_UNI_STREAM_BYTES = 16 * 1024

export type HandshakeResult = 'ok' | 'failed'
type Kind = 'sdk' | 'webtransport'

export interface QuicEndpointOptions {
  readonly config: Config['quic']
  readonly quicDir: string
  readonly services: Omit<QuicServices, 'authTimeoutMs'>
  readonly observeHandshake: (result: HandshakeResult, seconds: number) => void
  readonly isDraining: () => boolean
  readonly log: Logger
}

export interface QuicEndpointStatus {
  readonly connections: number
  readonly sessions: number
  readonly certificate: {readonly sha256: string; readonly source: 'configured' | 'generated'; readonly notAfter: string; readonly path: string}
}

/** What the endpoint needs of a connection, whatever its protocol. */
type ClientConnection = QuicClientConnection | WebTransportConnection

export class QuicEndpoint {
  private readonly servers = new Map<Kind, QUICServer>()
  private readonly bound = new Map<Kind, BoundAddress>()
  private certificate: QuicCertificate | undefined
  private renewTimer: NodeJS.Timeout | undefined
  private readonly clients = new Set<ClientConnection>()
  /** Connections (and handshakes under way) per source address, on both listeners. */
  private readonly perSource = new Map<string, number>()
  private total = 0

  constructor(private readonly options: QuicEndpointOptions) {}

  /** The SDK listener's address. */
  get address(): BoundAddress {
    return listenAddress(this.options.config.listen, this.bound.get('sdk'), 'quic.listen')
  }

  /** The WebTransport listener's address, when it is on. */
  get webTransportAddress(): BoundAddress | undefined {
    const {webtransport} = this.options.config
    return webtransport.enabled ? listenAddress(webtransport.listen, this.bound.get('webtransport'), 'quic.webtransport.listen') : undefined
  }

  async start(): Promise<void> {
    const {config} = this.options
    this.certificate = await loadCertificate({cert: config.cert, key: config.key, quicDir: this.options.quicDir, listenHost: this.address.host})
    holdEarlyStreams()
    await this.listen('sdk', this.address)
    const webTransport = this.webTransportAddress
    if (webTransport) await this.listen('webtransport', webTransport)
    if (this.certificate.source === 'generated') {
      this.renewTimer = setInterval(() => void this.renew(), RENEW_CHECK_MS)
      this.renewTimer.unref()
    }
  }

  private async listen(kind: Kind, {host, port}: BoundAddress): Promise<void> {
    const {config, log} = this.options
    const certificate = this.certificate as QuicCertificate
    const limits = config.limits
    const h3 = kind === 'webtransport'
    const server = new QUICServer({
      crypto: serverCrypto(),
      logger: libraryLogger(log),
      // The start timer of accepted connections: a handshake not done by then fails.
      minIdleTimeout: limits.handshake_timeout_ms,
      config: {
        key: certificate.keyPem,
        cert: certificate.certPem,
        verifyPeer: false,
        applicationProtos: [h3 ? WEBTRANSPORT_ALPN : QUIC_ALPN],
        enableDgram: [true, DATAGRAM_QUEUE, DATAGRAM_QUEUE],
        maxIdleTimeout: limits.idle_timeout_ms,
        initialMaxStreamsBidi: limits.max_streams_per_connection,
        // The SDK's streams are bidirectional and client-opened: no unidirectional ones. HTTP/3 needs the client's control and QPACK streams.
        initialMaxStreamsUni: h3 ? H3_PEER_UNI_STREAMS : 0,
        initialMaxStreamDataBidiRemote: limits.max_stream_buffer_bytes,
        initialMaxStreamDataBidiLocal: limits.max_stream_buffer_bytes,
        initialMaxStreamDataUni: h3 ? H3_UNI_STREAM_BYTES : 0,
        initialMaxData: limits.max_stream_buffer_bytes * limits.max_streams_per_connection + (h3 ? H3_PEER_UNI_STREAMS * H3_UNI_STREAM_BYTES : 0),
        // quiche's flow-control autotuning may grow windows up to these: held at the configured size.
        maxStreamWindow: limits.max_stream_buffer_bytes,
        maxConnectionWindow: limits.max_stream_buffer_bytes * limits.max_streams_per_connection + (h3 ? H3_PEER_UNI_STREAMS * H3_UNI_STREAM_BYTES : 0),
        enableEarlyData: false,
      },
    })
    hookAccept(
      server,
      {
        admit: (remote) => this.admit(remote),
        began: (remote) => this.count(remote, 1),
        established: (connection, remote, seconds) => {
          this.options.observeHandshake('ok', seconds)
          this.accepted(kind, connection, remote)
        },
        failed: (remote, seconds, error) => {
          this.options.observeHandshake('failed', seconds)
          log.debug({remote, err: error, listener: kind}, 'QUIC handshake failed')
        },
        released: (remote) => this.count(remote, -1),
      },
      limits.handshake_timeout_ms,
    )
    const key = h3 ? 'quic.webtransport.listen' : 'quic.listen'
    try {
      await server.start({host, port})
    } catch (error) {
      const cause = (error as {cause?: NodeJS.ErrnoException}).cause ?? (error as NodeJS.ErrnoException)
      if (typeof cause.code === 'string') throw listenError(cause, {address: host, port, purpose: h3 ? 'WebTransport (HTTP/3)' : 'SDK clients over QUIC', key})
      throw error
    }
    const receiveBuffer = enlargeReceiveBuffer(server, RECEIVE_BUFFER_BYTES)
    if (receiveBuffer?.short !== false) {
      const advice = receiveBuffer === undefined ? 'no UDP socket to size' : receiveBufferAdvice(receiveBuffer)
      log.warn({listener: kind, requested_bytes: RECEIVE_BUFFER_BYTES, reported_bytes: receiveBuffer?.reported}, `QUIC: ${advice}; audio arriving while it is full is lost under load`)
    }
    this.servers.set(kind, server)
    this.bound.set(kind, {host: server.host, port: server.port})
    log.info({listen: `${server.host}:${server.port}`, alpn: h3 ? WEBTRANSPORT_ALPN : QUIC_ALPN, sha256: certificate.sha256, certificate: certificate.source}, h3 ? 'WebTransport listener started' : 'QUIC listener started')
  }

  /** Replaces a generated certificate that is about to end; connections made from then on get the new one. */
  private async renew(): Promise<void> {
    if (!this.certificate || !needsRenewal(this.certificate)) return
    try {
      this.certificate = await loadCertificate({quicDir: this.options.quicDir, listenHost: this.address.host})
      for (const server of this.servers.values()) server.updateConfig({key: this.certificate.keyPem, cert: this.certificate.certPem})
      this.options.log.info({sha256: this.certificate.sha256, notAfter: this.certificate.notAfter.toISOString()}, 'QUIC certificate renewed')
    } catch (error) {
      this.options.log.error({err: error}, 'QUIC certificate renewal failed')
    }
  }

  /**
   * A validated Initial: dropped (no answer, no state) when the gateway holds max_connections, or when its
   * source holds twice its limit (a flood is not worth a handshake each; up to the limit they get a clear refusal).
   */
  private admit(remote: string): boolean {
    const limits = this.options.config.limits
    if (this.total >= limits.max_connections) return false
    return (this.perSource.get(remote) ?? 0) < 2 * limits.max_connections_per_source
  }

  private count(remote: string, delta: number): void {
    const next = (this.perSource.get(remote) ?? 0) + delta
    if (next <= 0) this.perSource.delete(remote)
    else this.perSource.set(remote, next)
    this.total += delta
  }

  private accepted(kind: Kind, connection: QUICConnection, remote: string): void {
    const {config, services, isDraining} = this.options
    const limit = config.limits.max_connections_per_source
    const withTimeout = {...services, authTimeoutMs: config.limits.auth_timeout_ms}
    const client: ClientConnection =
      kind === 'webtransport'
        ? new WebTransportConnection(connection, remote, {...withTimeout, path: config.webtransport.path}, isDraining)
        : new QuicClientConnection(connection, remote, withTimeout, isDraining)
    this.clients.add(client)
    void client.closed.then(() => {
      this.clients.delete(client)
      this.count(remote, -1)
    })
    if ((this.perSource.get(remote) ?? 0) > limit) {
      const refusal = new CCError('CC_ERR_QUIC_LIMIT', {detail: `more than ${limit} connections from ${remote} (quic.limits.max_connections_per_source)`})
      if (client instanceof WebTransportConnection) client.refuseOverLimit(refusal)
      else void client.shutdown(QUIC_CLOSE.tooManyFromSource, `${refusal.code}: ${refusal.message}`)
    }
  }

  status(): QuicEndpointStatus {
    const certificate = this.certificate
    return {
      connections: this.clients.size,
      sessions: [...this.clients].filter((client) => client.tenant !== undefined).length,
      certificate: certificate
        ? {sha256: certificate.sha256, source: certificate.source, notAfter: certificate.notAfter.toISOString(), path: certificate.certPath}
        : {sha256: '', source: 'generated', notAfter: '', path: ''},
    }
  }

  /** Every connection closed (application error 3, H3_NO_ERROR for WebTransport; calls hung up with cause 16), then the sockets. */
  async stop(): Promise<void> {
    clearInterval(this.renewTimer)
    await Promise.all([...this.clients].map((client) => client.shutdown(client instanceof WebTransportConnection ? H3_ERROR.noError : QUIC_CLOSE.stopping, 'the gateway is stopping')))
    for (const server of this.servers.values()) {
      await server.stop({isApp: true, errorCode: QUIC_CLOSE.stopping, force: true}).catch((error: unknown) => this.options.log.warn({err: error}, 'QUIC listener stop failed'))
    }
  }
}
