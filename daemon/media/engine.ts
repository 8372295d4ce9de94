// The media engine: RTP streams spread over worker-thread shards, so media
// keeps its 20 ms pace whatever the main thread (SIP, admin, telemetry) is
// doing, and a gateway uses every core. Streams go to the least-loaded shard
// unless a hint pins them (both legs of a relay must share a shard). A shard
// that dies is reported, its streams end with their last quality, and it is
// restarted; the gateway carries on.
import {EventEmitter} from 'node:events'
import {mkdirSync} from 'node:fs'
import {isAbsolute, join, relative, resolve} from 'node:path'
import type {Logger} from 'pino'
import type {StreamCounters} from '../../src/media/rtp-stream.js'
import type {MediaQuality} from '../calls/call.js'
import {percentile} from './lag-monitor.js'
import {MediaStream, type StreamEndReason, type StreamOwner} from './media-stream.js'
import {unpackPiped} from './piped-rtp.js'
import {splitPortRange, type PortShare} from './port-pool.js'
import type {RtcpCaptureReport, ShardEvent, ShardInit} from './protocol.js'
import {ShardClient, ShardReplyError, type ShardFailedError} from './shard-client.js'

export interface MediaEngineOptions {
  /** Local address of every RTP socket (rtp.address). */
  readonly address: string
  readonly portMin: number
  readonly portMax: number
  /** Worker threads; the caller resolves `auto` to os.availableParallelism(). */
  readonly shards: number
  readonly recordingsDir: string
  readonly log: Logger
  /** Per-stream quality reports; default 1000 ms. */
  readonly qualityIntervalMs?: number
  /** Period of each shard's lag probe; default 10 ms. */
  readonly lagProbeIntervalMs?: number
  /** Mean RTCP interval of each stream; default 5000 ms. */
  readonly rtcpIntervalMs?: number
  /** Load libopus in every shard at start (the config uses Opus): ~100 ms per shard then, not a stall on the first Opus call. */
  readonly preloadOpus?: boolean
  /** The shard entry point; default shard-worker.js beside this file. */
  readonly workerUrl?: URL
}

/** One second of a shard's event-loop lag. */
export interface ShardLag {
  readonly shard: number
  /** One sample per probe, in µs. */
  readonly samplesUs: Float64Array
  readonly p50Us: number
  readonly p99Us: number
  readonly maxUs: number
}

export interface ShardStatus {
  readonly shard: number
  readonly running: boolean
  readonly streams: number
  readonly restarts: number
}

export interface MediaEngineEvents {
  quality: [stream: MediaStream, quality: MediaQuality, counters: StreamCounters]
  lag: [lag: ShardLag]
  'stream-ended': [stream: MediaStream, final: MediaQuality, reason: StreamEndReason]
  /** A mode failed and stopped (a recording that could not be written); the stream carries on in silence. */
  'stream-error': [stream: MediaStream, message: string]
  'shard-failed': [shard: number, error: Error]
  /** An RTCP report sent or received by a stream, while RTCP capture is on (setRtcpCapture). */
  rtcp: [report: RtcpCaptureReport]
}

export class MediaPortsExhaustedError extends Error {
  constructor(options: Pick<MediaEngineOptions, 'portMin' | 'portMax'>, streams: number) {
    super(`no free RTP port pair in rtp.port_min..rtp.port_max (${options.portMin}-${options.portMax}) on any media shard, with ${streams} streams open`)
    this.name = 'MediaPortsExhaustedError'
  }
}

/** A shard is restarted after a failure at most this often per minute; beyond that it stays down. */
export const MAX_RESTARTS_PER_MINUTE = 3
const STOP_TIMEOUT_MS = 5000

interface ShardSlot {
  client: ShardClient | undefined
  readonly init: ShardInit
  streams: number
  restarts: number[]
}

export class MediaEngine extends EventEmitter<MediaEngineEvents> {
  private readonly slots: ShardSlot[]
  private readonly streams = new Map<number, MediaStream>()
  private readonly workerUrl: URL
  private nextStreamId = 1
  private roundRobin = 0
  private stopping = false
  private rtcpCapture = false

  private readonly owner: StreamOwner = {
    recordingPath: (stream, file) => this.recordingPath(stream, file),
    forget: (stream, final, reason) => {
      if (!this.streams.delete(stream.id)) return
      const slot = this.slots[stream.shard]
      if (slot) slot.streams--
      this.emit('stream-ended', stream, final, reason)
    },
  }

  private constructor(
    private readonly options: MediaEngineOptions,
    shares: readonly PortShare[],
  ) {
    super()
    this.workerUrl = options.workerUrl ?? new URL('./shard-worker.js', import.meta.url)
    this.slots = shares.map((share, shard) => ({
      client: undefined,
      streams: 0,
      restarts: [],
      init: {
        shard,
        address: options.address,
        firstPort: share.firstPort,
        pairCount: share.pairCount,
        qualityIntervalMs: options.qualityIntervalMs ?? 1000,
        lagProbeIntervalMs: options.lagProbeIntervalMs ?? 10,
        rtcpIntervalMs: options.rtcpIntervalMs ?? 5000,
        ...(options.preloadOpus === true ? {preloadOpus: true} : {}),
      },
    }))
  }

  /** Starts every shard; fails (with nothing left running) if one cannot start. */
  static async start(options: MediaEngineOptions): Promise<MediaEngine> {
    mkdirSync(options.recordingsDir, {recursive: true, mode: 0o700})
    const engine = new MediaEngine(options, splitPortRange(options.portMin, options.portMax, options.shards))
    const started = await Promise.allSettled(engine.slots.map((slot) => engine.spawn(slot)))
    const failure = started.find((result) => result.status === 'rejected')
    if (failure !== undefined) {
      await engine.stop()
      throw failure.reason
    }
    options.log.info({shards: options.shards, address: options.address, portMin: options.portMin, portMax: options.portMax}, 'media engine started')
    return engine
  }

  get shardCount(): number {
    return this.slots.length
  }

  get streamCount(): number {
    return this.streams.size
  }

  status(): ShardStatus[] {
    return this.slots.map((slot) => ({shard: slot.init.shard, running: slot.client?.ready ?? false, streams: slot.streams, restarts: slot.restarts.length}))
  }

  /**
   * Opens a stream on a fresh even/odd port pair. With `shardHint` it goes to
   * that shard (to share it with a stream it will relay to); otherwise to the
   * least-loaded shard, moving on to the next when one has no port left.
   * `piped`: the remote is a transport on this thread (an SDK client's audio); the stream binds no ports and its
   * RTP crosses to and from the shard as messages (MediaStream.sendPiped, onPiped).
   */
  async createStream(request: {readonly callSid: string; readonly shardHint?: number; readonly piped?: boolean}): Promise<MediaStream> {
    if (this.stopping) throw new Error('the media engine is stopping')
    const candidates = request.shardHint === undefined ? this.placementOrder() : [this.slots[request.shardHint]]
    if (candidates.length === 0) throw new Error('no media shard is running')
    for (const slot of candidates) {
      const client = slot?.client
      if (slot === undefined || client === undefined || !client.ready) throw new Error(`media shard ${request.shardHint} is not running`)
      const id = this.nextStreamId++
      // Counted before the bind, so concurrent creations spread over the shards.
      slot.streams++
      try {
        const {localPort} = await client.request({type: 'create', streamId: id, callSid: request.callSid, ...(request.piped === true ? {piped: true} : {})})
        const stream = new MediaStream(id, request.callSid, this.options.address, localPort, client, this.owner)
        this.streams.set(id, stream)
        return stream
      } catch (error) {
        slot.streams--
        if (!(error instanceof ShardReplyError && error.code === 'ports-exhausted')) throw error
      }
    }
    throw new MediaPortsExhaustedError(this.options, this.streams.size)
  }

  /** Closes every stream, then ends the shards. */
  async stop(): Promise<void> {
    this.stopping = true
    await Promise.all(
      this.slots.map(async (slot) => {
        const client = slot.client
        if (client === undefined) return
        const {finals} = await client.stop(STOP_TIMEOUT_MS)
        for (const report of finals) this.streams.get(report.streamId)?.finish('closed', report)
        this.endStreamsOf(slot.init.shard, 'closed')
        slot.client = undefined
      }),
    )
  }

  /** Starts or stops the forwarding of every stream's RTCP reports as 'rtcp' events (HEP capture); shards started later follow it. */
  setRtcpCapture(enabled: boolean): void {
    if (this.rtcpCapture === enabled) return
    this.rtcpCapture = enabled
    for (const slot of this.slots) slot.client?.setRtcpCapture(enabled)
  }

  /** Asks every shard for a full garbage collection (daemon/memory/idle-collection.ts). */
  collectGarbage(): void {
    for (const slot of this.slots) slot.client?.collectGarbage()
  }

  get capturingRtcp(): boolean {
    return this.rtcpCapture
  }

  private placementOrder(): ShardSlot[] {
    const running = this.slots.filter((slot) => slot.client?.ready)
    const start = this.roundRobin++ % Math.max(1, this.slots.length)
    // Least loaded first; among equals, a rotating start so ties spread round-robin.
    const rank = (slot: ShardSlot): number => (slot.init.shard - start + this.slots.length) % this.slots.length
    return running.sort((a, b) => a.streams - b.streams || rank(a) - rank(b))
  }

  private async spawn(slot: ShardSlot): Promise<void> {
    const client = await ShardClient.start(slot.init.shard, {...slot.init, rtcpCapture: this.rtcpCapture}, this.workerUrl)
    if (this.stopping) {
      await client.stop(STOP_TIMEOUT_MS)
      return
    }
    slot.client = client
    // The switch may have flipped while the worker started.
    if (this.rtcpCapture) client.setRtcpCapture(true)
    client.on('event', (event) => this.route(slot.init.shard, event))
    client.on('failed', (error) => this.shardFailed(slot, client, error))
  }

  private route(shard: number, event: ShardEvent): void {
    switch (event.type) {
      case 'quality':
        for (const report of event.reports) {
          const stream = this.streams.get(report.streamId)
          if (stream === undefined) continue
          stream.applyQuality(report)
          this.emit('quality', stream, report.quality, report.counters)
        }
        return
      case 'lag': {
        const samples = event.samplesUs
        this.emit('lag', {shard, samplesUs: samples, p50Us: percentile(samples, 50), p99Us: percentile(samples, 99), maxUs: percentile(samples, 100)})
        return
      }
      case 'play-ended':
        this.streams.get(event.streamId)?.playEnded(event.requestId, event.outcome)
        return
      case 'tap':
        this.streams.get(event.streamId)?.deliverTap(event)
        return
      case 'piped-rtp':
        unpackPiped(event.packed, this.deliverPiped)
        return
      case 'stream-error': {
        const stream = this.streams.get(event.streamId)
        if (stream === undefined) return
        this.options.log.warn({call_sid: stream.callSid, stream: stream.id, shard, err: event.message}, 'media stream error')
        this.emit('stream-error', stream, event.message)
        return
      }
      case 'rtcp':
        if (!this.rtcpCapture) return
        for (const report of event.reports) this.emit('rtcp', report)
        return
      case 'ready':
      case 'reply':
        return
    }
  }

  private readonly deliverPiped = (streamId: number, datagram: Buffer): void => {
    this.streams.get(streamId)?.deliverPiped(datagram)
  }

  private shardFailed(slot: ShardSlot, client: ShardClient, error: ShardFailedError): void {
    if (slot.client !== client) return
    slot.client = undefined
    const shard = slot.init.shard
    const lost = this.endStreamsOf(shard, 'shard-failed')
    this.options.log.error({shard, err: error, streams: lost}, 'media shard failed; its streams ended')
    this.emit('shard-failed', shard, error)
    if (this.stopping) return
    const now = Date.now()
    slot.restarts = slot.restarts.filter((at) => now - at < 60_000)
    if (slot.restarts.length >= MAX_RESTARTS_PER_MINUTE) {
      this.options.log.error({shard}, `media shard failed ${MAX_RESTARTS_PER_MINUTE} times within a minute; it stays down`)
      return
    }
    slot.restarts.push(now)
    this.spawn(slot).then(
      () => this.options.log.info({shard}, 'media shard restarted'),
      (restartError: unknown) => this.options.log.error({shard, err: restartError}, 'media shard could not be restarted'),
    )
  }

  /** Ends the streams still registered on a shard, with their last quality; returns how many. */
  private endStreamsOf(shard: number, reason: StreamEndReason): number {
    const ending = [...this.streams.values()].filter((stream) => stream.shard === shard)
    for (const stream of ending) stream.finish(reason)
    const slot = this.slots[shard]
    if (slot) slot.streams = 0
    return ending.length
  }

  private recordingPath(stream: MediaStream, file: string | undefined): string {
    const directory = resolve(this.options.recordingsDir)
    const path = resolve(directory, file ?? `${stream.callSid}-${stream.id}.wav`)
    const inside = relative(directory, path)
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) throw new Error(`recording file ${file} is outside the recordings directory ${directory}`)
    return join(directory, inside)
  }
}
