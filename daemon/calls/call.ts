// One call as the registry sees it: identity, state, timestamps, media quality
// and outcome. Transports (SIP, WebRTC) drive it through a small surface and
// give it the means to hang itself up; it publishes the call events.
import type {Logger} from 'pino'
import type {CallState, CallSummary, ChannelTransfer} from '../../src/calls/events.js'
import type {CallDirection, CallStatus, CdrRecord} from '../../src/cdr/record.js'
import {reportedMos} from '../../src/media/quality.js'
import {randomHex} from '../../src/random-hex.js'
import type {StreamQuality} from '../../src/media/rtp-stream-types.js'
import type {CallRegistry, RegisteredCall} from './registry.js'
import type {CallStageDone, CallTransport, HeaderCarrier} from './stage-events.js'

export const newCallSid = (): string => `CA${randomHex(16)}`

export interface CallInit {
  readonly tenant: string
  readonly trunk: string
  readonly direction: CallDirection
  readonly from: string
  readonly to: string
  readonly sipCallId: string
  /** When the call's first message arrived, epoch ms (default: now). */
  readonly receivedAtMs?: number
  /** Context propagation headers of the inbound INVITE (`traceparent`, `tracestate`), when present. */
  readonly propagation?: HeaderCarrier
  /** Default `sip`. */
  readonly transport?: CallTransport
}

/** The trace id of a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`), when there is one. */
const traceIdOf = (traceparent: string | undefined): string | undefined => /^[\da-f]{2}-([\da-f]{32})-/.exec(traceparent ?? '')?.[1]

/** Media figures of the call's (A-leg) stream, cumulative since the stream began (the media engine's own type). */
export type MediaQuality = StreamQuality

export interface CallEnding {
  readonly cause: number
  readonly status: CallStatus
}

const round = (value: number, digits: number): number => Number(value.toFixed(digits))

const hasNewPackets = (now: MediaQuality, before: MediaQuality | undefined): boolean =>
  now.packetsSent !== (before?.packetsSent ?? 0) || now.packetsReceived !== (before?.packetsReceived ?? 0)

export class Call implements RegisteredCall {
  readonly sid = newCallSid()
  readonly startedAt = Date.now()
  readonly log: Logger
  private answeredAt: number | null = null
  private endedAt: number | null = null
  private state: CallState = 'ringing'
  private quality: MediaQuality | undefined
  private codec = ''
  private currentNode: string | null = null
  private recordingUrl = ''
  private agentId = ''
  private ending: CallEnding | undefined
  private terminate: ((cause: number) => Promise<void>) | undefined
  private markEnded: () => void = () => {}
  /** Resolves with the CDR when the call has ended. */
  readonly ended: Promise<CdrRecord>

  constructor(
    readonly init: CallInit,
    private readonly registry: CallRegistry,
    parentLog: Logger,
  ) {
    let resolveEnded: (record: CdrRecord) => void = () => {}
    this.ended = new Promise((resolve) => (resolveEnded = resolve))
    this.markEnded = () => resolveEnded(this.record)
    registry.add(this)
    const context: HeaderCarrier = {}
    registry.stage({
      kind: 'call.begin',
      call_sid: this.sid,
      tenant_id: init.tenant,
      trunk_id: init.trunk,
      direction: init.direction,
      transport: init.transport ?? 'sip',
      sip_call_id: init.sipCallId,
      start_ms: init.receivedAtMs ?? this.startedAt,
      incoming: init.propagation ?? {},
      context,
    })
    // The tracing sink (when on) has put the call's trace context in `context`: the per-call logger carries its trace id.
    const traceId = traceIdOf(context.traceparent)
    this.log = parentLog.child({call_sid: this.sid, sip_call_id: init.sipCallId, ...(traceId === undefined ? {} : {trace_id: traceId})})
    registry.publish({
      type: 'CHANNEL_CREATE',
      call_sid: this.sid,
      timestamp_ms: this.startedAt,
      tenant_id: init.tenant,
      trunk_id: init.trunk,
      direction: init.direction,
      from_number: init.from,
      to_number: init.to,
      sip_call_id: init.sipCallId,
    })
  }

  /** How the transport ends this call (sends BYE, CANCEL or a final response). */
  onHangupRequest(terminate: (cause: number) => Promise<void>): void {
    this.terminate = terminate
  }

  isEnded(): boolean {
    return this.endedAt !== null
  }

  get isAnswered(): boolean {
    return this.answeredAt !== null
  }

  /** Just before the answer reaches the caller (the 200 OK leaves): subscribers record it first (the CDR journal). */
  answering(codec: string): void {
    if (this.answeredAt !== null || this.isEnded()) return
    this.registry.stage({kind: 'call.answering', call_sid: this.sid, codec, at_ms: Date.now()})
  }

  answered(codec: string): void {
    if (this.answeredAt !== null || this.isEnded()) return
    this.answeredAt = Date.now()
    this.state = 'answered'
    this.codec = codec
    this.log.info({codec}, 'answered')
    this.registry.publish({type: 'CHANNEL_ANSWER', call_sid: this.sid, timestamp_ms: this.answeredAt, tenant_id: this.init.tenant, trunk_id: this.init.trunk, codec})
  }

  enteredNode(nodeId: string, nodeType: string): void {
    this.currentNode = nodeId
    this.registry.stage({kind: 'node.entered', call_sid: this.sid, node_id: nodeId, node_type: nodeType, at_ms: Date.now()})
  }

  leftNode(nodeId: string, outcome: string): void {
    this.registry.stage({kind: 'node.left', call_sid: this.sid, node_id: nodeId, outcome, at_ms: Date.now()})
  }

  /** Publishes a finished setup stage (trunk lookup, RTP setup) of this call. */
  stageDone(stage: CallStageDone['stage'], startMs: number, endMs: number, attributes: CallStageDone['attributes'] = {}, error?: string): void {
    this.registry.stage({kind: 'stage', call_sid: this.sid, stage, start_ms: startMs, end_ms: endMs, attributes, ...(error === undefined ? {} : {error})})
  }

  /** Publishes the final error status the A-leg's INVITE was answered with (refused, busy, 487 after a CANCEL). */
  sipFinal(status: number): void {
    this.registry.stage({kind: 'sip.final', call_sid: this.sid, status, at_ms: Date.now()})
  }

  /** Publishes a transfer of this call (CHANNEL_TRANSFER) and logs it. */
  transferEvent(transfer: Pick<ChannelTransfer, 'refer' | 'leg' | 'target' | 'result' | 'sip_status' | 'reason'>): void {
    this.log.info(transfer, 'call transfer')
    this.registry.publish({type: 'CHANNEL_TRANSFER', call_sid: this.sid, timestamp_ms: Date.now(), tenant_id: this.init.tenant, trunk_id: this.init.trunk, ...transfer})
  }

  setRecordingUrl(url: string): void {
    this.recordingUrl = url
  }

  setAgentId(agentId: string): void {
    this.agentId = agentId
  }

  qualityUpdate(quality: MediaQuality): void {
    if (this.isEnded()) return
    this.publishQuality(quality)
  }

  private publishQuality(quality: MediaQuality): void {
    this.quality = quality
    // The call's codec is the one an answered call talks with; a ringing stream's encoding is not the call's codec.
    if (quality.codec && this.answeredAt !== null) this.codec = quality.codec
    this.registry.publish({
      type: 'CHANNEL_QUALITY',
      call_sid: this.sid,
      timestamp_ms: Date.now(),
      tenant_id: this.init.tenant,
      trunk_id: this.init.trunk,
      // The encoding of the packets counted here (what rtp_packets_total is labelled with), answered or not.
      codec: quality.codec || this.codec,
      packets_sent: quality.packetsSent,
      packets_received: quality.packetsReceived,
      packets_lost: quality.packetsLost,
      loss_ratio: quality.lossRatio,
      jitter_ms: round(quality.jitterMs, 3),
      rtt_ms: quality.rttMs,
      estimated_mos: reportedMos(quality.packetsReceived, quality.estimatedMos),
    })
  }

  /** Asks the transport to end the call; resolves when it has ended. */
  async hangup(cause: number): Promise<void> {
    if (this.isEnded()) return
    this.state = 'ending'
    if (this.terminate) {
      // The transport finishes the call once its media has closed; give it a moment, but no more: a BYE
      // to a peer that has gone waits 32 s for an answer (Timer F), and a drain or `calls hangup` must not.
      void this.terminate(cause).catch((error: unknown) => this.log.warn({err: error}, 'hangup: the transport could not end the call cleanly'))
      let timer: NodeJS.Timeout | undefined
      await Promise.race([this.ended, new Promise((resolve) => (timer = setTimeout(resolve, Call.hangupGraceMs)))])
      clearTimeout(timer)
    }
    // A transport that could not end it cleanly still must not leave the call hanging in the registry.
    if (!this.isEnded()) this.finish({cause, status: this.answeredAt === null ? 'canceled' : 'completed'})
  }

  /** How long `hangup` waits for the transport to finish the call before finishing it itself. */
  static hangupGraceMs = 5000

  /** Records the end: the last quality figures, the CDR in CHANNEL_HANGUP_COMPLETE, removal from the registry. */
  finish(ending: CallEnding, finalQuality?: MediaQuality): void {
    if (this.isEnded()) return
    // Packets of an unanswered call since its last report: reported once more, with their encoding, since its CDR has no codec to label them with.
    if (finalQuality && this.answeredAt === null && finalQuality.codec !== '' && hasNewPackets(finalQuality, this.quality)) this.publishQuality(finalQuality)
    if (finalQuality) this.quality = finalQuality
    this.ending = ending
    this.endedAt = Date.now()
    const record = this.record
    this.log.info({status: record.status, q850_cause: record.q850_cause, duration_seconds: record.duration_seconds, estimated_mos: record.estimated_mos}, 'call ended')
    this.registry.publish({type: 'CHANNEL_HANGUP_COMPLETE', timestamp_ms: this.endedAt, ...record})
    this.registry.remove(this.sid)
    this.markEnded()
  }

  /** The CDR of DESIGN §8: final once the call has ended; while it is up, as if it ended now (the journal's checkpoints). */
  get record(): CdrRecord {
    const ending = this.ending
    const end = this.endedAt ?? Date.now()
    const quality = this.quality
    const receivedMedia = (quality?.packetsReceived ?? 0) > 0
    return {
      call_sid: this.sid,
      tenant_id: this.init.tenant,
      trunk_id: this.init.trunk,
      direction: this.init.direction,
      from_number: this.init.from,
      to_number: this.init.to,
      start_timestamp_ms: this.startedAt,
      answer_timestamp_ms: this.answeredAt,
      end_timestamp_ms: end,
      duration_seconds: this.answeredAt === null ? 0 : Math.max(0, Math.round((end - this.answeredAt) / 1000)),
      q850_cause: ending?.cause ?? 16,
      status: this.answeredAt === null ? (ending?.status ?? 'failed') : 'completed',
      codec: this.codec,
      packets_sent: quality?.packetsSent ?? 0,
      packets_received: quality?.packetsReceived ?? 0,
      packets_lost: quality?.packetsLost ?? 0,
      bytes_sent: quality?.bytesSent ?? 0,
      // Without received media there is nothing to rate: 0 rather than a perfect score.
      jitter_ms: round(receivedMedia ? (quality?.jitterMs ?? 0) : 0, 3),
      estimated_mos: reportedMos(quality?.packetsReceived ?? 0, quality?.estimatedMos ?? 0) ?? 0,
      recording_url: this.recordingUrl,
      agent_id: this.agentId,
    }
  }

  summary(): CallSummary {
    return {
      call_sid: this.sid,
      sip_call_id: this.init.sipCallId,
      tenant_id: this.init.tenant,
      trunk_id: this.init.trunk,
      direction: this.init.direction,
      from_number: this.init.from,
      to_number: this.init.to,
      state: this.state,
      start_timestamp_ms: this.startedAt,
      answer_timestamp_ms: this.answeredAt,
      codec: this.codec,
      jitter_ms: round(this.quality?.jitterMs ?? 0, 3),
      loss_ratio: this.quality?.lossRatio ?? 0,
      estimated_mos: reportedMos(this.quality?.packetsReceived ?? 0, this.quality?.estimatedMos ?? 0),
      node: this.currentNode,
    }
  }
}
