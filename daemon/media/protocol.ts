// The messages between the media engine (main thread) and its shards (worker
// threads). Everything here crosses a MessagePort, so it is plain data:
// structured-clonable, no functions, no class instances.
import type {PlayOutcome, PlaySource, RtpRemote, StreamCounters, StreamQuality} from '../../src/media/rtp-stream.js'

/** workerData of a shard. */
export interface ShardInit {
  readonly shard: number
  /** Local address every stream of the shard binds. */
  readonly address: string
  /** The shard's share of the RTP range: `pairCount` even/odd pairs from `firstPort` on. */
  readonly firstPort: number
  readonly pairCount: number
  /** How often per-stream quality is reported. */
  readonly qualityIntervalMs: number
  /** Period of the event-loop lag probe. */
  readonly lagProbeIntervalMs: number
  /** Mean RTCP report interval of the streams (RFC 3550 §6.2 recommends 5 s). */
  readonly rtcpIntervalMs: number
  /** Whether to forward RTCP reports ('rtcp' events) from the start; later changed with the rtcp-capture command. */
  readonly rtcpCapture?: boolean
  /** Load libopus before the shard reports ready, so the first Opus call does not stall the shard's streams while its WebAssembly compiles. */
  readonly preloadOpus?: boolean
}

/** A mode as the engine asks for it: tap and record carry no callback or handle, only data. */
export type ModeSpec =
  | {readonly kind: 'silence'}
  | {readonly kind: 'echo'}
  | {readonly kind: 'tap'}
  | {readonly kind: 'play'; readonly source: PlaySource; readonly loop?: boolean}
  /** `path` is absolute: the engine resolves it inside the recordings directory. */
  | {readonly kind: 'record'; readonly path: string}

interface Request {
  readonly requestId: number
}

export type ShardCommand =
  /**
   * `piped`: the stream's remote is a transport on the main thread (an SDK client's WebRTC track or QUIC
   * datagrams), so its RTP crosses the port as 'piped-rtp' messages instead of a socket pair: no ports are bound.
   */
  | (Request & {readonly type: 'create'; readonly streamId: number; readonly callSid: string; readonly piped?: boolean})
  | (Request & {readonly type: 'set-remote'; readonly streamId: number; readonly remote: RtpRemote})
  | (Request & {readonly type: 'set-mode'; readonly streamId: number; readonly mode: ModeSpec})
  | (Request & {readonly type: 'relay'; readonly streamId: number; readonly peerId: number})
  | (Request & {readonly type: 'close'; readonly streamId: number})
  | (Request & {readonly type: 'shutdown'})
  /** One frame of audio for a stream in tap mode; fire and forget (frames come 50 a second). */
  | {readonly type: 'inject'; readonly streamId: number; readonly payload: Uint8Array}
  /** RTP datagrams from piped streams' remotes (packed: daemon/media/piped-rtp.ts), as if they had arrived on the streams' sockets; fire and forget. */
  | {readonly type: 'piped-rtp'; readonly packed: Uint8Array}
  /** Starts or stops forwarding every RTCP report sent and received ('rtcp' events, for HEP capture); fire and forget. */
  | {readonly type: 'rtcp-capture'; readonly enabled: boolean}
  /** A full garbage collection of the shard's heap, once a load is over (daemon/memory/idle-collection.ts); fire and forget. */
  | {readonly type: 'collect-garbage'}

export type RequestType = Extract<ShardCommand, Request>['type']

/** One RTCP report on the wire, with the addresses it really travelled between. */
export interface RtcpCaptureReport {
  readonly streamId: number
  readonly callSid: string
  readonly direction: 'in' | 'out'
  /** The report as Homer's RTCP JSON (src/hep/rtcp-json.ts), built in the shard so the main thread does not parse RTCP. */
  readonly json: string
  /** Our side: the stream's address and the port the report left from or arrived on. */
  readonly local: {readonly address: string; readonly port: number}
  readonly remote: {readonly address: string; readonly port: number}
  /** Unix ms of the send or the arrival. */
  readonly timestampMs: number
}

export interface QualityReport {
  readonly streamId: number
  readonly quality: StreamQuality
  readonly counters: StreamCounters
}

/** What each request answers with. */
export interface ReplyResults {
  readonly create: {readonly localPort: number}
  readonly 'set-remote': Record<string, never>
  readonly 'set-mode': Record<string, never>
  readonly relay: Record<string, never>
  readonly close: QualityReport
  readonly shutdown: {readonly finals: readonly QualityReport[]}
}

/** Why a shard refused a request, for the engine to act on (try another shard, or give up). */
export type ShardErrorCode = 'ports-exhausted' | 'unknown-stream' | 'invalid' | 'failed'

export type ShardEvent =
  | {readonly type: 'ready'}
  | {readonly type: 'reply'; readonly requestId: number; readonly ok: true; readonly result: ReplyResults[RequestType]}
  | {readonly type: 'reply'; readonly requestId: number; readonly ok: false; readonly code: ShardErrorCode; readonly message: string}
  /** Every stream of the shard, once per quality interval. */
  | {readonly type: 'quality'; readonly reports: readonly QualityReport[]}
  /** A play started by the set-mode request `requestId` has ended. */
  | {readonly type: 'play-ended'; readonly streamId: number; readonly requestId: number; readonly outcome: PlayOutcome}
  | {
      readonly type: 'tap'
      readonly streamId: number
      readonly payload: Uint8Array
      readonly sequenceNumber: number
      readonly timestamp: number
      readonly telephoneEvent: boolean
    }
  /** RTP datagrams piped streams send to their remotes (packed: daemon/media/piped-rtp.ts). */
  | {readonly type: 'piped-rtp'; readonly packed: Uint8Array}
  /** Event-loop lag samples (µs) of the last second, one per lag probe. */
  | {readonly type: 'lag'; readonly samplesUs: Float64Array}
  /** A mode failed and stopped (a recording that could not be written; the stream is in silence now), or a piped stream began dropping RTP over its rate. */
  | {readonly type: 'stream-error'; readonly streamId: number; readonly message: string}
  /** RTCP compound packets sent or received by the shard's streams while rtcp-capture is on, batched (at most RTCP_BATCH_MS late). */
  | {readonly type: 'rtcp'; readonly reports: readonly RtcpCaptureReport[]}
