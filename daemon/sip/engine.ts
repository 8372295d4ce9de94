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
import {TrunkMonitor} from '../trunks/trunk-monitor.js'
import {SipDialer} from './dialer.js'
import {LegCorrelation} from './leg-correlation.js'
import {handleInbound, type InboundServices} from './inbound.js'
import {receiveBufferAdvice} from '../../src/net/receive-buffer.js'
import {loadTlsMaterial} from './tls-profiles.js'
import {HandshakeFailureLog} from './tls-log.js'
import {gatewayResolver, type GatewayResolver} from './resolver.js'

/** A drain keeps taking INVITEs for its grace only if a health probe (OPTIONS outside a dialog) arrived this recently: nobody else learns from the 503. */
export const PROBED_WITHIN_MS = 60_000

/** What an out-of-dialog OPTIONS is answered with now (docs/fleet.md, "Health probes"). */
export type SipHealth = 'serving' | 'draining' | 'overloaded' | 'full'

export interface SignallingEngine {
  /** Binds the listeners and starts taking calls. */
  start(): Promise<void>
  listeners(): Listener[]
  /**
   * Starts a drain: health probes (OPTIONS) get 503 from now on; new INVITEs are still taken
   * for `graceMs` when a balancer probed the gateway within PROBED_WITHIN_MS, then get 503.
   * `deadlineMs` (epoch ms) is when the drain ends, for the probes' Retry-After. Returns the
   * grace applied, in milliseconds (0: new INVITEs are refused at once).
   */
  drain(options: {readonly graceMs: number; readonly deadlineMs: number}): number
  /** Ends a drain's grace now: new INVITEs get 503 from here on. */
  endDrainGrace(): void
  /** What a health probe would be answered now. */
  health(): SipHealth
  /** True while a new INVITE would be taken (not overloaded, not full, not draining past the grace). */
  takingCalls(): boolean
  /** Applies a reloaded config's trunks, tenants, dialplans and security to the calls that start from now on. */
  reconfigure(config: Config): void
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
  /** The trunks' registrations and OPTIONS keepalives (docs/sip-trunks.md); stop() unregisters. */
  readonly trunks: TrunkMonitor
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
  /** Set when a drain starts: health probes get 503 from then on. */
  private drainDeadlineMs: number | undefined
  /** New INVITEs get 503 from this time (epoch ms) on; Infinity while no drain runs. */
  private refuseCallsFromMs = Infinity
  /** When the last health probe (OPTIONS outside a dialog) arrived, epoch ms. */
  private lastProbeAtMs = -Infinity
  private readonly packetListeners: Array<(packet: SipPacketEvent) => void> = []
  private readonly legs = new LegCorrelation()
  private sipDialer: SipDialer | undefined
  /** The dialer of the config in force (SDK calls); each inbound call keeps the one of the config it started with. */
  dialer: Dialer | undefined
  /** The config in force: a reload replaces it, and with it the router and the services new calls get. */
  private config: Config
  private router: InboundRouter
  /** What an INVITE arriving now is handled with; a call keeps the services (and config) it started with. */
  private services: InboundServices | undefined
  private readonly digest: DigestServer
  readonly guard: SipGuard
  readonly trunks: TrunkMonitor
  private overload: OverloadControl | undefined
  private tlsCertificate: {subject: string; validTo: string} | undefined
  private tlsClient: ReturnType<typeof loadTlsMaterial>['client'] = () => ({verifyServer: true, minVersion: 'TLSv1.2'})
  private handshakeLog: HandshakeFailureLog | undefined
  private dns: GatewayResolver | undefined

  constructor(private readonly options: SipEngineOptions) {
    this.config = options.config
    this.trunks = new TrunkMonitor(options.log)
    this.router = this.routerFor(options.config)
    this.guard = new SipGuard(options.config.security, this.router, options.log)
    // MD5 is offered first: many deployed UAs (SIPp among them) answer only the first challenge and
    // know only MD5. Clients that do SHA-256 (RFC 8760) still find it in the second challenge.
    this.digest = new DigestServer({realm: 'clutchcall', secret: randomBytes(32), algorithms: ['MD5', 'SHA-256']})
  }

  async start(): Promise<void> {
    const {config, log} = this.options
    const tls = loadTlsMaterial(config, log)
    this.tlsCertificate = tls.certificate
    this.tlsClient = tls.client
    try {
      const {limits} = config.security
      this.transport = await SipTransport.listen({
        ...(tls.server === undefined ? {} : {tls: tls.server}),
        // Looked up at each connection: a reload of the trunks changes the profiles.
        tlsClient: (target) => this.tlsClient(target),
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
    for (const {listener, outcome} of this.transport.shortReceiveBuffers) {
      log.warn({listen: `${listener.address}:${listener.port}`, requested_bytes: outcome.requested, reported_bytes: outcome.reported}, `SIP over UDP: ${receiveBufferAdvice(outcome)}; a burst of requests beyond it is dropped by the kernel`)
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
    transport.screenDatagram = (bytes, remote) => guard.screenDatagram(bytes, remote.address)
    // An INVITE from an unknown source stays a refused call attempt (docs/call-accounting.md), answered or not.
    guard.on('refused', (method, reason) => {
      if (method !== 'INVITE' || reason !== 'unknown_source') return
      this.options.calls.refused({reason: 'unknown_source', status: guard.unknownSourceAction === 'reject' ? 403 : 0, tenant_id: NO_TENANT, trunk_id: NO_TRUNK})
    })
    const timers = config.sip.session_timers
    const dns = (this.dns = gatewayResolver(config))
    log.info({dns_servers: config.sip.dns.servers.length === 0 ? 'system' : dns.lookups.servers, naptr: config.sip.dns.naptr, max_targets: config.sip.dns.max_targets, target_timeout_ms: config.sip.dns.target_timeout_ms}, 'SIP DNS resolver ready (RFC 3263)')
    const ua = new UserAgent({
      resolver: dns.resolver,
      targetTimeoutMs: config.sip.dns.target_timeout_ms,
      transport: this.transport,
      product: config.sip.user_agent,
      screen: (request, context, belongs) => guard.screen(request, context, belongs),
      busyRetryAfterS: this.config.security.overload.retry_after_s,
      availability: () => {
        this.lastProbeAtMs = Date.now()
        return this.unavailable()
      },
      ...(timers.enabled ? {sessionTimers: {expiresS: timers.expires_s, minSeS: timers.min_se_s}} : {}),
      reliableProvisionals: config.sip.reliable_provisionals,
      // INVITEs with Replaces for our dialogs (attended transfer, pickup): daemon/sip/replaces.ts.
      replaces: true,
    })
    this.ua = ua
    guard.serverTransactions = () => ua.transactions.serverTransactionCount
    this.overload = new OverloadControl(this.config.security.overload, () => this.transactionCount(), log, () => guard.counts)
    this.sipDialer = new SipDialer({ua, media: this.options.media, config: this.config, rtpAddress: config.rtp.address, log, calls: this.options.calls, routing: this.trunks, linkLeg: (bLegCallId, callSid) => this.linkLeg(bLegCallId, callSid)})
    this.dialer = this.sipDialer.withConfig(this.config)
    this.services = this.servicesFor(this.config)
    ua.on('invite', (incoming) => {
      const services = this.services
      if (services === undefined) return incoming.reject(503)
      handleInbound(incoming, services).catch((error: unknown) => log.error({err: error, sip_call_id: incoming.callId}, 'inbound call failed'))
    })
    this.trunks.start(ua, this.config)
  }

  /** The inbound router of `config`: calls for a registering trunk's contact are taken from the address its registrar was reached at. */
  private routerFor(config: Config): InboundRouter {
    return new InboundRouter(config, (trunkId) => this.trunks.registrarAddress(trunkId))
  }

  /** The services of the calls that start under `config`: its router, dialplans, trunks and dialog limit. */
  private servicesFor(config: Config): InboundServices {
    const {media, calls, recordingsDir, log} = this.options
    const dialer = this.sipDialer
    if (dialer === undefined) throw new Error('the SIP engine is not started')
    const maxDialogs = config.security.limits.max_dialogs
    return {
      config,
      router: this.router,
      guard: this.guard,
      digest: this.digest,
      media,
      calls,
      dialer: dialer.withConfig(config),
      transfers: {ua: dialer.ua, rtpAddress: this.options.config.rtp.address, calls, linkLeg: (legCallId, callSid) => this.linkLeg(legCallId, callSid)},
      recordingsDir,
      // Media binds at start: rtp.* changes need a restart.
      rtpAddress: this.options.config.rtp.address,
      log,
      isDraining: () => Date.now() >= this.refuseCallsFromMs,
      admissionLimit: () => this.admissionLimit(maxDialogs),
    }
  }

  private admissionLimit(maxDialogs: number): {reason: 'overload' | 'dialog_limit'; retryAfterS: number} | undefined {
    const overload = this.overload
    if (overload === undefined) return undefined
    if (overload.active) return {reason: 'overload', retryAfterS: overload.retryAfterS}
    if ((this.ua?.dialogCount ?? 0) >= maxDialogs) return {reason: 'dialog_limit', retryAfterS: overload.retryAfterS}
    return undefined
  }

  /** Why a health probe gets 503 now; undefined when the gateway takes calls. */
  private unavailable(): {reason: string; retryAfterS: number} | undefined {
    if (this.drainDeadlineMs !== undefined) return {reason: 'Draining', retryAfterS: Math.max(1, Math.ceil((this.drainDeadlineMs - Date.now()) / 1000))}
    const limit = this.admissionLimit(this.config.security.limits.max_dialogs)
    if (limit === undefined) return undefined
    return {reason: limit.reason === 'overload' ? 'Overloaded' : 'Too Many Calls', retryAfterS: limit.retryAfterS}
  }

  health(): SipHealth {
    if (this.drainDeadlineMs !== undefined) return 'draining'
    const limit = this.admissionLimit(this.config.security.limits.max_dialogs)
    return limit === undefined ? 'serving' : limit.reason === 'overload' ? 'overloaded' : 'full'
  }

  takingCalls(): boolean {
    return Date.now() < this.refuseCallsFromMs && this.admissionLimit(this.config.security.limits.max_dialogs) === undefined
  }

  reconfigure(config: Config): void {
    this.config = config
    try {
      // The trunks' TLS profiles (outbound.tls) follow the reload; the listeners' certificate (sip.tls) waits for a restart.
      this.tlsClient = loadTlsMaterial(config, this.options.log).client
    } catch (error) {
      this.options.log.error({err: error}, 'the reloaded TLS files of the trunks cannot be used: TLS trunks keep the running ones')
    }
    this.router = this.routerFor(config)
    this.trunks.apply(config)
    this.guard.reconfigure(config.security, this.router)
    this.overload?.reconfigure(config.security.overload)
    if (this.ua) this.ua.busyRetryAfterS = config.security.overload.retry_after_s
    if (this.sipDialer) {
      this.dialer = this.sipDialer.withConfig(config)
      this.services = this.servicesFor(config)
    }
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

  drain(options: {readonly graceMs: number; readonly deadlineMs: number}): number {
    const now = Date.now()
    this.drainDeadlineMs ??= options.deadlineMs
    const probed = now - this.lastProbeAtMs <= PROBED_WITHIN_MS
    const graceMs = probed ? Math.max(0, Math.min(options.graceMs, options.deadlineMs - now)) : 0
    this.refuseCallsFromMs = Math.min(this.refuseCallsFromMs, now + graceMs)
    return graceMs
  }

  endDrainGrace(): void {
    this.refuseCallsFromMs = Math.min(this.refuseCallsFromMs, Date.now())
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
    // Before the user agent closes: the un-REGISTERs need its transactions (bounded by UNREGISTER_TIMEOUT_MS).
    await this.trunks.stop()
    this.ua?.close()
    this.dns?.lookups.close()
    await this.transport?.close()
  }
}
