// The public shapes of an RtpStream: the negotiated remote, the modes, the
// options, and the figures it reports.
import type {FrameTicker} from './frame-ticker.js'
import type {PlaySource} from './play-mode.js'
import type {DatagramSender} from './rtp-sender.js'
import type {ModeKind, StreamCodec, TapListener} from './stream-modes.js'
import type {SrtpSuite} from './srtp.js'

export interface RtpRemote {
  readonly address: string
  readonly rtpPort: number
  /** Default rtpPort + 1 (RFC 3550 §11); equal to rtpPort for rtcp-mux. */
  readonly rtcpPort?: number
  readonly payloadType: number
  readonly codec: StreamCodec
  /** The negotiated RFC 4733 payload type, when the remote offered one. */
  readonly telephoneEventPayloadType?: number
  /** Opus: the receiver's maxaveragebitrate (RFC 7587 §6.1), bit/s; what we encode for it stays at or under it. */
  readonly maxBitrate?: number
  /** SRTP/SRTCP (RFC 3711) with these SDES keys; absent: plain RTP. */
  readonly srtp?: {readonly suite: SrtpSuite; readonly localKey: Uint8Array; readonly remoteKey: Uint8Array}
  /**
   * The remote is another party than the one before (a call transfer moved the stream): the
   * previous party's RTP source is never latched again, though it may still be sending.
   */
  readonly newParty?: boolean
}

export type PlayStreamMode = {readonly kind: 'play'; readonly source: PlaySource; readonly loop?: boolean}
export type StreamMode =
  | {readonly kind: 'silence'}
  | {readonly kind: 'echo'}
  | PlayStreamMode
  | {readonly kind: 'record'; readonly path: string}
  | {readonly kind: 'tap'; readonly listener: TapListener}

export interface RtpStreamOptions {
  readonly sendRtp: DatagramSender
  readonly sendRtcp: DatagramSender
  /** SDES CNAME; default a random one per stream (RFC 7022 §4.2). */
  readonly cname?: string
  /** Our SSRC; default random. */
  readonly ssrc?: number
  /** Unix time in ms, the clock of arrival times and NTP timestamps; default wallClockMs. */
  readonly now?: () => number
  /** Mean RTCP report interval; 0 sends reports only through sendReport(). Default 5000. */
  readonly rtcpIntervalMs?: number
  /** Uniform [0, 1) source for the RTCP interval randomization; default Math.random. */
  readonly random?: () => number
  /** Paces play mode; default the thread's shared 20 ms ticker. */
  readonly ticker?: FrameTicker
  /** A mode failed and stopped (a recording that could not be written). */
  readonly onError?: (error: Error) => void
  /** A mode ended by itself (a play that finished); the stream is in silence now. */
  readonly onModeEnded?: (kind: ModeKind) => void
  /**
   * Every RTCP compound packet sent, and every one received from the remote
   * that parsed (for capture, HEP type 5). `muxed`: it arrived on the RTP port
   * (rtcp-mux). The datagram is the stream's: copy it to keep it.
   */
  readonly onRtcpReport?: (report: RtcpReportInfo) => void
}

export interface RtcpReportInfo {
  readonly direction: 'in' | 'out'
  readonly datagram: Buffer
  /** The remote side: where it came from, or where it went. */
  readonly address: string
  readonly port: number
  readonly muxed: boolean
  /** Unix ms of the arrival or the send. */
  readonly timestampMs: number
}

/** The MediaQuality of a call's stream (daemon/calls/call.ts), cumulative since the stream began. */
export interface StreamQuality {
  readonly codec: string
  readonly packetsSent: number
  readonly packetsReceived: number
  readonly packetsLost: number
  readonly bytesSent: number
  /** Loss over the interval since the previous quality() call, 0..1. */
  readonly lossRatio: number
  readonly jitterMs: number
  readonly rttMs: number | null
  readonly estimatedMos: number
}

export interface StreamCounters {
  readonly bytesReceived: number
  /** Every datagram left out: the reasons below plus malformed RTCP. */
  readonly packetsDropped: number
  readonly droppedMalformed: number
  readonly droppedForeignSource: number
  readonly droppedPayloadType: number
  /** SRTP packets refused: a wrong tag (a bad key, a corrupted packet), a replay, too short. */
  readonly droppedSrtp: number
  /** SRTCP packets refused the same way (plain RTCP on an SRTP stream among them). */
  readonly droppedSrtcp: number
  /** G.722 or Opus payloads the codec cannot take (empty, too long, a broken Opus packet), received or relayed to us. */
  readonly droppedUndecodable: number
  readonly duplicates: number
  readonly rtcpSent: number
  readonly rtcpReceived: number
  readonly remoteSsrc: number | null
}
