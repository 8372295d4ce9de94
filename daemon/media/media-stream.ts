// The main thread's handle on one RTP stream living in a media shard. Every
// method is a message to that shard; quality updates, tapped audio and the
// end of plays come back as events the engine routes here.
import {EventEmitter} from 'node:events'
import type {PlayOutcome, PlaySource, RtpRemote, StreamCounters} from '../../src/media/rtp-stream.js'
import type {MediaQuality} from '../calls/call.js'
import type {QualityReport} from './protocol.js'
import type {ShardClient} from './shard-client.js'

export type PlayMediaMode = {readonly kind: 'play'; readonly source: PlaySource; readonly loop?: boolean}
/** Records into the engine's recordings directory; `file` defaults to `<callSid>-<streamId>.wav`. */
export type RecordMediaMode = {readonly kind: 'record'; readonly file?: string}
export type MediaMode = {readonly kind: 'silence'} | {readonly kind: 'echo'} | {readonly kind: 'tap'} | PlayMediaMode | RecordMediaMode

export interface TapFrame {
  /** A copy owned by the listener. */
  readonly payload: Uint8Array
  readonly sequenceNumber: number
  readonly timestamp: number
  readonly telephoneEvent: boolean
}

export type StreamEndReason = 'closed' | 'shard-failed'

export interface MediaStreamEvents {
  quality: [quality: MediaQuality, counters: StreamCounters]
  /** The stream is gone, with its last quality: closed, or its shard died. */
  ended: [final: MediaQuality, reason: StreamEndReason]
}

/** What the handle needs from the engine besides its shard. */
export interface StreamOwner {
  /** An absolute path for a recording file name, inside the recordings directory. */
  recordingPath(stream: MediaStream, file: string | undefined): string
  /** The stream has ended; the engine forgets it. */
  forget(stream: MediaStream, final: MediaQuality, reason: StreamEndReason): void
}

export class MediaStreamEndedError extends Error {
  constructor(stream: MediaStream, reason: StreamEndReason) {
    super(`media stream ${stream.id} of ${stream.callSid} has ended (${reason === 'closed' ? 'closed' : 'its media shard failed'})`)
    this.name = 'MediaStreamEndedError'
  }
}

const emptyQuality = (): MediaQuality => ({codec: '', packetsSent: 0, packetsReceived: 0, packetsLost: 0, bytesSent: 0, lossRatio: 0, jitterMs: 0, rttMs: null, estimatedMos: 0})
const emptyCounters = (): StreamCounters => ({
  bytesReceived: 0,
  packetsDropped: 0,
  droppedMalformed: 0,
  droppedForeignSource: 0,
  droppedPayloadType: 0,
  droppedSrtp: 0,
  droppedSrtcp: 0,
  droppedUndecodable: 0,
  duplicates: 0,
  rtcpSent: 0,
  rtcpReceived: 0,
  remoteSsrc: null,
})

export class MediaStream extends EventEmitter<MediaStreamEvents> {
  readonly localRtcpPort: number
  /** Resolves with the final quality when the stream ends, whatever ended it. */
  readonly ended: Promise<MediaQuality>
  private markEnded: (final: MediaQuality) => void = () => {}
  private latest: MediaQuality = emptyQuality()
  private latestCounters: StreamCounters = emptyCounters()
  private endReason: StreamEndReason | undefined
  private closing: Promise<MediaQuality> | undefined
  private readonly plays = new Map<number, (outcome: PlayOutcome) => void>()
  private readonly tapListeners = new Set<(frame: TapFrame) => void>()
  private pipedListener: ((datagram: Buffer) => void) | undefined

  constructor(
    readonly id: number,
    readonly callSid: string,
    readonly localAddress: string,
    readonly localPort: number,
    private readonly client: ShardClient,
    private readonly owner: StreamOwner,
  ) {
    super()
    this.localRtcpPort = localPort + 1
    this.ended = new Promise((resolve) => (this.markEnded = resolve))
  }

  get shard(): number {
    return this.client.index
  }

  get isEnded(): boolean {
    return this.endReason !== undefined
  }

  /** Sets (or changes) the negotiated remote. */
  async setRemote(remote: RtpRemote): Promise<void> {
    this.ensureLive()
    await this.client.request({type: 'set-remote', streamId: this.id, remote})
  }

  /**
   * Switches mode. A play resolves when it has played out ('completed') or
   * was cut short ('interrupted'); a record resolves with the file's path
   * once recording has started; the others once the shard has switched.
   */
  setMode(mode: PlayMediaMode): Promise<PlayOutcome>
  setMode(mode: RecordMediaMode): Promise<{readonly path: string}>
  setMode(mode: Exclude<MediaMode, PlayMediaMode | RecordMediaMode>): Promise<void>
  setMode(mode: MediaMode): Promise<PlayOutcome | {readonly path: string} | void>
  async setMode(mode: MediaMode): Promise<PlayOutcome | {readonly path: string} | void> {
    this.ensureLive()
    if (mode.kind === 'record') {
      const path = this.owner.recordingPath(this, mode.file)
      await this.client.request({type: 'set-mode', streamId: this.id, mode: {kind: 'record', path}})
      return {path}
    }
    if (mode.kind === 'play') {
      const requestId = this.client.allocateRequestId()
      const done = new Promise<PlayOutcome>((resolve) => this.plays.set(requestId, resolve))
      try {
        await this.client.request({type: 'set-mode', streamId: this.id, mode}, requestId)
      } catch (error) {
        this.plays.delete(requestId)
        throw error
      }
      return done
    }
    await this.client.request({type: 'set-mode', streamId: this.id, mode})
  }

  /** Bridges this stream and `other` both ways; both must live in one shard (create `other` with shardHint: this.shard). */
  async relayTo(other: MediaStream): Promise<void> {
    this.ensureLive()
    other.ensureLive()
    if (other.shard !== this.shard) throw new Error(`cannot relay stream ${this.id} (shard ${this.shard}) to stream ${other.id} (shard ${other.shard}): create both in one shard`)
    await this.client.request({type: 'relay', streamId: this.id, peerId: other.id})
  }

  /** In tap mode, sends one frame of audio (in the remote's codec) to the remote now; paced by the caller. */
  inject(payload: Uint8Array): void {
    if (!this.isEnded) this.client.inject(this.id, payload)
  }

  /** For a piped stream: one RTP datagram from its remote, as if it had arrived on its socket (copied; fire and forget). */
  sendPiped(datagram: Uint8Array): void {
    if (!this.isEnded) this.client.pipedRtp(this.id, datagram)
  }

  /** For a piped stream: the RTP it sends to its remote (one listener; each datagram is a view into the message that carried it). */
  onPiped(listener: (datagram: Buffer) => void): void {
    this.pipedListener = listener
  }

  /** Listens to the received audio in tap mode; returns the function that stops listening. */
  onTap(listener: (frame: TapFrame) => void): () => void {
    this.tapListeners.add(listener)
    return () => this.tapListeners.delete(listener)
  }

  /** The latest quality the shard reported (every second) or the final one. */
  quality(): MediaQuality {
    return this.latest
  }

  counters(): StreamCounters {
    return this.latestCounters
  }

  /** Closes the stream (RTCP BYE, ports freed) and resolves with its final quality. */
  close(): Promise<MediaQuality> {
    if (this.isEnded) return this.ended
    this.closing ??= this.client.request({type: 'close', streamId: this.id}).then(
      (report) => {
        this.finish('closed', report)
        return this.latest
      },
      () => {
        // The shard failed under us: the stream ends with what we last knew.
        this.finish('shard-failed')
        return this.latest
      },
    )
    return this.closing
  }

  /** @internal A report from the shard. */
  applyQuality(report: QualityReport): void {
    if (this.isEnded) return
    this.latest = report.quality
    this.latestCounters = report.counters
    this.emit('quality', report.quality, report.counters)
  }

  /** @internal The play started by request `requestId` ended. */
  playEnded(requestId: number, outcome: PlayOutcome): void {
    this.plays.get(requestId)?.(outcome)
    this.plays.delete(requestId)
  }

  /** @internal Audio received in tap mode. */
  deliverTap(frame: TapFrame): void {
    for (const listener of this.tapListeners) listener(frame)
  }

  /** @internal RTP a piped stream sent. */
  deliverPiped(datagram: Buffer): void {
    this.pipedListener?.(datagram)
  }

  /** @internal The stream ends now, with `report` when the shard gave a final one. */
  finish(reason: StreamEndReason, report?: QualityReport): void {
    if (this.isEnded) return
    if (report !== undefined) {
      this.latest = report.quality
      this.latestCounters = report.counters
    }
    this.endReason = reason
    for (const settle of this.plays.values()) settle('interrupted')
    this.plays.clear()
    this.tapListeners.clear()
    this.pipedListener = undefined
    this.owner.forget(this, this.latest, reason)
    this.markEnded(this.latest)
    this.emit('ended', this.latest, reason)
  }

  private ensureLive(): void {
    if (this.endReason !== undefined) throw new MediaStreamEndedError(this, this.endReason)
  }
}
