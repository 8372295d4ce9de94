// What an RtpStream does with the media it receives and what it sends: one
// mode at a time. Modes see the stream through ModeHost only, so each is a
// small class that is easy to test and to replace.
import type {StreamCodec} from './codecs.js'
import type {RtpPacket} from './rtp.js'
import type {UlawTapAdapter} from './tap-adapter.js'

export type {G711Codec, StreamCodec} from './codecs.js'

export type ModeKind = 'silence' | 'echo' | 'play' | 'record' | 'relay' | 'tap'

/** What the stream offers the mode that runs on it. */
export interface ModeHost {
  /** Sends a frame of audio in the remote's codec under the remote's audio payload type; `ticks`: its RTP clock ticks, default one per octet. */
  sendFrame(payload: Uint8Array, nowMs: number, ticks?: number): void
  /** Sends a received packet back to the remote, re-stamped as our own. */
  echo(packet: RtpPacket, telephoneEvent: boolean, nowMs: number): void
  /** The mode has run its course (a play that finished): the stream falls back to silence. */
  modeEnded(mode: ActiveMode): void
  /** A failure the mode survived by stopping (a recording that cannot be written). */
  reportError(error: Error): void
}

export interface ActiveMode {
  readonly kind: ModeKind
  /** A packet from the remote that passed the stream's checks (negotiated payload type, not a duplicate). */
  onMedia(packet: RtpPacket, telephoneEvent: boolean, nowMs: number): void
  /** Leaves the mode: releases timers and files, settles pending promises. Idempotent. */
  stop(): void
}

export class SilenceMode implements ActiveMode {
  readonly kind = 'silence'
  onMedia(): void {}
  stop(): void {}
}

export class EchoMode implements ActiveMode {
  readonly kind = 'echo'
  constructor(private readonly host: ModeHost) {}

  onMedia(packet: RtpPacket, telephoneEvent: boolean, nowMs: number): void {
    this.host.echo(packet, telephoneEvent, nowMs)
  }

  stop(): void {}
}

/** Facts about a received packet handed to a tap listener alongside its payload. */
export interface TapFrameInfo {
  readonly sequenceNumber: number
  readonly timestamp: number
  readonly marker: boolean
  readonly telephoneEvent: boolean
}

/**
 * Receives the payload of every accepted packet. The payload is a view that
 * is valid during the call only: copy it to keep it.
 */
export type TapListener = (payload: Buffer, info: TapFrameInfo) => void

export class TapMode implements ActiveMode {
  readonly kind = 'tap'
  // One info object, refilled per packet: the listener reads it synchronously.
  private readonly info = {sequenceNumber: 0, timestamp: 0, marker: false, telephoneEvent: false}

  private readonly deliver = (payload: Buffer): void => this.listener(payload, this.info)

  /** `adapter`: for a codec other than G.711, the audio is handed over and taken back as 20 ms µ-law frames. */
  constructor(
    private readonly host: ModeHost,
    private readonly listener: TapListener,
    private readonly adapter?: UlawTapAdapter,
  ) {}

  onMedia(packet: RtpPacket, telephoneEvent: boolean): void {
    const info = this.info
    info.sequenceNumber = packet.sequenceNumber
    info.timestamp = packet.timestamp
    info.marker = packet.marker
    info.telephoneEvent = telephoneEvent
    if (this.adapter === undefined || telephoneEvent) this.listener(packet.payload, info)
    else this.adapter.toUlaw(packet.payload, this.deliver)
  }

  /** Sends one frame of the caller's audio (in the remote's codec, or µ-law with an adapter). */
  inject(payload: Uint8Array, nowMs: number): void {
    if (this.adapter === undefined) {
      this.host.sendFrame(payload, nowMs)
      return
    }
    const encoded = this.adapter.fromUlaw(payload)
    if (encoded !== undefined) this.host.sendFrame(encoded.payload, nowMs, encoded.ticks)
  }

  stop(): void {
    this.adapter?.release()
  }
}

/** The other leg of a relay, as the relay sees it. */
export interface RelayPeer {
  /** Sends a packet received on the other leg to this leg's remote. */
  receiveRelayed(packet: RtpPacket, telephoneEvent: boolean, fromCodec: StreamCodec | undefined, nowMs: number): void
  /** The other leg left the relay; this leg leaves it too if it still relays to `from`. */
  unrelay(from: RelayPeer): void
}

export class RelayMode implements ActiveMode {
  readonly kind = 'relay'
  private stopped = false

  constructor(
    private readonly self: RelayPeer,
    readonly peer: RelayPeer,
    private readonly ownCodec: () => StreamCodec | undefined,
  ) {}

  onMedia(packet: RtpPacket, telephoneEvent: boolean, nowMs: number): void {
    this.peer.receiveRelayed(packet, telephoneEvent, this.ownCodec(), nowMs)
  }

  stop(): void {
    if (this.stopped) return
    this.stopped = true
    this.peer.unrelay(this.self)
  }
}
