// The composition root: builds every part of the running gateway from the
// loaded config and wires them together. Parts know nothing of each other;
// this file is where they meet.
import {rmSync} from 'node:fs'
import {availableParallelism} from 'node:os'
import type {Logger} from 'pino'
import type {AdminParsedParams, CdrStatus, ConfigReloadResult, DaemonStatus, SecurityBan, HepStatus, TrunkStatus, Listener, StopResult, TracingTraceResult} from '../src/admin/protocol.js'
import type {LoadedConfig} from '../src/config/load.js'
import {classifyChanges, mergeReloaded} from '../src/config/reload.js'
import type {Config} from '../src/config/schema.js'
import {TRACING_OFF_TEXT} from '../src/config/tracing.js'
import {CCError, toCCError} from '../src/errors.js'
import {hepCaptureId} from '../src/hep/params.js'
import {inspectInstance, writePidFile} from '../src/instance.js'
import {hostForPort, localAddressFor} from '../src/net/addresses.js'
import {ensureHome} from '../src/paths.js'
import {VERSION} from '../src/version.js'
import {AdminServer} from './admin/server.js'
import {createAdminHandlers} from './admin/handlers.js'
import {CallRegistry} from './calls/registry.js'
import {MediaEngine} from './media/engine.js'
import {observeShardLag} from './media/lag-metrics.js'
import {IdleCollector} from './memory/idle-collection.js'
import {loadMallocTrim} from './memory/malloc-trim.js'
import {BuiltinSipEngine, type SignallingEngine} from './sip/engine.js'
import {CdrSink} from './telemetry/cdr/sink.js'
import {HepSink} from './telemetry/hep/sink.js'
import {CallMetrics} from './telemetry/metrics/call-metrics.js'
import {createMetricsRegistry} from './telemetry/metrics/families.js'
import {observeUndecodablePayloads} from './media/codec-metrics.js'
import {observeSrtpDrops} from './media/srtp-metrics.js'
import {MetricsServer} from './telemetry/metrics/server.js'
import {TracingSink} from './telemetry/tracing/sink.js'
import {RpcActivity} from './rpc/activity.js'
import {JwtVerifier} from './rpc/jwt.js'
import type {QuicEndpoint} from './quic/endpoint.js'
import type {WebRtcEndpoint} from './webrtc/endpoint.js'

/** Q.850 normal clearing: what calls left at the end of a drain are hung up with. */
const NORMAL_CLEARING = 16

export interface GatewayOptions {
  /** Reads and validates the config again, the way the start did (`config reload`, SIGHUP); without it a reload is refused. */
  readonly reload?: () => LoadedConfig
}

export class Gateway {
  readonly calls = new CallRegistry()
  readonly startedAt = new Date()
  private readonly metrics = createMetricsRegistry()
  private readonly metricsServer: MetricsServer | undefined
  private readonly admin: AdminServer
  private readonly callMetrics: CallMetrics
  private readonly cdr: CdrSink | undefined
  private readonly hep: HepSink
  private readonly tracing: TracingSink | undefined
  /** SDK RPCs publish what they went through here; the tracing sink subscribes. */
  private readonly rpcActivity = new RpcActivity()
  private webrtc: WebRtcEndpoint | undefined
  private quic: QuicEndpoint | undefined
  private quicAlpn = ''
  private media: MediaEngine | undefined
  private sip: SignallingEngine | undefined
  private idleCollector: IdleCollector | undefined
  private draining: Promise<void> | undefined
  /** The drain's grace (new INVITEs still taken while health probes get 503), in ms. */
  private drainGraceMs = 0
  /** Ends the grace wait early (forced stop). */
  private endGraceWait: () => void = () => {}
  /** The config in force: the start's, with the reloadable keys of the last reload. */
  private running: Config
  private reloadedAt: Date | null = null
  private adminListening = false
  private markStopped: () => void = () => {}
  /** Resolves when a drain has finished and every listener is closed. */
  readonly stopped: Promise<void> = new Promise((resolve) => {
    this.markStopped = resolve
  })

  constructor(
    readonly loaded: LoadedConfig,
    private readonly log: Logger,
    private readonly options: GatewayOptions = {},
  ) {
    const {config} = loaded
    const nodeName = config.node.name
    this.running = config
    this.metricsServer = config.metrics.enabled ? new MetricsServer(this.metrics.registry, config.metrics.listen) : undefined
    this.callMetrics = new CallMetrics(this.calls, this.metrics.families)
    this.cdr = config.cdr.enabled ? new CdrSink({config: config.cdr, spoolDir: loaded.paths.spoolDir, journalDir: loaded.paths.journalDir, calls: this.calls, metrics: this.metrics.families, log, nodeName}) : undefined
    this.hep = new HepSink({config: {...config.heplify, capture_id: hepCaptureId(config.heplify.capture_id, nodeName)}, calls: this.calls, metrics: this.metrics.families, log})
    // No collector configured, no sink and no export thread (src/config/tracing.ts).
    this.tracing = loaded.tracing.enabled ? new TracingSink({config: {endpoint: loaded.tracing.target, url: loaded.tracing.url, protocol: loaded.tracing.protocol}, calls: this.calls, log, instanceId: nodeName}) : undefined
    this.tracing?.attachRpc(this.rpcActivity)
    this.admin = new AdminServer({
      socketPath: loaded.socketPath,
      version: VERSION,
      handlers: createAdminHandlers(this),
      onRequest: (method, result) => this.metrics.families.adminRequestsTotal.inc({method, result}),
      log,
      maxQueuedBytes: config.admin.max_queued_bytes,
    })
  }

  get isDraining(): boolean {
    return this.draining !== undefined
  }

  /** Binds every listener; on any failure, releases what was bound and rethrows. */
  async start(): Promise<Listener[]> {
    const {paths, socketPath} = this.loaded
    ensureHome(paths.home)
    const instance = await inspectInstance({pidFile: paths.pidFile, socketPath})
    if (instance.running) throw new CCError('CC_ERR_DAEMON_RUNNING', {pid: instance.pid ?? 'unknown', socket: socketPath})
    if (instance.cleaned.length > 0) this.log.warn({files: instance.cleaned}, 'removed stale files of a daemon that is gone')
    writePidFile(paths.pidFile, process.pid)
    try {
      await this.metricsServer?.start()
      // Before any call can end: every CDR goes through the spool.
      this.cdr?.start()
      // Before the first call: its root span opens with its first stage.
      this.tracing?.start()
      if (!this.tracing) this.log.info({reason: this.loaded.tracing.offReason}, `tracing off (${TRACING_OFF_TEXT[this.loaded.tracing.offReason ?? 'disabled']})`)
      await this.startCalls()
      await this.admin.start()
      this.adminListening = true
    } catch (error) {
      await this.releaseListeners()
      throw error
    }
    return this.listeners()
  }

  /** Media shards first (the SIP engine hands calls to them), then the SIP listeners. */
  private async startCalls(): Promise<void> {
    const {config, paths} = this.loaded
    const shards = config.rtp.shards === 'auto' ? availableParallelism() : config.rtp.shards
    const preloadOpus = [config.rtp.codecs, ...config.trunks.map((trunk) => trunk.codecs ?? [])].some((codecs) => codecs.includes('opus'))
    this.media = await MediaEngine.start({address: config.rtp.address, portMin: config.rtp.port_min, portMax: config.rtp.port_max, shards, recordingsDir: paths.recordingsDir, log: this.log, preloadOpus})
    observeShardLag(this.media, this.metrics.families.codecEngineLagUs)
    observeSrtpDrops(this.media, this.metrics.families.srtpPacketsDroppedTotal)
    observeUndecodablePayloads(this.media, this.metrics.families.rtpPayloadsUndecodableTotal)
    this.media.on('shard-failed', (shard, error) => this.log.error({err: error, shard}, 'media shard failed'))
    this.sip = new BuiltinSipEngine({config, calls: this.calls, media: this.media, recordingsDir: paths.recordingsDir, log: this.log})
    this.observeGuard(this.sip)
    this.observeTrunks(this.sip)
    this.hep.attach(this.sip, this.media)
    // Before the SIP listeners: with heplify.enabled the very first message is captured. A collector
    // that cannot be reached is no reason not to start: capture stays off and the log says why.
    if (config.heplify.enabled) await this.hep.enable({}, 'config').catch((error: unknown) => this.log.error({err: error}, 'HEP capture (heplify.enabled) could not be switched on'))
    await this.sip.start()
    const {sip, media} = this
    this.idleCollector = new IdleCollector({
      held: () => this.calls.activeCount + sip.transactionCount(),
      requests: () => sip.guard.counts.admitted + sip.guard.counts.refused,
      collectThreads: () => media.collectGarbage(),
      trim: await loadMallocTrim(this.log),
      log: this.log,
    })
    await this.startWebRtc()
    await this.startQuic()
  }

  /** The abuse guard's counters and banned-sources gauge. */
  private observeGuard(sip: SignallingEngine): void {
    const {families} = this.metrics
    sip.guard.on('refused', (method, reason) => families.sipRequestsRefusedTotal.inc({method, reason}))
    sip.guard.on('connectionDropped', (transport, reason) => families.sipConnectionsDroppedTotal.inc({transport, reason}))
    sip.guard.on('banned', (reason) => families.securityBansTotal.inc({reason}))
    families.securityBannedSources.set(0)
    sip.guard.on('bannedCount', (count) => families.securityBannedSources.set(count))
  }

  /** clutchcall_trunk_up and clutchcall_trunk_registered follow the trunk monitor; a trunk no longer monitored loses its series. */
  private observeTrunks(sip: SignallingEngine): void {
    const {trunkUp, trunkRegistered} = this.metrics.families
    sip.trunks.on('reachability', (trunk, up) => trunkUp.set({trunk}, up ? 1 : 0))
    sip.trunks.on('registration', (trunk, registered) => trunkRegistered.set({trunk}, registered ? 1 : 0))
    sip.trunks.on('forgotten', (trunk, what) => (what === 'keepalive' ? trunkUp : trunkRegistered).remove({trunk}))
  }

  trunksStatus(): {trunks: TrunkStatus[]} {
    return {trunks: this.sip?.trunks.status() ?? []}
  }

  securityBans(): {bans: SecurityBan[]} {
    return {bans: this.sip?.guard.bans() ?? []}
  }

  securityUnban(address: string | undefined): {unbanned: string[]} {
    return {unbanned: this.sip?.guard.unban(address) ?? []}
  }

  /** The SDK's WebRTC endpoint (webrtc.enabled; the schema guarantees auth.jwt then). */
  private async startWebRtc(): Promise<void> {
    const {config} = this.loaded
    const jwt = config.auth.jwt
    if (!config.webrtc.enabled || !jwt || !this.media || !this.sip?.dialer) return
    const verifier = new JwtVerifier(jwt, new Set(config.tenants.map((tenant) => tenant.id)))
    // werift is loaded only when the endpoint is on: a SIP-only gateway does not pay its start-up.
    const {WebRtcEndpoint} = await import('./webrtc/endpoint.js')
    this.webrtc = new WebRtcEndpoint(
      config.webrtc.listen,
      {config, calls: this.calls, dialer: this.sip.dialer, media: this.media, verifier, activity: this.rpcActivity, rtpAddress: config.rtp.address, codecs: config.webrtc.codecs, log: this.log, isDraining: () => this.isDraining},
      this.log,
    )
    await this.webrtc.start()
  }

  /** The TLS listeners' certificate for daemon.status, when sip.tls is configured. */
  private tlsStatus(): {tls?: {subject: string; validTo: string; verifyClient: boolean}} {
    const info = this.sip?.tlsInfo()
    return info === undefined ? {} : {tls: {...info, verifyClient: this.loaded.config.sip.tls?.verify_client ?? false}}
  }

  /** The SDK's QUIC listener (quic.enabled; the schema guarantees auth.jwt then). */
  private async startQuic(): Promise<void> {
    const {config, paths} = this.loaded
    const jwt = config.auth.jwt
    if (!config.quic.enabled || !jwt || !this.media || !this.sip?.dialer) return
    const verifier = new JwtVerifier(jwt, new Set(config.tenants.map((tenant) => tenant.id)))
    // The native QUIC stack is loaded only when the listener is on.
    const {QuicEndpoint, QUIC_ALPN} = await import('./quic/endpoint.js')
    this.quicAlpn = QUIC_ALPN
    const handshakes = this.metrics.families.quicHandshakeSeconds
    this.quic = new QuicEndpoint({
      config: config.quic,
      quicDir: paths.quicDir,
      services: {config, calls: this.calls, dialer: this.sip.dialer, media: this.media, verifier, activity: this.rpcActivity, rtpAddress: config.rtp.address, log: this.log, isDraining: () => this.isDraining},
      observeHandshake: (result, seconds) => handshakes.observe({result}, seconds),
      isDraining: () => this.isDraining,
      log: this.log,
    })
    await this.quic.start()
  }

  private webTransportStatus(): {listen: string; url: string} | null {
    const address = this.quic?.webTransportAddress
    if (!address) return null
    const {host, port} = address
    return {listen: `${hostForPort(host)}:${port}`, url: `https://${hostForPort(localAddressFor(host))}:${port}${this.loaded.config.quic.webtransport.path}`}
  }

  listeners(): Listener[] {
    const {rtp} = this.loaded.config
    const listeners: Listener[] = [
      {name: 'admin', transport: 'unix', address: this.loaded.socketPath},
      ...(this.sip?.listeners() ?? []),
      ...(this.media ? [{name: 'rtp', transport: 'udp' as const, address: rtp.address, port: rtp.port_min, portEnd: rtp.port_max}] : []),
    ]
    if (this.webrtc) {
      const {host, port} = this.webrtc.address
      listeners.push({name: 'webrtc', transport: 'http', address: host, port, url: this.webrtc.url})
    }
    if (this.quic) {
      const {host, port} = this.quic.address
      listeners.push({name: 'quic', transport: 'udp', address: host, port})
      const webTransport = this.quic.webTransportAddress
      if (webTransport) listeners.push({name: 'webtransport', transport: 'udp', address: webTransport.host, port: webTransport.port})
    }
    if (this.metricsServer) {
      const {host, port} = this.metricsServer.address
      listeners.push({name: 'metrics', transport: 'http', address: host, port, url: this.metricsServer.url})
    }
    return listeners
  }

  status(): DaemonStatus {
    const {config, paths, file} = this.loaded
    return {
      pid: process.pid,
      version: VERSION,
      protocol: 1,
      node: process.version,
      nodeName: config.node.name,
      startedAt: this.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      home: paths.home,
      configFile: file ?? null,
      configReloadedAt: this.reloadedAt?.toISOString() ?? null,
      draining: this.isDraining,
      listeners: this.listeners(),
      calls: {active: this.calls.activeCount},
      sip: {
        transactions: this.sip?.transactionCount() ?? 0,
        bannedSources: this.sip?.guard.bannedCount ?? 0,
        overloaded: this.sip?.isOverloaded() ?? false,
        health: this.sip?.health() ?? 'draining',
        takingCalls: this.sip?.takingCalls() ?? false,
        ...this.tlsStatus(),
      },
      quic: this.quic ? {listen: `${hostForPort(this.quic.address.host)}:${this.quic.address.port}`, alpn: this.quicAlpn, webtransport: this.webTransportStatus(), ...this.quic.status()} : null,
      telemetry: {
        metrics: this.metricsServer
          ? {enabled: true, target: this.metricsServer.url, state: 'serving'}
          : {enabled: false, target: null, state: 'off'},
        tracing: this.tracing
          ? {
              enabled: true,
              target: this.tracing.endpoint,
              state: this.tracing.state,
              reason: null,
              configuredBy: this.loaded.tracing.configuredBy,
              protocol: this.tracing.protocol,
              protocolSetBy: this.loaded.tracing.protocolSetBy,
            }
          : {enabled: false, target: null, state: 'off', reason: this.loaded.tracing.offReason ?? 'disabled', configuredBy: null, protocol: null, protocolSetBy: null},
        cdr: this.cdr
          ? {enabled: true, target: config.cdr.clickhouse ? `${config.cdr.clickhouse.url} ${config.cdr.clickhouse.database}.${config.cdr.clickhouse.table}` : `embedded spool ${paths.spoolDir}`, state: this.cdr.state}
          : {enabled: false, target: null, state: 'off'},
        hep: this.hep.isOn ? {enabled: true, target: this.hep.status().endpoint, state: this.hep.state} : {enabled: false, target: null, state: 'off'},
      },
    }
  }

  cdrStatus(): CdrStatus {
    if (this.cdr) return this.cdr.status()
    const spoolDir = this.loaded.paths.spoolDir
    return {enabled: false, store: 'off', target: null, spoolDir, spool: {segments: 0, bytes: 0}, pendingRows: 0, oldestPendingAt: null, lastSuccessAt: null, lastError: null, nextRetryAt: null, rowsWritten: 0, batchesWritten: 0, failedAttempts: 0, dedup: null, nodeColumn: null}
  }

  async cdrFlush(timeoutMs: number): Promise<CdrStatus> {
    if (!this.cdr) throw new CCError('CC_ERR_CDR_DISABLED')
    return this.cdr.flush(timeoutMs)
  }

  hepStatus(): HepStatus {
    return this.hep.status()
  }

  hepEnable(params: AdminParsedParams<'hep.enable'>): Promise<HepStatus> {
    if (this.isDraining) throw new CCError('CC_ERR_DRAINING')
    return this.hep.enable({endpoint: params.endpoint, captureId: params.capture_id, password: params.password, ttlS: params.ttl_s, rtcp: params.rtcp}, 'command')
  }

  hepDisable(): Promise<HepStatus> {
    return this.hep.disable('disabled')
  }

  /** What the collector made of one trace (`tracing.trace`). */
  tracingTrace(traceId: string): TracingTraceResult {
    if (!this.tracing) return {enabled: false, endpoint: null, state: 'off', exportedSpans: 0, failedSpans: 0}
    return {enabled: true, endpoint: this.tracing.endpoint, state: this.tracing.state, ...this.tracing.traceExport(traceId)}
  }

  /**
   * Re-reads the config file (the options' `reload`), validated by the same schema. A file that
   * cannot be read or is invalid is refused (CC_ERR_CONFIG_RELOAD_REFUSED) and nothing changes.
   * Otherwise trunks, tenants, dialplans and security apply to the calls that start from now on
   * (a call up keeps the config it started with); other changed keys are reported as needing a
   * restart, in the result and in the log.
   */
  reloadConfig(trigger: 'command' | 'SIGHUP'): ConfigReloadResult {
    if (this.isDraining) throw new CCError('CC_ERR_DRAINING')
    const reload = this.options.reload
    let next: LoadedConfig
    try {
      if (reload === undefined) throw new CCError('CC_ERR_INTERNAL', {detail: 'this daemon was started without a way to read its config again'})
      next = reload()
    } catch (error) {
      const failure = toCCError(error)
      const file = this.loaded.file ?? String(failure.details.file ?? '(built-in defaults)')
      this.log.error({trigger, code: failure.code, err: failure.message, file}, 'config reload refused; the running config stays')
      throw new CCError('CC_ERR_CONFIG_RELOAD_REFUSED', {file, cause: failure.code, detail: `${failure.code}: ${failure.message}`}, {cause: error})
    }
    const {applied, restartRequired} = classifyChanges(this.running, next.config)
    this.running = mergeReloaded(this.running, next.config)
    this.sip?.reconfigure(this.running)
    this.reconfigureWebRtc(applied)
    // A CDR table migrated since (cdr migrate --node-column) is looked at again before the next batch.
    this.cdr?.recheckTable()
    this.reloadedAt = new Date()
    const result: ConfigReloadResult = {file: next.file ?? null, reloadedAt: this.reloadedAt.toISOString(), applied, restartRequired, activeCalls: this.calls.activeCount}
    this.log.info({trigger, file: result.file, applied, restartRequired, activeCalls: result.activeCalls}, 'config reloaded')
    if (restartRequired.length > 0) this.log.warn({restartRequired}, 'config keys changed that take effect only after a restart (`clutchcall stop` and `start`)')
    return result
  }

  /** SDK sessions opened from now on: the new trunks, and tokens checked against the new tenants. */
  private reconfigureWebRtc(applied: readonly string[]): void {
    const jwt = this.loaded.config.auth.jwt
    if (!this.webrtc || !this.sip?.dialer || !jwt) return
    const tenantsChanged = applied.some((path) => path === 'tenants' || path.startsWith('tenants.'))
    this.webrtc.reconfigure({
      config: this.running,
      dialer: this.sip.dialer,
      ...(tenantsChanged ? {verifier: new JwtVerifier(jwt, new Set(this.running.tenants.map((tenant) => tenant.id)))} : {}),
    })
  }

  /**
   * Starts the drain and returns at once; `stopped` resolves when it is over. Health probes get
   * 503 from now on; new INVITEs are still taken for the grace (sip.drain_grace_s, while a
   * balancer probes the gateway), within the timeout.
   */
  requestStop(timeoutMs: number): StopResult {
    if (this.draining === undefined) {
      const deadlineMs = Date.now() + timeoutMs
      this.drainGraceMs = this.sip?.drain({graceMs: this.running.sip.drain_grace_s * 1000, deadlineMs}) ?? 0
      this.draining = this.drain(timeoutMs, deadlineMs).finally(this.markStopped)
    }
    return {pid: process.pid, activeCalls: this.calls.activeCount, timeoutMs, graceMs: this.drainGraceMs}
  }

  /** Forces the end of a drain already under way: remaining calls are hung up now. */
  async forceStop(): Promise<void> {
    this.log.warn({activeCalls: this.calls.activeCount}, 'forced stop: hanging up every call now')
    this.sip?.endDrainGrace()
    this.endGraceWait()
    await this.calls.hangupAll(NORMAL_CLEARING)
  }

  private async drain(timeoutMs: number, deadlineMs: number): Promise<void> {
    // Let the answer to `daemon.stop` go out before connections start closing.
    await new Promise((resolve) => setImmediate(resolve))
    // SDK clients do not come through the SIP balancer: their new offers are refused at once.
    this.webrtc?.drain()
    if (this.drainGraceMs > 0) {
      this.log.info({activeCalls: this.calls.activeCount, timeoutMs, graceMs: this.drainGraceMs}, 'draining: health probes (OPTIONS) get 503; new calls are still taken for the grace period')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.drainGraceMs)
        this.endGraceWait = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.sip?.endDrainGrace()
    }
    this.log.info({activeCalls: this.calls.activeCount, timeoutMs}, 'draining: taking no new calls')
    const emptied = await this.calls.waitUntilEmpty(Math.max(0, deadlineMs - Date.now()))
    if (!emptied) {
      this.log.warn({activeCalls: this.calls.activeCount}, 'drain timeout: hanging up the remaining calls with cause 16')
      await this.calls.hangupAll(NORMAL_CLEARING)
    }
    await this.releaseListeners()
    this.log.info('stopped')
  }

  private async releaseListeners(): Promise<void> {
    this.callMetrics.stop()
    // Before SIP: the SDK sessions' calls still get their BYEs out.
    await this.webrtc?.stop().catch((error: unknown) => this.log.warn({err: error}, 'WebRTC endpoint stop failed'))
    await this.quic?.stop().catch((error: unknown) => this.log.warn({err: error}, 'QUIC listener stop failed'))
    this.idleCollector?.stop()
    await this.sip?.stop().catch((error: unknown) => this.log.warn({err: error}, 'SIP engine stop failed'))
    await this.media?.stop().catch((error: unknown) => this.log.warn({err: error}, 'media engine stop failed'))
    // After SIP and media: the last BYEs and RTCP BYEs of a drain are captured too.
    await this.hep.stop().catch((error: unknown) => this.log.warn({err: error}, 'HEP sink stop failed'))
    // After the calls: the last hangups of a drain still write their CDRs.
    await this.cdr?.stop().catch((error: unknown) => this.log.warn({err: error}, 'CDR sink stop failed'))
    // After the calls too: the last calls' spans are ended and sent (bounded: a collector that is down does not hold the stop).
    await this.tracing?.stop().catch((error: unknown) => this.log.warn({err: error}, 'tracing sink stop failed'))
    await Promise.allSettled([this.metricsServer?.stop(), this.admin.stop()])
    // Only our own socket: a failed start must not remove another daemon's.
    if (this.adminListening) rmSync(this.loaded.socketPath, {force: true})
    rmSync(this.loaded.paths.pidFile, {force: true})
  }
}
