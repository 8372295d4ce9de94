// What the SDK methods need from the transport that carries a client's audio
// (a WebRTC track today): the client's side of a call as a leg in a media
// shard, so the dialer's B-leg can be relayed to it like any SIP leg.
import type {MediaQuality} from '../calls/call.js'
import type {CallLeg} from '../calls/leg.js'

export interface ClientAudioLeg extends CallLeg {
  /** The codec the client's audio is in (`PCMU`, `opus`). */
  readonly codec: string
  /** The codec of the leg's media in the gateway (what the call, its CDR and the RTP metrics name: `PCMU`). */
  readonly mediaCodec: string
  /** The `rtp.setup` span attributes: local port, codec, shard. */
  readonly setupAttributes: Readonly<Record<string, string | number>>
  onQuality(listener: (quality: MediaQuality) => void): void
  /** Sends the digits as RFC 4733 events towards the other leg; resolves when they have been sent. */
  sendDtmf(digits: string, durationMs: number): Promise<void>
  /** Closes the leg's media; resolves with its last figures. */
  close(): Promise<MediaQuality | undefined>
}

export interface ClientAudio {
  /** The client's audio as a leg of call `callSid`; one call at a time per client. */
  open(callSid: string): Promise<ClientAudioLeg>
}
