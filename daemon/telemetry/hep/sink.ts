// The HEP sink (DESIGN §9): while capture is on, every SIP message the
// gateway sends or receives (and, unless switched off, every RTCP report its
// media streams send or receive) becomes one HEPv3 frame on one connected
// UDP socket to the collector. It subscribes to the SIP engine's packets, the
// media engine's RTCP reports and the call registry; nothing calls it from a
// call. While capture is off it is subscribed to nothing and costs nothing.
//
// Frames are encoded here, on the main thread, into a batch that a sender
// thread (sender.ts, sender-worker.ts) puts on the wire: the one system call
// per frame stays off the thread that runs signalling.
//
// Capture never blocks or fails a call: whatever goes wrong (the collector's
// port closed, which comes back as ICMP port unreachable on the connected
// socket; no route; a message too large for one frame; a sender that is
// behind) is counted, remembered as the last error, and logged at most every
// LOG_EVERY_MS.
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'
import type {Logger} from 'pino'
import type {HepStatus} from '../../../src/admin/protocol.js'
import type {ChannelCreate, ChannelHangupComplete} from '../../../src/calls/events.js'
import type {Config} from '../../../src/config/schema.js'
import {CCError} from '../../../src/errors.js'
import {HEP_PROTOCOL_RTCP_JSON, HEP_PROTOCOL_SIP, type HepFrameInit} from '../../../src/hep/encoder.js'
import {checkHepEndpoint} from '../../../src/hep/params.js'
import type {SipPacketEvent} from '../../../src/sip/transport/types.js'
import type {CallRegistry} from '../../calls/registry.js'
import type {RtcpCaptureReport} from '../../media/protocol.js'
import type {MetricFamilies} from '../metrics/families.js'
import {HepSender} from './sender.js'
import type {SenderCounts} from './sender-protocol.js'

const LOG_EVERY_MS = 10_000
/** How long the last RTCP reports of an ended call (the RTCP BYE) still find its Call-ID. */
const ENDED_CALL_LINGER_MS = 30_000
/** How long a stopping daemon waits for queued frames to leave. */
const STOP_FLUSH_MS = 1000

/** What the sink needs from the SIP engine. */
export interface HepPacketSource {
  onPacket(listener: (packet: SipPacketEvent) => void): () => void
  correlationIdOf(sipCallId: string): string
}

/** What the sink needs from the media engine. */
export interface HepRtcpSource {
  on(event: 'rtcp', listener: (report: RtcpCaptureReport) => void): unknown
  off(event: 'rtcp', listener: (report: RtcpCaptureReport) => void): unknown
  setRtcpCapture(enabled: boolean): void
}

export interface HepEnableRequest {
  readonly endpoint?: string | undefined
  readonly captureId?: number | undefined
  readonly password?: string | undefined
  readonly ttlS?: number | undefined
  readonly rtcp?: boolean | undefined
}

export interface HepSinkOptions {
  /** heplify with its capture id resolved (hepCaptureId: `node` is already the node name's number here). */
  readonly config: Omit<Config['heplify'], 'capture_id'> & {readonly capture_id: number}
  readonly calls: CallRegistry
  readonly metrics: MetricFamilies
  readonly log: Logger
}

interface Session {
  readonly endpoint: string
  readonly address: string
  readonly port: number
  readonly sender: HepSender
  readonly captureId: number
  readonly password: string
  readonly rtcp: boolean
  readonly enabledBy: 'config' | 'command'
  readonly enabledAt: Date
  readonly expiresAt: Date | null
}

type OffReason = NonNullable<HepStatus['lastOffReason']>

export class HepSink {
  private session: Session | undefined
  private packets: HepPacketSource | undefined
  private rtcpSource: HepRtcpSource | undefined
  private unsubscribePackets: (() => void) | undefined
  private ttlTimer: NodeJS.Timeout | undefined
  /** Serializes enable/disable, so two `hep enable` at once cannot leave two senders. */
  private switching: Promise<unknown> = Promise.resolve()
  private stopped = false
  /** What the senders of earlier captures sent, added up when each closed. */
  private earlier = {sip: 0, rtcp: 0, errors: 0}
  /** Frames that could not be encoded (too large, an address a frame cannot carry). */
  private encodeErrors = 0
  private lastEncodeError: {at: number; message: string} | null = null
  private lastErrorOfClosed: {at: number; message: string} | null = null
  private errorsLogged = 0
  private errorLogTimer: NodeJS.Timeout | undefined
  private lastOffReason: OffReason | null = null
  /** call_sid → A-leg SIP Call-ID, for RTCP reports (which know only their call's sid). */
  private readonly callIds = new Map<string, string>()
  private readonly endedCalls: Array<{readonly sid: string; readonly at: number}> = []
  private readonly log: Logger

  private readonly onPacket = (packet: SipPacketEvent): void => this.capturePacket(packet)
  private readonly onRtcp = (report: RtcpCaptureReport): void => this.captureRtcp(report)
  private readonly onCreate = (event: ChannelCreate): void => {
    this.forgetEndedCalls()
    this.callIds.set(event.call_sid, event.sip_call_id)
  }
  private readonly onHangup = (event: ChannelHangupComplete): void => {
    this.endedCalls.push({sid: event.call_sid, at: Date.now()})
  }

  constructor(private readonly options: HepSinkOptions) {
    this.log = options.log.child({sink: 'hep'})
    // Counted here per frame, added to prom-client when it is scraped: `collect` is prom-client's
    // scrape hook, the config option its constructor copies onto the metric.
    for (const counter of [options.metrics.hepFramesSentTotal, options.metrics.hepSendErrorsTotal]) (counter as unknown as {collect: () => void}).collect = () => this.flushMetrics()
  }

  /** The engines to capture from, once they exist (the composition root starts them after the sink). */
  attach(packets: HepPacketSource, rtcp: HepRtcpSource | undefined): void {
    this.packets = packets
    this.rtcpSource = rtcp
  }

  get isOn(): boolean {
    return this.session !== undefined
  }

  /**
   * Switches capture on, or re-targets it when it is on (the new sender is
   * ready before the old one closes, so no frame is lost). Request values
   * override the config's for this capture only; a TTL switches it off by itself.
   */
  enable(request: HepEnableRequest, enabledBy: 'config' | 'command'): Promise<HepStatus> {
    return this.serialize(() => this.switchOn(request, enabledBy))
  }

  disable(reason: OffReason = 'disabled'): Promise<HepStatus> {
    return this.serialize(async () => {
      await this.switchOff(reason)
      return this.status()
    })
  }

  status(): HepStatus {
    const session = this.session
    const {config} = this.options
    const totals = this.totals
    const timeLeftMs = session?.expiresAt ? session.expiresAt.getTime() - Date.now() : null
    return {
      state: session ? 'on' : 'off',
      endpoint: session?.endpoint ?? config.endpoint,
      resolvedAddress: session ? `${session.address.includes(':') ? `[${session.address}]` : session.address}:${session.port}` : null,
      captureId: session?.captureId ?? config.capture_id,
      passwordSet: (session ? session.password : config.password) !== '',
      rtcp: session?.rtcp ?? true,
      enabledBy: session?.enabledBy ?? null,
      enabledAt: session?.enabledAt.toISOString() ?? null,
      expiresAt: session?.expiresAt?.toISOString() ?? null,
      timeLeftS: timeLeftMs === null ? null : Math.max(0, Math.ceil(timeLeftMs / 1000)),
      framesSent: totals.sip + totals.rtcp,
      sipFramesSent: totals.sip,
      rtcpFramesSent: totals.rtcp,
      sendErrors: totals.errors,
      lastError: totals.lastError ? {at: new Date(totals.lastError.at).toISOString(), message: totals.lastError.message} : null,
      lastOffReason: this.lastOffReason,
    }
  }

  /** Frames and errors since the daemon started: earlier captures, the current one, and encoding errors. */
  private get totals(): Omit<SenderCounts, 'seq'> {
    const current = this.session?.sender.totals
    const latest = [current?.lastError ?? null, this.lastErrorOfClosed, this.lastEncodeError].reduce<SenderCounts['lastError']>((newest, error) => (error !== null && (newest === null || error.at > newest.at) ? error : newest), null)
    return {
      sip: this.earlier.sip + (current?.sip ?? 0),
      rtcp: this.earlier.rtcp + (current?.rtcp ?? 0),
      errors: this.earlier.errors + (current?.errors ?? 0) + this.encodeErrors,
      lastError: latest,
    }
  }

  /** One word for `clutchcall status`: `on`, `failing` (on, and the last frame sent was refused), or `off`. */
  get state(): 'on' | 'off' | 'failing' {
    if (!this.session) return 'off'
    const lastError = this.session.sender.totals.lastError
    return lastError !== null && Date.now() - lastError.at < LOG_EVERY_MS ? 'failing' : 'on'
  }

  /** Stops capturing; frames already handed over get a moment to leave. */
  async stop(): Promise<void> {
    await this.serialize(async () => {
      this.stopped = true
      await this.switchOff('stopped', STOP_FLUSH_MS)
    })
  }

  private serialize<T>(step: () => Promise<T>): Promise<T> {
    const next = this.switching.then(step, step)
    this.switching = next.catch(() => undefined)
    return next
  }

  private async switchOn(request: HepEnableRequest, enabledBy: 'config' | 'command'): Promise<HepStatus> {
    const packets = this.packets
    if (this.stopped || packets === undefined) throw new CCError('CC_ERR_HEP_NOT_READY')
    const {config} = this.options
    const endpoint = request.endpoint ?? config.endpoint
    const checked = checkHepEndpoint(endpoint)
    if (!checked.ok) throw new CCError('CC_ERR_USAGE', {detail: request.endpoint === undefined ? `heplify.endpoint: ${checked.problem}` : checked.problem})
    const address = await resolve(checked.value.host)
    const sender = await HepSender.start({address, port: checked.value.port}, (error) => {
      this.log.error({err: error}, 'the HEP sender thread died; capture is off')
      void this.disable('failed')
    }).catch((error: unknown) => {
      throw new CCError('CC_ERR_HEP_SOCKET', {endpoint, detail: error instanceof Error ? error.message : String(error)}, {cause: error})
    })

    const previous = this.session
    const now = new Date()
    const session: Session = {
      endpoint,
      address,
      port: checked.value.port,
      sender,
      captureId: request.captureId ?? config.capture_id,
      password: request.password ?? config.password,
      rtcp: request.rtcp ?? true,
      enabledBy,
      enabledAt: now,
      expiresAt: request.ttlS === undefined ? null : new Date(now.getTime() + request.ttlS * 1000),
    }
    this.session = session
    if (previous) await this.retire(previous.sender)
    this.subscribe(packets, session.rtcp)
    this.errorLogTimer ??= setInterval(() => this.logErrors(), LOG_EVERY_MS)
    this.errorLogTimer.unref()
    clearTimeout(this.ttlTimer)
    this.ttlTimer = undefined
    if (request.ttlS !== undefined) {
      this.ttlTimer = setTimeout(() => {
        this.ttlTimer = undefined
        void this.disable('ttl')
      }, request.ttlS * 1000)
      this.ttlTimer.unref()
    }
    this.options.metrics.hepCaptureEnabled.set(1)
    this.log.info({endpoint, address, port: session.port, capture_id: session.captureId, rtcp: session.rtcp, ttl_s: request.ttlS ?? null, by: enabledBy, retargeted: previous !== undefined}, 'HEP capture on')
    return this.status()
  }

  private async switchOff(reason: OffReason, flushMs?: number): Promise<void> {
    const session = this.session
    clearTimeout(this.ttlTimer)
    this.ttlTimer = undefined
    if (session === undefined) return
    this.session = undefined
    this.lastOffReason = reason
    this.unsubscribe()
    clearInterval(this.errorLogTimer)
    this.errorLogTimer = undefined
    await this.retire(session.sender, flushMs)
    this.logErrors()
    this.options.metrics.hepCaptureEnabled.set(0)
    const totals = this.totals
    this.log.info({reason, endpoint: session.endpoint, frames_sent: totals.sip + totals.rtcp, send_errors: totals.errors}, reason === 'ttl' ? 'HEP capture off: its TTL expired' : 'HEP capture off')
  }

  /** Closes a sender (what it batched still leaves) and keeps its counts. */
  private async retire(sender: HepSender, flushMs?: number): Promise<void> {
    const final = await sender.close(flushMs)
    this.earlier = {sip: this.earlier.sip + final.sip, rtcp: this.earlier.rtcp + final.rtcp, errors: this.earlier.errors + final.errors}
    if (final.lastError !== null && (this.lastErrorOfClosed === null || final.lastError.at > this.lastErrorOfClosed.at)) this.lastErrorOfClosed = final.lastError
  }

  /** Logs new send errors, at most every LOG_EVERY_MS. */
  private logErrors(): void {
    const {errors, lastError} = this.totals
    if (errors <= this.errorsLogged) return
    this.log.warn({endpoint: this.session?.endpoint, send_errors: errors, new_errors: errors - this.errorsLogged, err: lastError?.message}, 'HEP frames cannot be sent (counted; calls are not affected)')
    this.errorsLogged = errors
  }

  private subscribe(packets: HepPacketSource, rtcp: boolean): void {
    if (this.unsubscribePackets === undefined) {
      this.unsubscribePackets = packets.onPacket(this.onPacket)
      // Calls already up have their Call-ID recorded too: their RTCP reports correlate from the first one captured.
      for (const call of this.options.calls.list()) {
        const summary = call.summary()
        this.callIds.set(summary.call_sid, summary.sip_call_id)
      }
      this.options.calls.on('CHANNEL_CREATE', this.onCreate)
      this.options.calls.on('CHANNEL_HANGUP_COMPLETE', this.onHangup)
    }
    const media = this.rtcpSource
    if (media === undefined) return
    media.off('rtcp', this.onRtcp)
    if (rtcp) media.on('rtcp', this.onRtcp)
    media.setRtcpCapture(rtcp)
  }

  private unsubscribe(): void {
    this.unsubscribePackets?.()
    this.unsubscribePackets = undefined
    this.options.calls.off('CHANNEL_CREATE', this.onCreate)
    this.options.calls.off('CHANNEL_HANGUP_COMPLETE', this.onHangup)
    this.callIds.clear()
    this.endedCalls.length = 0
    this.rtcpSource?.off('rtcp', this.onRtcp)
    this.rtcpSource?.setRtcpCapture(false)
  }

  private forgetEndedCalls(): void {
    const horizon = Date.now() - ENDED_CALL_LINGER_MS
    let drop = 0
    while (drop < this.endedCalls.length && (this.endedCalls[drop]?.at ?? Infinity) < horizon) {
      this.callIds.delete(this.endedCalls[drop]?.sid ?? '')
      drop++
    }
    if (drop > 0) this.endedCalls.splice(0, drop)
  }

  private capturePacket(packet: SipPacketEvent): void {
    const session = this.session
    if (session === undefined || this.packets === undefined) return
    const callId = packet.message?.headers.get('call-id')
    const inbound = packet.direction === 'in'
    this.send(session, 'sip', {
      // SIP over TLS is captured decrypted, as the TCP it runs on: HEP's IP protocol has no TLS.
      transport: packet.transport === 'udp' ? 'udp' : 'tcp',
      source: inbound ? packet.remote : packet.local,
      destination: inbound ? packet.local : packet.remote,
      timestampMs: packet.timestamp,
      protocolType: HEP_PROTOCOL_SIP,
      captureId: session.captureId,
      authKey: session.password,
      correlationId: callId === undefined ? undefined : this.packets.correlationIdOf(callId),
      payload: packet.bytes,
    })
  }

  private captureRtcp(report: RtcpCaptureReport): void {
    const session = this.session
    if (session === undefined || !session.rtcp) return
    const correlationId = this.callIds.get(report.callSid) ?? this.options.calls.get(report.callSid)?.summary().sip_call_id
    const outbound = report.direction === 'out'
    this.send(session, 'rtcp', {
      transport: 'udp',
      source: outbound ? report.local : report.remote,
      destination: outbound ? report.remote : report.local,
      timestampMs: report.timestampMs,
      protocolType: HEP_PROTOCOL_RTCP_JSON,
      captureId: session.captureId,
      authKey: session.password,
      correlationId,
      payload: report.json,
    })
  }

  private send(session: Session, kind: 'sip' | 'rtcp', frame: HepFrameInit): void {
    try {
      session.sender.write(frame, kind)
    } catch (error) {
      // A frame that cannot be encoded (larger than 65,535 octets, or an address a frame cannot carry).
      this.encodeErrors++
      this.lastEncodeError = {at: Date.now(), message: error instanceof Error ? error.message : String(error)}
    }
  }

  /** The counters as prom-client reads them at scrape time (one add per scrape instead of one per frame). */
  private readonly reported = {sip: 0, rtcp: 0, errors: 0}
  flushMetrics(): void {
    const {metrics} = this.options
    const totals = this.totals
    if (totals.sip > this.reported.sip) metrics.hepFramesSentTotal.inc({type: 'sip'}, totals.sip - this.reported.sip)
    if (totals.rtcp > this.reported.rtcp) metrics.hepFramesSentTotal.inc({type: 'rtcp'}, totals.rtcp - this.reported.rtcp)
    if (totals.errors > this.reported.errors) metrics.hepSendErrorsTotal.inc(totals.errors - this.reported.errors)
    this.reported.sip = Math.max(this.reported.sip, totals.sip)
    this.reported.rtcp = Math.max(this.reported.rtcp, totals.rtcp)
    this.reported.errors = Math.max(this.reported.errors, totals.errors)
  }
}

/** A resolver that does not answer must not hold `hep enable` (or the start) for long. */
const LOOKUP_TIMEOUT_MS = 3000

const resolve = async (host: string): Promise<string> => {
  if (isIP(host) !== 0) return host
  let timer: NodeJS.Timeout | undefined
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS / 1000}s`)), LOOKUP_TIMEOUT_MS)
    })
    return (await Promise.race([lookup(host), timeout])).address
  } catch (error) {
    throw new CCError('CC_ERR_HEP_ENDPOINT_UNRESOLVABLE', {host, detail: error instanceof Error ? error.message : String(error)}, {cause: error})
  } finally {
    clearTimeout(timer)
  }
}
