// One SDK client connected over WebRTC (werift): answers its offer, carries its
// audio track (PCMU) as the client leg of its calls, and its RPC frames on the
// DataChannel it opens. The session ends when the peer connection closes or
// fails, or on DELETE of its resource; its calls are hung up then.
import {randomBytes} from 'node:crypto'
import type {Logger} from 'pino'
import {RTCPeerConnection, RTCRtpCodecParameters, type RTCRtpTransceiver} from 'werift'
import {CCError} from '../../src/errors.js'
import {Q850_NORMAL_CLEARING} from '../../src/sip/q850.js'
import type {MediaEngine} from '../media/engine.js'
import type {RpcActivity} from '../rpc/activity.js'
import type {ClientAudio} from '../rpc/client-audio.js'
import type {JwtVerifier, RpcPrincipal} from '../rpc/jwt.js'
import {createSessionMethods, type SessionMethods} from '../rpc/methods.js'
import type {SdkCallServices} from '../rpc/sdk-call.js'
import {RpcSession} from '../rpc/session.js'
import {oneCallAudio, type ClientCodec} from '../rpc/rtp-audio-leg.js'

/** How long an offer may take to answer (ICE gathering of host candidates is quick; a stuck one is not waited for). */
const GATHER_TIMEOUT_MS = 5000

export interface PeerServices extends SdkCallServices {
  readonly media: MediaEngine
  readonly verifier: JwtVerifier
  readonly activity: RpcActivity
  /** The address the media pipe binds to (rtp.address). */
  readonly rtpAddress: string
  /** webrtc.codecs: offered in this order. */
  readonly codecs: readonly ClientCodec[]
}

/**
 * werift's ICE falls back to stun.l.google.com when no STUN server is given and waits up to 5 s for it
 * while gathering (every answer would take 5 s on a host without internet). The gateway answers with its
 * host candidates only, so the fallback is removed from the transports the offer created.
 */
export const withoutFallbackStun = (pc: RTCPeerConnection): void => {
  for (const transport of pc.iceTransports) (transport.connection as {stunServer?: unknown}).stunServer = undefined
}

/** The codecs offered to clients, in the gateway's order of preference (webrtc.codecs). */
const codecParameters = {
  opus: new RTCRtpCodecParameters({mimeType: 'audio/opus', clockRate: 48000, channels: 2, payloadType: 111}),
  PCMU: new RTCRtpCodecParameters({mimeType: 'audio/PCMU', clockRate: 8000, channels: 1, payloadType: 0}),
} as const

const clientCodec = (mimeType: string | undefined): ClientCodec | undefined => {
  const name = mimeType?.toLowerCase()
  return name === 'audio/pcmu' ? 'PCMU' : name === 'audio/opus' ? 'opus' : undefined
}

export class WebRtcPeer {
  readonly id = randomBytes(12).toString('hex')
  readonly closed: Promise<void>
  private markClosed: () => void = () => {}
  private readonly pc: RTCPeerConnection
  private readonly methods: SessionMethods
  private readonly log: Logger
  private audio: RTCRtpTransceiver | undefined
  private rtpListeners = new Set<(payloadType: number, sequenceNumber: number, timestamp: number, payload: Buffer) => void>()
  private isClosed = false

  constructor(
    readonly principal: RpcPrincipal,
    private readonly services: PeerServices,
  ) {
    this.log = services.log.child({webrtc_session: this.id, tenant: principal.tenant})
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
    const loopback = /^127\.|^::1$/.test(services.rtpAddress) ? [services.rtpAddress] : []
    // No STUN/TURN servers: werift's default (a public STUN server) would hold every answer until it times out
    // on hosts without internet; the gateway's own host candidates are what clients reach.
    const codecs = {audio: services.codecs.map((name) => codecParameters[name])}
    this.pc = new RTCPeerConnection({codecs, bundlePolicy: 'max-bundle', iceServers: [], iceUseIpv6: false, iceAdditionalHostAddresses: loopback})
    // Subscribed before the offer is applied: werift announces the remote track while applying it.
    this.pc.onTrack.subscribe((track) => {
      if (track.kind !== 'audio') return
      track.onReceiveRtp.subscribe((rtp) => {
        for (const listener of this.rtpListeners) listener(rtp.header.payloadType, rtp.header.sequenceNumber, rtp.header.timestamp, rtp.payload)
      })
    })
    this.methods = createSessionMethods({...services, log: this.log}, principal.tenant, this.clientAudio(), 'webrtc')
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed' || state === 'closed') void this.close(`peer connection ${state}`)
    })
    this.pc.onDataChannel.subscribe((channel) => {
      const session = new RpcSession({
        principal,
        transport: 'webrtc',
        verifier: services.verifier,
        activity: services.activity,
        handlers: this.methods.handlers,
        send: (frame) => {
          if (channel.readyState !== 'open') return false
          channel.send(frame)
          return true
        },
        log: this.log,
      })
      channel.onMessage.subscribe((message) => {
        void session.receive(typeof message === 'string' ? Buffer.from(message, 'utf8') : message)
      })
    })
  }

  /** Answers the client's offer; the answer carries every ICE candidate (no trickle). */
  async answer(offerSdp: string): Promise<string> {
    try {
      await this.pc.setRemoteDescription({type: 'offer', sdp: offerSdp})
    } catch (error) {
      throw new CCError('CC_ERR_WEBRTC_OFFER', {detail: error instanceof Error ? error.message : String(error)})
    }
    withoutFallbackStun(this.pc)
    const audio = this.pc.getTransceivers().find((transceiver) => transceiver.kind === 'audio')
    if (!audio) throw new CCError('CC_ERR_WEBRTC_OFFER', {detail: 'the offer has no audio m-line'})
    if (!audio.codecs.some((codec) => clientCodec(codec.mimeType) !== undefined)) throw new CCError('CC_ERR_WEBRTC_OFFER', {detail: `the offer has none of the audio codecs ${this.services.codecs.join(', ')}`})
    audio.setDirection('sendrecv')
    this.audio = audio
    await this.pc.setLocalDescription(await this.pc.createAnswer())
    if (this.pc.iceGatheringState !== 'complete') {
      await Promise.race([this.pc.iceGatheringStateChange.watch((state) => state === 'complete'), new Promise((resolve) => setTimeout(resolve, GATHER_TIMEOUT_MS))])
    }
    const sdp = this.pc.localDescription?.sdp
    if (!sdp) throw new CCError('CC_ERR_WEBRTC_OFFER', {detail: 'no local description could be made'})
    this.log.info('WebRTC session answered')
    return sdp
  }

  private clientAudio(): ClientAudio {
    return oneCallAudio({
      media: this.services.media,
      address: this.services.rtpAddress,
      log: this.log,
      what: 'audio track',
      isClosing: () => this.isClosed,
      port: () => {
        const negotiated = this.audio?.codecs ?? []
        const codecs = new Map<number, ClientCodec>()
        for (const codec of negotiated) {
          const name = clientCodec(codec.mimeType)
          if (name) codecs.set(codec.payloadType, name)
        }
        return {
          onRtp: (listener) => {
            this.rtpListeners.add(listener)
            return () => this.rtpListeners.delete(listener)
          },
          sendRtp: (packet) => {
            void this.audio?.sender.sendRtp(packet).catch(() => undefined)
          },
          codecs,
          // werift's sender sends in the first negotiated codec (it rewrites the payload type to it).
          sendCodec: clientCodec(this.audio?.sender.codec?.mimeType ?? negotiated[0]?.mimeType) ?? 'PCMU',
        }
      },
    })
  }

  /** Ends the session: calls hung up, subscriptions ended, the peer connection closed. */
  async close(why: string): Promise<void> {
    if (this.isClosed) return
    this.isClosed = true
    this.log.info({why}, 'WebRTC session closed')
    await this.methods.close(Q850_NORMAL_CLEARING).catch((error: unknown) => this.log.warn({err: error}, 'hanging up the session\'s calls failed'))
    await this.pc.close().catch(() => undefined)
    this.markClosed()
  }
}
