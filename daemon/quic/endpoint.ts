// The QUIC listener of the SDK (docs/quic.md): @matrixai/quic (Cloudflare
// quiche) on one UDP socket, ALPN `clutchcall-sdk/1`, TLS 1.3 with the
// configured or generated certificate. It holds the limits of quic.limits
// (connections in total and per source, streams and unread bytes per
// connection, handshake, idle and authentication timeouts), times every
// handshake for clutchcall_quic_handshake_seconds, and hands each established
// connection to a QuicClientConnection.
import {QUICServer, type QUICConnection} from '@matrixai/quic'
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'
import {CCError} from '../../src/errors.js'
import {listenAddress, listenError, type BoundAddress} from '../net/listen.js'
import {loadCertificate, needsRenewal, type QuicCertificate} from './certificate.js'
import {QUIC_CLOSE, QuicClientConnection, type QuicServices} from './connection.js'
import {holdEarlyStreams, hookAccept, libraryLogger, serverCrypto} from './library.js'

export const QUIC_ALPN = 'clutchcall-sdk/1'
/** Datagrams quiche queues each way per connection (50 a second is one call's audio). */
const DATAGRAM_QUEUE = 128
/** How often a generated certificate is checked for renewal. */
const RENEW_CHECK_MS = 6 * 3600_000

export type HandshakeResult = 'ok' | 'failed'

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

export class QuicEndpoint {
  private server: QUICServer | undefined
  private bound: BoundAddress | undefined
  private certificate: QuicCertificate | undefined
  private renewTimer: NodeJS.Timeout | undefined
  private readonly clients = new Set<QuicClientConnection>()
  /** Connections (and handshakes under way) per source address. */
  private readonly perSource = new Map<string, number>()
  private total = 0

  constructor(private readonly options: QuicEndpointOptions) {}

  get address(): BoundAddress {
    return listenAddress(this.options.config.listen, this.bound, 'quic.listen')
  }

  async start(): Promise<void> {
    const {config, log} = this.options
    const {host, port} = this.address
    this.certificate = await loadCertificate({cert: config.cert, key: config.key, quicDir: this.options.quicDir, listenHost: host})
    const limits = config.limits
    holdEarlyStreams()
    const server = new QUICServer({
      crypto: serverCrypto(),
      logger: libraryLogger(log),
      // The start timer of accepted connections: a handshake not done by then fails.
      minIdleTimeout: limits.handshake_timeout_ms,
      config: {
        key: this.certificate.keyPem,
        cert: this.certificate.certPem,
        verifyPeer: false,
        applicationProtos: [QUIC_ALPN],
        enableDgram: [true, DATAGRAM_QUEUE, DATAGRAM_QUEUE],
        maxIdleTimeout: limits.idle_timeout_ms,
        initialMaxStreamsBidi: limits.max_streams_per_connection,
        // Streams are bidirectional and client-opened: no unidirectional ones, and the gateway opens none.
        initialMaxStreamsUni: 0,
        initialMaxStreamDataBidiRemote: limits.max_stream_buffer_bytes,
        initialMaxStreamDataBidiLocal: limits.max_stream_buffer_bytes,
        initialMaxStreamDataUni: 0,
        initialMaxData: limits.max_stream_buffer_bytes * limits.max_streams_per_connection,
        // quiche's flow-control autotuning may grow windows up to these: held at the configured size.
        maxStreamWindow: limits.max_stream_buffer_bytes,
        maxConnectionWindow: limits.max_stream_buffer_bytes * limits.max_streams_per_connection,
        enableEarlyData: false,
      },
    })
    hookAccept(server, {
      admit: (remote) => this.admit(remote),
      began: (remote) => this.count(remote, 1),
      established: (connection, remote, seconds) => {
        this.options.observeHandshake('ok', seconds)
        this.accepted(connection, remote)
      },
      failed: (remote, seconds, error) => {
        this.options.observeHandshake('failed', seconds)
        log.debug({remote, err: error}, 'QUIC handshake failed')
      },
      released: (remote) => this.count(remote, -1),
    }, limits.handshake_timeout_ms)
    try {
      await server.start({host, port})
    } catch (error) {
      const cause = (error as {cause?: NodeJS.ErrnoException}).cause ?? (error as NodeJS.ErrnoException)
      if (typeof cause.code === 'string') throw listenError(cause, {address: host, port, purpose: 'SDK clients over QUIC', key: 'quic.listen'})
      throw error
    }
    this.server = server
    this.bound = {host: server.host, port: server.port}
    if (this.certificate.source === 'generated') {
      this.renewTimer = setInterval(() => void this.renew(), RENEW_CHECK_MS)
      this.renewTimer.unref()
    }
    log.info({listen: `${server.host}:${server.port}`, alpn: QUIC_ALPN, sha256: this.certificate.sha256, certificate: this.certificate.source}, 'QUIC listener started')
  }

  /** Replaces a generated certificate that is about to end; connections made from then on get the new one. */
  private async renew(): Promise<void> {
    if (!this.server || !this.certificate || !needsRenewal(this.certificate)) return
    try {
      this.certificate = await loadCertificate({quicDir: this.options.quicDir, listenHost: this.address.host})
      this.server.updateConfig({key: this.certificate.keyPem, cert: this.certificate.certPem})
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

  private accepted(connection: QUICConnection, remote: string): void {
    const limit = this.options.config.limits.max_connections_per_source
    const client = new QuicClientConnection(connection, remote, {...this.options.services, authTimeoutMs: this.options.config.limits.auth_timeout_ms}, this.options.isDraining)
    this.clients.add(client)
    void client.closed.then(() => {
      this.clients.delete(client)
      this.count(remote, -1)
    })
    if ((this.perSource.get(remote) ?? 0) > limit) {
      const refusal = new CCError('CC_ERR_QUIC_LIMIT', {detail: `more than ${limit} connections from ${remote} (quic.limits.max_connections_per_source)`})
      void client.shutdown(QUIC_CLOSE.tooManyFromSource, `${refusal.code}: ${refusal.message}`)
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

  /** Every connection closed (application error 3, calls hung up with cause 16), then the socket. */
  async stop(): Promise<void> {
    clearInterval(this.renewTimer)
    await Promise.all([...this.clients].map((client) => client.shutdown(QUIC_CLOSE.stopping, 'the gateway is stopping')))
    await this.server?.stop({isApp: true, errorCode: QUIC_CLOSE.stopping, force: true}).catch((error: unknown) => this.options.log.warn({err: error}, 'QUIC listener stop failed'))
  }
}
