// The signalling engine behind a narrow interface (DESIGN §2): the built-in
// TypeScript SIP stack today; a drachtio-server backend can implement the same
// interface where one is deployed.
import {randomBytes} from 'node:crypto'
import type {Logger} from 'pino'
import type {Listener} from '../../src/admin/protocol.js'
import type {Config} from '../../src/config/schema.js'
import {DigestServer} from '../../src/sip/digest-server.js'
import {SipTransport, type SipTransportCounters} from '../../src/sip/transport/sip-transport.js'
import type {SipPacketEvent} from '../../src/sip/transport/types.js'
import {UserAgent} from '../../src/sip/user-agent.js'
import type {Dialer} from '../calls/leg.js'
import type {CallRegistry} from '../calls/registry.js'
import type {MediaEngine} from '../media/engine.js'
import {listenError} from '../net/listen.js'
import {NO_TRUNK} from '../../src/cdr/record.js'
import {NO_TENANT} from '../calls/refusals.js'
import {OverloadControl} from '../security/overload.js'
import {SipGuard} from '../security/sip-guard.js'
import {InboundRouter} from '../trunks/inbound-router.js'
import {SipDialer} from './dialer.js'
import {LegCorrelation} from './leg-correlation.js'
import {handleInbound} from './inbound.js'
import {loadTlsMaterial} from './tls-profiles.js'
import {HandshakeFailureLog} from './tls-log.js'

export interface SignallingEngine {
  /** Binds the listeners and starts taking calls. */
  start(): Promise<void>
  listeners(): Listener[]
  /** Stops taking calls: new INVITEs get 503 from here on. */
  drain(): void
  stop(): Promise<void>
  counters(): Readonly<SipTransportCounters>
  /** Every SIP message sent or received, with its real addresses (for HEP capture); returns the unsubscribe. */
  onPacket(listener: (packet: SipPacketEvent) => void): () => void
  /** The A-leg SIP Call-ID of the call a Call-ID belongs to (a B-leg's maps to its A-leg's; any other is its own). */
  correlationIdOf(sipCallId: string): string
  /** Places outbound legs (bridge nodes, SDK calls); undefined until started. */
  readonly dialer: Dialer | undefined
  /** Admission of every request, per-source limits and bans (docs/sip-abuse-control.md). */
  readonly guard: SipGuard
  /** SIP transactions held now, client and server. */
  transactionCount(): number
  /** True while new INVITEs are refused for overload (security.overload). */
  isOverloaded(): boolean
  /** Subject and expiry of the certificate the TLS listeners present; undefined without sip.tls. */
  tlsInfo(): {subject: string; validTo: string} | undefined
}

export interface SipEngineOptions {
  readonly config: Config
  readonly calls: CallRegistry
  readonly media: MediaEngine
  readonly recordingsDir: string
  readonly log: Logger
}

export class BuiltinSipEngine implements SignallingEngine {
  private transport: SipTransport | undefined
  private ua: UserAgent | undefined
  private draining = false
  private readonly packetListeners: Array<(packet: SipPacketEvent) => void> = []
  private readonly legs = new LegCorrelation()
  dialer: Dialer | undefined
  private readonly router: InboundRouter
  readonly guard: SipGuard
  private overload: OverloadControl | undefined
  private tlsCertificate: {subject: string; validTo: string} | undefined
  private handshakeLog: HandshakeFailureLog | undefined

  constructor(private readonly options: SipEngineOptions) {
    this.router = new InboundRouter(options.config)
    this.guard = new SipGuard(options.config.security, this.router, options.log)
  }

  async start(): Promise<void> {
    const {config, log} = this.options
    const tls = loadTlsMaterial(config, log)
    this.tlsCertificate = tls.certificate
    try {
      const {limits} = config.security
      this.transport = await SipTransport.listen({
        ...(tls.server === undefined ? {} : {tls: tls.server}),
        tlsClient: tls.client,
        listen: config.sip.listen.map((listen) => ({transport: listen.transport, address: listen.address, port: listen.port})),
        server: config.sip.user_agent,
        maxTcpConnections: limits.max_tcp_connections,
        maxTcpConnectionsPerSource: limits.max_tcp_connections_per_source,
        tcpSendBufferBytes: limits.tcp_send_buffer_bytes,
        tcpMessageTimeoutMs: limits.tcp_message_timeout_ms,
      })
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & {address?: string; port?: number}
      const spec = config.sip.listen.find((listen) => listen.port === failure.port) ?? config.sip.listen[0]
      throw listenError(failure, {address: failure.address ?? spec?.address ?? '?', port: failure.port ?? spec?.port ?? 0, purpose: spec?.transport === 'tls' ? 'SIP over TLS' : 'SIP', key: 'sip.listen'})
    }
    for (const listener of this.packetListeners) this.transport.on('packet', listener)
    const guard = this.guard
    const transport = this.transport
    transport.screenUnparsable = (context) => guard.screenUnparsable(context)
    transport.screenConnection = (source) => guard.screenConnection(source)
    const handshakes = (this.handshakeLog = new HandshakeFailureLog(log))
    transport.on('connectionDropped', (protocol, reason, remote, detail) => {
      guard.connectionDropped(protocol, reason)
      if (reason === 'handshake_failed' || reason === 'handshake_timeout') handshakes.record(reason, remote, detail)
    })
    // A source banned while it holds TCP connections loses them too: a ban must free what it holds.
    guard.on('banned', (_reason, address) => transport.dropConnectionsFrom(address, 'banned'))
    // An INVITE from an unknown source stays a refused call attempt (docs/call-accounting.md), answered or not.
    guard.on('refused', (method, reason) => {
      if (method !== 'INVITE' || reason !== 'unknown_source') return
      this.options.calls.refused({reason: 'unknown_source', status: guard.unknownSourceAction === 'reject' ? 403 : 0, tenant_id: NO_TENANT, trunk_id: NO_TRUNK})
    })
    const ua = new UserAgent({
      transport: this.transport,
      product: config.sip.user_agent,
      screen: (request, context, belongs) => guard.screen(request, context, belongs),
      busyRetryAfterS: config.security.overload.retry_after_s,
    })
    this.ua = ua
    guard.serverTransactions = () => ua.transactions.serverTransactionCount
    const overload = (this.overload = new OverloadControl(config.security.overload, () => this.transactionCount(), log))
    const maxDialogs = config.security.limits.max_dialogs
    const rtpAddress = config.rtp.address
    const dialer = (this.dialer = new SipDialer({ua, media: this.options.media, config, rtpAddress, log, calls: this.options.calls, linkLeg: (bLegCallId, callSid) => this.linkLeg(bLegCallId, callSid)}))
    const services = {
      config,
      router: this.router,
      guard,
      // MD5 is offered first: many deployed UAs (SIPp among them) answer only the first challenge and
      // know only MD5. Clients that do SHA-256 (RFC 8760) still find it in the second challenge.
      digest: new DigestServer({realm: 'clutchcall', secret: randomBytes(32), algorithms: ['MD5', 'SHA-256']}),
      media: this.options.media,
      calls: this.options.calls,
      dialer,
      recordingsDir: this.options.recordingsDir,
      rtpAddress,
      log,
      isDraining: () => this.draining,
      admissionLimit: () => {
        if (overload.active) return {reason: 'overload' as const, retryAfterS: overload.retryAfterS}
        if (ua.dialogCount >= maxDialogs) return {reason: 'dialog_limit' as const, retryAfterS: overload.retryAfterS}
        return undefined
      },
    }
    ua.on('invite', (incoming) => {
      handleInbound(incoming, services).catch((error: unknown) => log.error({err: error, sip_call_id: incoming.callId}, 'inbound call failed'))
    })
  }

  listeners(): Listener[] {
    return (this.transport?.addresses ?? []).map((bound) => ({name: 'sip', transport: bound.transport, address: bound.address, port: bound.port}))
  }

  /** Subject and expiry of the certificate the TLS listeners present; undefined without sip.tls. */
  tlsInfo(): {subject: string; validTo: string} | undefined {
    return this.tlsCertificate
  }

  transactionCount(): number {
    const counters = this.ua?.transactions.counters
    return counters === undefined ? 0 : counters.clientTransactions + counters.serverTransactions
  }

  isOverloaded(): boolean {
    return this.overload?.active ?? false
  }

  drain(): void {
    this.draining = true
  }

  counters(): Readonly<SipTransportCounters> {
    return this.transport?.counters ?? ({} as SipTransportCounters)
  }

  onPacket(listener: (packet: SipPacketEvent) => void): () => void {
    this.packetListeners.push(listener)
    this.transport?.on('packet', listener)
    return () => {
      const index = this.packetListeners.indexOf(listener)
      if (index !== -1) this.packetListeners.splice(index, 1)
      this.transport?.off('packet', listener)
    }
  }

  correlationIdOf(sipCallId: string): string {
    return this.legs.correlationIdOf(sipCallId)
  }

  /** A B-leg of call `callSid` is about to be placed with this Call-ID: its messages correlate to the A-leg's. */
  private linkLeg(bLegCallId: string, callSid: string): () => void {
    const aLegCallId = this.options.calls.get(callSid)?.summary().sip_call_id
    return aLegCallId === undefined ? () => {} : this.legs.link(bLegCallId, aLegCallId)
  }

  async stop(): Promise<void> {
    this.handshakeLog?.stop()
    this.legs.stop()
    this.guard.stop()
    this.overload?.stop()
    this.ua?.close()
    await this.transport?.close()
  }
}
