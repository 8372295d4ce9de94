// An SDK client's audio as a call leg, whatever carries its RTP: a WebRTC
// track (werift terminates ICE/DTLS/SRTP) or QUIC datagrams. The client's RTP
// is handed to a piped media shard stream (the same kind a SIP leg gets, its
// RTP carried by the engine's messages instead of a socket pair), so the
// dialer's B-leg relays to it in-shard and quality and CDR figures come from
// the one media engine. The leg renumbers what it forwards (one SSRC and
// sequence space) so DTMF sent on the client's behalf fits between the
// client's audio packets. A client that sends Opus is transcoded to and from
// PCMU here.
import type {Logger} from 'pino'
import {dtmfDigitToEvent, planTelephoneEvent, serializeTelephoneEvent} from '../../src/media/telephone-event.js'
import type {MediaQuality} from '../calls/call.js'
import type {LegEnding} from '../calls/leg.js'
import type {MediaEngine} from '../media/engine.js'
import type {MediaStream} from '../media/media-stream.js'
import {PacketRate, PIPED_PACKETS_PER_S} from '../media/packet-rate.js'
import {CCError} from '../../src/errors.js'
import type {ClientAudio, ClientAudioLeg} from './client-audio.js'
import {StreamMediaEndpoint} from '../sip/media-endpoint.js'
import {FRAME_SAMPLES, OPUS_CLOCK_RATIO, OpusTranscoder} from '../webrtc/opus-transcoder.js'

const PCMU = 0
/** The RFC 4733 payload type on the pipe (it never leaves the host: the relay maps it to the B-leg's). */
const TELEPHONE_EVENT = 101
const RTP_HEADER_BYTES = 12
const DTMF_INTERVAL_MS = 50
const DTMF_GAP_MS = 60
/** The remote the piped stream is told of: never sent to (its RTP leaves as messages), only its source check's name for the client. */
const PIPED_REMOTE_PORT = 9

/** Where the client's RTP comes from and where the gateway's goes (a WebRTC peer's audio transceiver, a QUIC connection's datagrams). */
export interface ClientRtpPort {
  /** Subscribes to received RTP: payload type, sequence number, timestamp, payload; returns the unsubscribe. */
  onRtp(listener: (payloadType: number, sequenceNumber: number, timestamp: number, payload: Buffer) => void): () => void
  /** Sends one RTP packet (header and payload) to the client, in the codec it negotiated for sending. */
  sendRtp(packet: Buffer): void
  /** The negotiated payload types the client may send, and their codecs. */
  readonly codecs: ReadonlyMap<number, ClientCodec>
  /** The codec the gateway sends to the client in (the first one negotiated). */
  readonly sendCodec: ClientCodec
}

export type ClientCodec = 'PCMU' | 'opus'

const rtpHeader = (marker: boolean, payloadType: number, sequenceNumber: number, timestamp: number, ssrc: number): Buffer => {
  const header = Buffer.allocUnsafe(RTP_HEADER_BYTES)
  writeRtpHeader(header, marker, payloadType, sequenceNumber, timestamp, ssrc)
  return header
}

const writeRtpHeader = (into: Buffer, marker: boolean, payloadType: number, sequenceNumber: number, timestamp: number, ssrc: number): void => {
  into[0] = 0x80
  into[1] = (marker ? 0x80 : 0) | payloadType
  into.writeUInt16BE(sequenceNumber & 0xffff, 2)
  into.writeUInt32BE(timestamp >>> 0, 4)
  into.writeUInt32BE(ssrc >>> 0, 8)
}



export class RtpAudioLeg implements ClientAudioLeg {
  /** What the client speaks towards the gateway's media (the shard side is always PCMU). */
  readonly codec: ClientCodec
  readonly mediaCodec = 'PCMU'
  readonly media: StreamMediaEndpoint
  readonly ended: Promise<LegEnding>
  private resolveEnded: (ending: LegEnding) => void = () => {}
  private finished = false
  private readonly ssrc = (Math.random() * 0xffff_ffff) >>> 0
  private sequence = Math.floor(Math.random() * 0xffff)
  private lastClientSequence: number | undefined
  private lastTimestamp = (Math.random() * 0xffff_ffff) >>> 0
  private closing: Promise<MediaQuality | undefined> | undefined
  /** Only when Opus is negotiated either way. */
  private readonly opus: OpusTranscoder | undefined
  private unsubscribe: () => void = () => {}
  /** The client's packets into the shard (daemon/media/packet-rate.ts); what it drops is logged when the leg closes. */
  private readonly rate = new PacketRate()
  /** Where each packet to the shard is written: the engine copies it before sendPiped returns. */
  private scratch = Buffer.alloc(RTP_HEADER_BYTES + 1500)

  private constructor(
    private readonly stream: MediaStream,
    private readonly client: ClientRtpPort,
    private readonly log: Logger,
  ) {
    this.media = new StreamMediaEndpoint(stream, log)
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
    this.codec = client.sendCodec
    this.opus = client.sendCodec === 'opus' || [...client.codecs.values()].includes('opus') ? new OpusTranscoder() : undefined
  }

  /** Opens a piped shard stream for call `callSid` and connects the client's RTP to it. */
  static async open(options: {readonly media: MediaEngine; readonly callSid: string; readonly address: string; readonly client: ClientRtpPort; readonly log: Logger}): Promise<RtpAudioLeg> {
    const {media, callSid, address, client, log} = options
    const stream = await media.createStream({callSid, piped: true})
    try {
      await stream.setRemote({address, rtpPort: PIPED_REMOTE_PORT, rtcpPort: PIPED_REMOTE_PORT, payloadType: PCMU, codec: 'PCMU', telephoneEventPayloadType: TELEPHONE_EVENT})
    } catch (error) {
      await stream.close().catch(() => undefined)
      throw error
    }
    const leg = new RtpAudioLeg(stream, client, log)
    leg.unsubscribe = client.onRtp((payloadType, sequenceNumber, timestamp, payload) => leg.fromClient(payloadType, sequenceNumber, timestamp, payload))
    // Only audio goes on to the client: the shard's telephone-events are for the B-leg's side.
    stream.onPiped((packet) => {
      if (((packet[1] ?? 0) & 0x7f) === PCMU) leg.toClient(packet)
    })
    return leg
  }

  get setupAttributes(): Readonly<Record<string, string | number>> {
    return {'rtp.local_port': this.stream.localPort, 'rtp.codec': 'PCMU', 'rtp.client_codec': this.codec, 'rtp.shard': this.stream.shard}
  }

  onQuality(listener: (quality: MediaQuality) => void): void {
    this.stream.on('quality', listener)
  }

  /** The client's audio into the shard (Opus decoded to PCMU), renumbered into the pipe's sequence space (a gap stays a gap). */
  private fromClient(payloadType: number, sequenceNumber: number, timestamp: number, payload: Buffer): void {
    if (this.finished) return
    const codec = this.client.codecs.get(payloadType)
    if (codec === undefined || !this.rate.admit()) return
    const step = this.lastClientSequence === undefined ? 1 : (sequenceNumber - this.lastClientSequence) & 0xffff
    // A reordered or repeated packet (a step "backwards") is dropped rather than jumping the sequence.
    if (step === 0 || step > 0x8000) return
    this.lastClientSequence = sequenceNumber
    if (codec === 'PCMU') {
      this.sequence = (this.sequence + step) & 0xffff
      this.lastTimestamp = timestamp
      this.toShard(false, PCMU, timestamp, payload)
      return
    }
    const frames = this.opus?.decodeToUlaw(payload) ?? []
    const start = Math.floor(timestamp / OPUS_CLOCK_RATIO)
    frames.forEach((frame, index) => {
      this.sequence = (this.sequence + (index === 0 ? step : 1)) & 0xffff
      this.lastTimestamp = (start + index * FRAME_SAMPLES) >>> 0
      this.toShard(false, PCMU, this.lastTimestamp, frame)
    })
  }

  /** The shard's PCMU to the client, encoded to Opus when that is what the client receives. */
  private toClient(packet: Buffer): void {
    if (this.finished) return
    if (this.codec === 'PCMU' || !this.opus) {
      this.client.sendRtp(packet)
      return
    }
    const headerBytes = RTP_HEADER_BYTES + 4 * ((packet[0] ?? 0) & 0x0f)
    const ulaw = packet.subarray(headerBytes)
    if (ulaw.length < FRAME_SAMPLES) return
    const opus = this.opus.encodeFromUlaw(ulaw)
    this.client.sendRtp(Buffer.concat([rtpHeader(false, 0, packet.readUInt16BE(2), Math.imul(packet.readUInt32BE(4), OPUS_CLOCK_RATIO) >>> 0, 0), opus]))
  }

  /** One packet in the leg's sequence space to the shard stream. */
  private toShard(marker: boolean, payloadType: number, timestamp: number, payload: Uint8Array): void {
    const length = RTP_HEADER_BYTES + payload.length
    if (length > this.scratch.length) this.scratch = Buffer.alloc(length)
    writeRtpHeader(this.scratch, marker, payloadType, this.sequence, timestamp, this.ssrc)
    this.scratch.set(payload, RTP_HEADER_BYTES)
    this.stream.sendPiped(this.scratch.subarray(0, length))
  }

  async sendDtmf(digits: string, durationMs: number): Promise<void> {
    for (const digit of digits) {
      const event = dtmfDigitToEvent(digit)
      if (event === undefined || this.finished) continue
      const timestamp = this.lastTimestamp
      for (const packet of planTelephoneEvent({event, durationMs, packetIntervalMs: DTMF_INTERVAL_MS})) {
        if (this.finished) return
        this.sequence = (this.sequence + 1) & 0xffff
        this.toShard(packet.marker, TELEPHONE_EVENT, timestamp, serializeTelephoneEvent(packet.payload))
        await new Promise((resolve) => setTimeout(resolve, packet.payload.end ? 0 : DTMF_INTERVAL_MS))
      }
      await new Promise((resolve) => setTimeout(resolve, DTMF_GAP_MS))
    }
  }

  /** Nothing to confirm: the client is connected before it can ask for a call. */
  async answer(): Promise<void> {}

  async hangup(cause: number): Promise<void> {
    if (this.finished) return
    this.finished = true
    this.unsubscribe()
    this.resolveEnded({cause, status: 'completed'})
  }

  close(): Promise<MediaQuality | undefined> {
    this.closing ??= (async () => {
      await this.hangup(16)
      if (this.rate.dropped > 0) this.log.warn({dropped: this.rate.dropped, max_per_s: PIPED_PACKETS_PER_S}, 'SDK client sent audio faster than the limit; the excess was dropped')
      const quality = await this.stream.close().catch(() => this.stream.quality())
      this.opus?.delete()
      return quality
    })()
    return this.closing
  }
}

/**
 * A client's audio path (one WebRTC track, one QUIC connection's datagrams) as
 * the ClientAudio of its session: one call at a time, none once the session is
 * closing. `what` names the path in the refusal ("audio track", "datagram audio").
 */
export const oneCallAudio = (options: {
  readonly media: MediaEngine
  readonly address: string
  readonly log: Logger
  readonly what: string
  readonly port: () => ClientRtpPort
  readonly isClosing: () => boolean
}): ClientAudio => {
  let busy = false
  return {
    open: async (callSid) => {
      const refuse = (detail: string) => new CCError('CC_ERR_RPC_INVALID_PARAMS', {method: 'call.create', detail})
      if (options.isClosing()) throw refuse('the session is closing')
      if (busy) throw refuse(`the session's ${options.what} is in another call; hang it up first`)
      busy = true
      let leg: RtpAudioLeg
      try {
        leg = await RtpAudioLeg.open({media: options.media, callSid, address: options.address, client: options.port(), log: options.log})
      } catch (error) {
        busy = false
        throw error
      }
      void leg.ended.then(() => (busy = false))
      return leg
    },
  }
}
