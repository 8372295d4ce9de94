// An SDK client for tests, on werift: it offers audio (PCMU) and a DataChannel,
// POSTs the offer with a bearer JWT to the gateway's WebRTC endpoint, speaks
// the SDK RPC frames of src/rpc/protocol.ts, sends a tone and counts the audio
// it gets back.
import {createRequire} from 'node:module'
import type OpusScriptType from 'opusscript'
import {RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket, type RTCDataChannel, type RTCRtpTransceiver} from 'werift'
import {withoutFallbackStun} from '../../daemon/webrtc/peer.js'
import {linearToUlaw} from '../../src/media/g711.js'
import {decodeFrame, encodeFrame, RPC_METHODS, type RpcFrame, type RpcMethodName} from '../../src/rpc/protocol.js'
import {waitFor} from './gateway.js'

const OpusScript = createRequire(import.meta.url)('opusscript') as typeof OpusScriptType

export interface RpcReply {
  readonly kind: 'response' | 'error'
  readonly payload: Record<string, unknown>
}

export class SdkClient {
  readonly events: Array<Record<string, unknown>> = []
  /** Every frame received, in order. */
  readonly frames: RpcFrame[] = []
  private nextRequestId = 1
  private readonly pending = new Map<number, (reply: RpcReply) => void>()
  private toneTimer: NodeJS.Timeout | undefined

  private constructor(
    readonly pc: RTCPeerConnection,
    private readonly channel: RTCDataChannel,
    private readonly audio: RTCRtpTransceiver,
    /** The session resource (`Location`). */
    readonly location: string,
    private readonly counter: {received: number; decodable: number},
    readonly codec: 'PCMU' | 'opus',
  ) {
    channel.onMessage.subscribe((message) => {
      const frame = decodeFrame(typeof message === 'string' ? Buffer.from(message) : message)
      this.frames.push(frame)
      if (frame.kind === 'event') this.events.push(frame.payload)
      else this.pending.get(frame.requestId)?.({kind: frame.kind === 'error' ? 'error' : 'response', payload: frame.payload})
    })
  }

  /** RTP packets of the call's audio received from the gateway. */
  get receivedAudioPackets(): number {
    return this.counter.received
  }

  /** Received packets that decode in the negotiated codec (20 ms of audio each, for Opus). */
  get decodableAudioPackets(): number {
    return this.counter.decodable
  }

  /** The offer/answer exchange; throws with the HTTP status and body when the gateway refuses it. */
  static async connect(endpoint: string, token: string | undefined, options: {codec?: 'PCMU' | 'opus'} = {}): Promise<SdkClient> {
    const codec = options.codec ?? 'PCMU'
    const parameters =
      codec === 'opus'
        ? new RTCRtpCodecParameters({mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111})
        : new RTCRtpCodecParameters({mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0})
    const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle', codecs: {audio: [parameters]}, iceServers: [], iceUseIpv6: false, iceAdditionalHostAddresses: ['127.0.0.1']})
    const audio = pc.addTransceiver('audio', {direction: 'sendrecv'})
    const channel = pc.createDataChannel('rpc')
    const counter = {received: 0, decodable: 0}
    // Opus that comes back must really be Opus: each packet is decoded, and the ones that decode are counted.
    const decoder = codec === 'opus' ? new OpusScript(48000, 1, OpusScript.Application.VOIP) : undefined
    pc.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => {
        counter.received++
        if (!decoder) counter.decodable++
        else if (rtp.payload.length > 0 && decoder.decode(rtp.payload).length === 960 * 2) counter.decodable++
      }),
    )
    const offer = await pc.createOffer()
    withoutFallbackStun(pc)
    await pc.setLocalDescription(offer)
    if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((state) => state === 'complete')
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {'content-type': 'application/sdp', ...(token === undefined ? {} : {authorization: `Bearer ${token}`})},
      body: pc.localDescription?.sdp ?? '',
    })
    const body = await response.text()
    if (response.status !== 201) {
      await pc.close()
      throw new HttpError(response.status, body, response.headers.get('www-authenticate'))
    }
    await pc.setRemoteDescription({type: 'answer', sdp: body})
    if (channel.readyState !== 'open') await channel.stateChanged.watch((state) => state === 'open')
    return new SdkClient(pc, channel, audio, new URL(response.headers.get('location') ?? '', endpoint).toString(), counter, codec)
  }

  /** Sends a request frame and resolves with the response or error frame of its request id. */
  request(method: RpcMethodName, params: Record<string, unknown> = {}): Promise<RpcReply> {
    return this.send(RPC_METHODS[method].id, params)
  }

  send(methodId: number, params: Record<string, unknown>): Promise<RpcReply> {
    const requestId = this.nextRequestId++
    const reply = new Promise<RpcReply>((resolve) => this.pending.set(requestId, resolve))
    this.channel.send(encodeFrame({kind: 'request', methodId, requestId, payload: params}))
    return reply
  }

  /** Sends raw bytes on the DataChannel (bad-input tests). */
  sendRaw(bytes: Buffer): void {
    this.channel.send(bytes)
  }

  /** Sends a 440 Hz tone in 20 ms packets (PCMU, or Opus encoded here) until stopped. */
  startTone(): void {
    let sequenceNumber = 1000
    let sampleIndex = 0
    const ssrc = 0x1234_5678
    const encoder = this.codec === 'opus' ? new OpusScript(8000, 1, OpusScript.Application.VOIP) : undefined
    this.toneTimer = setInterval(() => {
      const pcm = new Int16Array(160)
      for (let index = 0; index < 160; index++) pcm[index] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (sampleIndex + index)) / 8000))
      const body = encoder ? Buffer.from(encoder.encode(Buffer.from(pcm.buffer), 160)) : Buffer.from(Array.from(pcm, (sample) => linearToUlaw(sample)))
      // Opus's RTP clock is 48 kHz whatever the encoder's rate (RFC 7587).
      const timestamp = encoder ? sampleIndex * 6 : sampleIndex
      sampleIndex += 160
      const header = new RtpHeader({payloadType: encoder ? 111 : 0, sequenceNumber: sequenceNumber++ & 0xffff, timestamp: timestamp >>> 0, ssrc, marker: false})
      void this.audio.sender.sendRtp(new RtpPacket(header, body))
    }, 20)
  }

  stopTone(): void {
    clearInterval(this.toneTimer)
  }

  event(predicate: (event: Record<string, unknown>) => boolean, what: string, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    return waitFor(what, () => this.events.find(predicate), timeoutMs)
  }

  async close(): Promise<void> {
    this.stopTone()
    await this.pc.close()
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly wwwAuthenticate: string | null,
  ) {
    super(`HTTP ${status}: ${body}`)
  }
}
