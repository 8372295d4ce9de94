// What an RtpStream does with the media it receives and what it sends: one
// mode at a time. Modes see the stream through ModeHost only, so each is a
// small class that is easy to test and to replace.
import type {RtpPacket} from './rtp.js'

export type G711Codec = 'PCMU' | 'PCMA'

export type ModeKind = 'silence' | 'echo' | 'play' | 'record' | 'relay' | 'tap'

/** What the stream offers the mode that runs on it. */
export interface ModeHost {
  /** Sends a frame of audio in the remote's codec under the remote's audio payload type. */
  sendFrame(payload: Uint8Array, nowMs: number): void
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

  constructor(
    private readonly host: ModeHost,
    private readonly listener: TapListener,
  ) {}

  onMedia(packet: RtpPacket, telephoneEvent: boolean): void {
    const info = this.info
    info.sequenceNumber = packet.sequenceNumber
    info.timestamp = packet.timestamp
    info.marker = packet.marker
    info.telephoneEvent = telephoneEvent
    this.listener(packet.payload, info)
  }

  /** Sends one frame of the caller's audio (already in the remote's codec). */
  inject(payload: Uint8Array, nowMs: number): void {
    this.host.sendFrame(payload, nowMs)
  }

  stop(): void {}
}

/** The other leg of a relay, as the relay sees it. */
export interface RelayPeer {
  /** Sends a packet received on the other leg to this leg's remote. */
  receiveRelayed(packet: RtpPacket, telephoneEvent: boolean, fromCodec: G711Codec | undefined, nowMs: number): void
  /** The other leg left the relay; this leg leaves it too if it still relays to `from`. */
  unrelay(from: RelayPeer): void
}

export class RelayMode implements ActiveMode {
  readonly kind = 'relay'
  private stopped = false

  constructor(
    private readonly self: RelayPeer,
    readonly peer: RelayPeer,
    private readonly ownCodec: () => G711Codec | undefined,
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
