// The metrics sink: turns call events into the call and RTP metric families.
// It only listens to the registry; calls never touch a metric.
import type {ChannelHangupComplete, ChannelQuality} from '../../../src/calls/events.js'
import type {CallRegistry} from '../../calls/registry.js'
import type {MetricFamilies} from './families.js'

interface StreamCounts {
  readonly tenant: string
  codec: string
  sent: number
  received: number
  lost: number
}

/** How often the per-tenant loss ratio gauge is recomputed. */
export const LOSS_INTERVAL_MS = 1000

export class CallMetrics {
  private readonly streams = new Map<string, StreamCounts>()
  /** Per tenant, packets received and lost since the last loss-ratio tick. */
  private readonly interval = new Map<string, {received: number; lost: number}>()
  private readonly timer: NodeJS.Timeout

  constructor(
    registry: CallRegistry,
    private readonly metrics: MetricFamilies,
  ) {
    registry.on('CHANNEL_CREATE', (event) => {
      metrics.callsActive.inc({tenant: event.tenant_id, trunk: event.trunk_id})
      this.streams.set(event.call_sid, {tenant: event.tenant_id, codec: '', sent: 0, received: 0, lost: 0})
    })
    registry.on('CHANNEL_QUALITY', (event) => this.countPackets(event.call_sid, event))
    registry.on('CHANNEL_HANGUP_COMPLETE', (event) => this.callEnded(event))
    registry.on('refused', (attempt) => metrics.callAttemptsRefusedTotal.inc({tenant: attempt.tenant_id, trunk: attempt.trunk_id, reason: attempt.reason}))
    this.timer = setInterval(() => this.updateLossRatio(), LOSS_INTERVAL_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Adds what the stream did since its last report to the packet counters and the tenant's interval. */
  private countPackets(callSid: string, now: Pick<ChannelQuality, 'codec' | 'packets_sent' | 'packets_received' | 'packets_lost'>): void {
    const stream = this.streams.get(callSid)
    if (!stream || now.codec === '') return
    const sent = Math.max(0, now.packets_sent - stream.sent)
    const received = Math.max(0, now.packets_received - stream.received)
    const lost = Math.max(0, now.packets_lost - stream.lost)
    if (sent > 0) this.metrics.rtpPacketsTotal.inc({direction: 'tx', codec: now.codec}, sent)
    if (received > 0) this.metrics.rtpPacketsTotal.inc({direction: 'rx', codec: now.codec}, received)
    const tenantInterval = this.interval.get(stream.tenant) ?? {received: 0, lost: 0}
    tenantInterval.received += received
    tenantInterval.lost += lost
    this.interval.set(stream.tenant, tenantInterval)
    Object.assign(stream, {codec: now.codec, sent: now.packets_sent, received: now.packets_received, lost: now.packets_lost})
  }

  private callEnded(event: ChannelHangupComplete): void {
    // An unanswered call has no codec (docs/call-accounting.md); its packets keep the encoding its quality reports gave.
    const stream = this.streams.get(event.call_sid)
    this.countPackets(event.call_sid, event.codec === '' && stream ? {...event, codec: stream.codec} : event)
    this.streams.delete(event.call_sid)
    const {tenant_id: tenant, trunk_id: trunk, status: result} = event
    this.metrics.callsActive.dec({tenant, trunk})
    this.metrics.callsTotal.inc({tenant, trunk, direction: event.direction, result})
    this.metrics.callDurationSeconds.observe({tenant, trunk, result}, event.duration_seconds)
    // The same per-call values as the CDR (DESIGN §5), for calls that carried media.
    if (event.codec !== '' && event.packets_received > 0) {
      this.metrics.jitterMs.observe({tenant}, event.jitter_ms)
      this.metrics.estimatedMos.observe({tenant}, event.estimated_mos)
    }
  }

  private updateLossRatio(): void {
    const activeTenants = new Set([...this.streams.values()].map((stream) => stream.tenant))
    for (const tenant of new Set([...activeTenants, ...this.interval.keys()])) {
      const counts = this.interval.get(tenant)
      const expected = (counts?.received ?? 0) + (counts?.lost ?? 0)
      this.metrics.rtpLossRatio.set({tenant}, expected > 0 ? (counts?.lost ?? 0) / expected : 0)
    }
    this.interval.clear()
  }
}
