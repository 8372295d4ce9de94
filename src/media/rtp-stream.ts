// One RTP endpoint: the negotiated remote, reception statistics, RTCP, and
// the mode that decides what is sent (silence, echo, play, record, relay,
// tap). It owns no socket: datagrams come in through onRtp/onRtcp and leave
// through the send functions it is given, so the daemon's media shards and
// the CLI's synthetic caller run the very same code.
//
// Reception rules:
//  - only datagrams from the negotiated remote IP count; the source port is
//    latched from the first packet (symmetric RTP, RFC 4961, which also gets
//    media through NAT), and we send to the latched port from then on;
//  - only the negotiated payload types (audio, telephone-event) reach the
//    mode; garbage, foreign sources and other payload types are counted as
//    dropped and never throw;
//  - on a G.722 or Opus stream, a payload the codec cannot take (empty, over
//    120 ms of G.722, an Opus packet that breaks RFC 6716 §3.4 or runs over
//    60 ms) is dropped and counted (droppedUndecodable) before the reception
//    statistics see it: to them it is lost, as the listener hears it. G.711
//    payloads are never looked into (its path is benchmarked);
//  - a new SSRC from the remote replaces the current source once it has sent
//    two sequential packets (stream-reception.ts);
//  - with SRTP (the remote's `srtp` keys), every datagram is checked and
//    decrypted before anything else looks at it, and one that fails (a wrong
//    tag, a replay) is dropped and counted (droppedSrtp): to the reception
//    statistics it is lost, so loss, jitter and MOS keep their meaning.
//    What we send is encrypted as it leaves; RTCP becomes SRTCP.
import {roundTripTimeMs, unixMsToNtp} from './ntp.js'
import {CODEC_PROFILES, isG711, payloadTicks, type StreamCodec} from './codecs.js'
import {ALAW_TO_ULAW, ULAW_TO_ALAW} from './g711.js'
import {FRAME_MS, sharedFrameTicker, wallClockMs, type FrameTicker} from './frame-ticker.js'
import {PlayMode, type PlayOutcome} from './play-mode.js'
import {estimateMos} from './quality.js'
import {DecodedRecordMode, RecordMode} from './record-mode.js'
import {buildCompoundReport, parseRtcp, type RtcpPacket} from './rtcp.js'
import {createRtpPacket, isRtcp, parseRtp, type RtpPacket} from './rtp.js'
import {RtpSender, type SenderTarget} from './rtp-sender.js'
import type {PlayStreamMode, RtpRemote, RtpStreamOptions, StreamCounters, StreamMode, StreamQuality} from './rtp-stream-types.js'
import {StreamReception} from './stream-reception.js'
import {MAX_EVENT_DURATION, TELEPHONE_EVENT_LENGTH} from './telephone-event.js'
import {SrtpSession} from './srtp.js'
import {UlawTapAdapter} from './tap-adapter.js'
import {RelayTranscoder, type TranscodedFrame} from './transcoder.js'
import {
  EchoMode,
  RelayMode,
  SilenceMode,
  TapMode,
  type ActiveMode,
  type ModeHost,
  type ModeKind,
  type RelayPeer,
} from './stream-modes.js'

export type {DatagramSender} from './rtp-sender.js'
export type {PlayStreamMode, RtcpReportInfo, RtpRemote, RtpStreamOptions, StreamCounters, StreamMode, StreamQuality} from './rtp-stream-types.js'
export type {G711Codec, ModeKind, StreamCodec, TapFrameInfo, TapListener} from './stream-modes.js'
export type {PlayOutcome, PlaySource} from './play-mode.js'

export const DEFAULT_RTCP_INTERVAL_MS = 5000
/**
 * Mouth-to-ear delay the MOS is computed with: half the RTCP round trip, a
 * jitter buffer of twice the measured jitter, and one frame of packetization.
 */
export const JITTER_BUFFER_FACTOR = 2

const randomCname = (): string => `clutchcall-${Math.random().toString(36).slice(2, 12)}`

export class RtpStream {
  readonly ssrc: number
  readonly cname: string
  private remoteInfo: RtpRemote | undefined
  private latchedRtpPort: number | undefined
  private latchedRtcpPort: number | undefined
  /**
   * The RTP source (`address:port`) of the party a setRemote with `newParty` replaced: never latched
   * again, so a party the call moved away from (a transfer) cannot take the stream back while it still
   * sends. A re-INVITE's new port (the same party) does not set it: its source may stay the latched one.
   */
  private formerSource: string | undefined
  private readonly target: SenderTarget = {address: '', port: 0}
  private readonly sender: RtpSender
  private readonly packet: RtpPacket = createRtpPacket()
  private readonly now: () => number
  private readonly random: () => number
  private readonly rtcpIntervalMs: number
  private readonly ticker: FrameTicker
  private rtcpTimer: NodeJS.Timeout | undefined
  private active: ActiveMode
  private isClosed = false

  private readonly reception = new StreamReception()
  private rttMs: number | null = null

  private bytesReceived = 0
  private droppedMalformed = 0
  private droppedForeignSource = 0
  private droppedPayloadType = 0
  private droppedSrtp = 0
  private droppedSrtcp = 0
  private droppedUndecodable = 0
  /** The remote's codec is G.722 or Opus: payloads are checked, and durations are not one tick per octet. */
  private checkPayloads = false
  /** Relayed audio of another codec, transcoded to ours (one direction of a bridge). */
  private transcoder: RelayTranscoder | undefined
  private relayNowMs = 0
  private srtp: SrtpSession | undefined
  private srtpKeys: RtpRemote['srtp']
  private duplicates = 0
  private rtcpSent = 0
  private rtcpReceived = 0

  private readonly host: ModeHost = {
    sendFrame: (payload, nowMs, ticks) => {
      if (this.remoteInfo && !this.isClosed) this.sender.sendFrame(this.remoteInfo.payloadType, payload, nowMs, undefined, ticks)
    },
    echo: (packet, telephoneEvent, nowMs) => {
      const remote = this.remoteInfo
      if (remote === undefined || this.isClosed) return
      const ticks = telephoneEvent ? 0 : this.checkPayloads ? payloadTicks(remote.codec, packet.payload) : packet.payload.length
      this.sender.forward(packet, packet.payloadType, ticks, nowMs)
    },
    modeEnded: (mode) => {
      if (this.active !== mode) return
      this.active = new SilenceMode()
      this.sender.resync()
      this.options.onModeEnded?.(mode.kind)
    },
    reportError: (error) => this.options.onError?.(error),
  }

  private readonly relayEndpoint: RelayPeer = {
    receiveRelayed: (packet, telephoneEvent, fromCodec, nowMs) => {
      const remote = this.remoteInfo
      if (remote === undefined || this.isClosed) return
      if (telephoneEvent) {
        // Events go out under this leg's own telephone-event payload type, or not at all.
        if (remote.telephoneEventPayloadType === undefined) return
        if (fromCodec === undefined || CODEC_PROFILES[fromCodec].clockRate === CODEC_PROFILES[remote.codec].clockRate) {
          this.sender.forward(packet, remote.telephoneEventPayloadType, 0, nowMs)
        } else {
          this.relayEventAcrossClocks(packet, fromCodec, remote.codec, remote.telephoneEventPayloadType, nowMs)
        }
        return
      }
      if (fromCodec === undefined || fromCodec === remote.codec) {
        this.sender.forward(packet, remote.payloadType, this.checkPayloads ? payloadTicks(remote.codec, packet.payload) : packet.payload.length, nowMs)
        return
      }
      if (isG711(fromCodec) && isG711(remote.codec)) {
        this.sender.forward(packet, remote.payloadType, packet.payload.length, nowMs, fromCodec === 'PCMU' ? ULAW_TO_ALAW : ALAW_TO_ULAW)
        return
      }
      this.transcodeRelayed(packet, fromCodec, remote.codec, nowMs)
    },
    unrelay: (from) => {
      if (this.active instanceof RelayMode && this.active.peer === from) this.replaceMode(new SilenceMode())
    },
  }

  constructor(private readonly options: RtpStreamOptions) {
    this.now = options.now ?? wallClockMs
    this.random = options.random ?? Math.random
    this.rtcpIntervalMs = options.rtcpIntervalMs ?? DEFAULT_RTCP_INTERVAL_MS
    this.ticker = options.ticker ?? sharedFrameTicker()
    this.cname = options.cname ?? randomCname()
    this.sender = new RtpSender((datagram, port, address, sent) => this.sendMaybeProtected(datagram, port, address, sent), this.target, options.ssrc)
    this.ssrc = this.sender.ssrc
    this.active = new SilenceMode()
  }

  get remote(): RtpRemote | undefined {
    return this.remoteInfo
  }

  /** Relayed audio of `from` into our codec `to`; undecodable payloads are counted and nothing goes out for them. */
  private transcodeRelayed(packet: RtpPacket, from: StreamCodec, to: StreamCodec, nowMs: number): void {
    const transcoder = this.transcoderFor(from, to)
    this.relayNowMs = nowMs
    if (!transcoder.push(packet, this.sendTranscoded)) this.droppedUndecodable++
  }

  /**
   * An event between legs of different clocks (Opus's 48 kHz and 8 kHz): its
   * durations count ticks of the source's clock (RFC 4733 §2.5.1.3), so each is
   * rescaled (capped at 0xFFFF, the most one packet can say), and its timestamp
   * goes onto the transcoded audio's timeline.
   */
  private relayEventAcrossClocks(packet: RtpPacket, from: StreamCodec, to: StreamCodec, payloadType: number, nowMs: number): void {
    if (packet.payload.length < TELEPHONE_EVENT_LENGTH) return
    const transcoder = this.transcoderFor(from, to)
    const payload = Buffer.from(packet.payload)
    for (let offset = 0; offset + TELEPHONE_EVENT_LENGTH <= payload.length; offset += TELEPHONE_EVENT_LENGTH) {
      payload.writeUInt16BE(Math.min(MAX_EVENT_DURATION, Math.round(payload.readUInt16BE(offset + 2) * transcoder.ticksRatio)), offset + 2)
    }
    this.sender.forward({...packet, timestamp: transcoder.eventTimestamp(packet), payload}, payloadType, 0, nowMs)
  }

  private readonly sendTranscoded = (frame: TranscodedFrame): void => {
    const remote = this.remoteInfo
    if (remote !== undefined) this.sender.forward(frame.packet, remote.payloadType, frame.ticks, this.relayNowMs)
  }

  private transcoderFor(from: StreamCodec, to: StreamCodec): RelayTranscoder {
    let transcoder = this.transcoder
    const maxBitrate = this.remoteInfo?.maxBitrate
    if (transcoder === undefined || transcoder.from !== from || transcoder.to !== to || transcoder.maxBitrate !== maxBitrate) {
      transcoder?.release()
      transcoder = new RelayTranscoder(from, to, maxBitrate)
      this.transcoder = transcoder
    }
    return transcoder
  }

  private releaseTranscoder(): void {
    this.transcoder?.release()
    this.transcoder = undefined
  }

  get mode(): ModeKind {
    return this.active.kind
  }

  get closed(): boolean {
    return this.isClosed
  }

  /** Sets (or, on a re-INVITE, changes) the negotiated remote. A new address or port drops the latched ports. */
  setRemote(remote: RtpRemote): void {
    this.ensureOpen()
    const previous = this.remoteInfo
    if (previous === undefined || previous.address !== remote.address || previous.rtpPort !== remote.rtpPort || previous.rtcpPort !== remote.rtcpPort) {
      this.formerSource = previous !== undefined && remote.newParty === true ? `${previous.address}:${this.latchedRtpPort ?? previous.rtpPort}` : undefined
      this.latchedRtpPort = undefined
      this.latchedRtcpPort = undefined
    }
    if (previous !== undefined && previous.codec !== remote.codec) this.releaseTranscoder()
    this.remoteInfo = remote
    this.checkPayloads = !isG711(remote.codec)
    this.sender.setClockRate(CODEC_PROFILES[remote.codec].clockRate)
    this.reception.setClockRate(CODEC_PROFILES[remote.codec].clockRate)
    if (!sameKeys(this.srtpKeys, remote.srtp)) {
      this.srtpKeys = remote.srtp
      this.srtp = remote.srtp === undefined ? undefined : new SrtpSession(remote.srtp.suite, asBuffer(remote.srtp.localKey), asBuffer(remote.srtp.remoteKey))
    }
    this.target.address = remote.address
    this.target.port = this.latchedRtpPort ?? remote.rtpPort
    this.sender.resync()
    if (this.rtcpTimer === undefined && this.rtcpIntervalMs > 0) this.scheduleReport()
  }

  /** Our RTP as it leaves: encrypted when SRTP is on (the plain packet's slot is free at once). */
  private sendMaybeProtected(datagram: Buffer, port: number, address: string, sent: () => void): void {
    const srtp = this.srtp
    if (srtp === undefined) {
      this.options.sendRtp(datagram, port, address, sent)
      return
    }
    const wire = srtp.protectRtp(datagram)
    sent()
    this.options.sendRtp(wire, port, address, noop)
  }

  /** An RTP datagram that arrived at our RTP port (an RTCP one there is taken as rtcp-mux). */
  onRtp(received: Buffer, fromAddress: string, fromPort: number, arrivalMs: number): void {
    if (this.isClosed) return
    const remote = this.remoteInfo
    if (remote === undefined || fromAddress !== remote.address || (this.latchedRtpPort !== undefined && fromPort !== this.latchedRtpPort)) {
      this.droppedForeignSource++
      return
    }
    if (this.latchedRtpPort === undefined && this.formerSource !== undefined && this.formerSource === `${fromAddress}:${fromPort}`) {
      this.droppedForeignSource++
      return
    }
    if (isRtcp(received)) {
      this.acceptRtcp(received, fromAddress, fromPort, arrivalMs, true)
      return
    }
    const datagram = this.srtp === undefined ? received : this.srtp.unprotectRtp(received)
    if (datagram === undefined) {
      this.droppedSrtp++
      return
    }
    const packet = parseRtp(datagram, this.packet)
    if (!packet.ok) {
      this.droppedMalformed++
      return
    }
    const telephoneEvent = packet.payloadType === remote.telephoneEventPayloadType
    if (packet.payloadType !== remote.payloadType && !telephoneEvent) {
      this.droppedPayloadType++
      return
    }
    if (this.checkPayloads && !telephoneEvent && payloadTicks(remote.codec, packet.payload) === 0) {
      this.droppedUndecodable++
      return
    }
    const stats = this.reception.statsFor(packet)
    if (stats === undefined) {
      this.droppedForeignSource++
      return
    }
    if (this.latchedRtpPort === undefined) {
      this.latchedRtpPort = fromPort
      this.target.port = fromPort
    }
    if (stats.onPacket(packet.sequenceNumber, packet.timestamp, arrivalMs, packet.payload.length) === 'duplicate') {
      this.duplicates++
      return
    }
    this.bytesReceived += packet.payload.length
    this.active.onMedia(packet, telephoneEvent, arrivalMs)
  }

  /** An RTCP datagram that arrived at our RTCP port. */
  onRtcp(datagram: Buffer, fromAddress: string, fromPort: number, arrivalMs: number): void {
    this.acceptRtcp(datagram, fromAddress, fromPort, arrivalMs, false)
  }

  private acceptRtcp(received: Buffer, fromAddress: string, fromPort: number, arrivalMs: number, muxed: boolean): void {
    if (this.isClosed) return
    const remote = this.remoteInfo
    if (remote === undefined || fromAddress !== remote.address) {
      this.droppedForeignSource++
      return
    }
    const datagram = this.srtp === undefined ? received : this.srtp.unprotectRtcp(received)
    if (datagram === undefined) {
      this.droppedSrtcp++
      return
    }
    const parsed = parseRtcp(datagram)
    if (!parsed.ok) {
      this.droppedMalformed++
      return
    }
    this.latchedRtcpPort ??= fromPort
    this.rtcpReceived++
    for (const packet of parsed.packets) this.applyRtcp(packet, arrivalMs)
    this.options.onRtcpReport?.({direction: 'in', datagram, address: fromAddress, port: fromPort, muxed, timestampMs: arrivalMs})
  }

  /** Switches mode; a play resolves when it has played out (or was interrupted). Throws on a file that cannot be opened. */
  setMode(mode: PlayStreamMode): Promise<PlayOutcome>
  setMode(mode: Exclude<StreamMode, PlayStreamMode>): void
  setMode(mode: StreamMode): Promise<PlayOutcome> | void
  setMode(mode: StreamMode): Promise<PlayOutcome> | void {
    this.ensureOpen()
    switch (mode.kind) {
      case 'silence':
        this.replaceMode(new SilenceMode())
        return
      case 'echo':
        this.replaceMode(new EchoMode(this.host))
        return
      case 'tap': {
        const codec = this.remoteInfo?.codec
        this.replaceMode(new TapMode(this.host, mode.listener, codec === undefined || isG711(codec) ? undefined : new UlawTapAdapter(codec, this.remoteInfo?.maxBitrate)))
        return
      }
      case 'record': {
        const codec = this.requireCodec('record')
        this.replaceMode(isG711(codec) ? new RecordMode(this.host, mode.path, codec) : new DecodedRecordMode(this.host, mode.path, codec))
        return
      }
      case 'play': {
        const play = new PlayMode(this.host, this.requireCodec('play'), mode.source, mode.loop ?? false, this.ticker, this.remoteInfo?.maxBitrate)
        this.replaceMode(play)
        return play.done
      }
    }
  }

  /** Bridges this stream and `peer` both ways: each sends what the other receives (transcoding when the codecs differ). */
  relayTo(peer: RtpStream): void {
    this.ensureOpen()
    peer.ensureOpen()
    if (peer === this) throw new Error('a stream cannot relay to itself')
    if (this.active instanceof RelayMode && this.active.peer === peer.relayEndpoint) return
    this.replaceMode(new RelayMode(this.relayEndpoint, peer.relayEndpoint, () => this.remoteInfo?.codec))
    peer.replaceMode(new RelayMode(peer.relayEndpoint, this.relayEndpoint, () => peer.remoteInfo?.codec))
  }

  /** In tap mode, sends one frame now (in the remote's codec; µ-law when that is G.722 or Opus); false when the stream is in another mode. */
  inject(payload: Uint8Array, nowMs: number = this.now()): boolean {
    if (this.isClosed || !(this.active instanceof TapMode)) return false
    this.active.inject(payload, nowMs)
    return true
  }

  /** Sends an RTCP compound report now (SR or RR, SDES CNAME, and BYE when given). */
  sendReport(bye?: {readonly reason?: string}): void {
    const remote = this.remoteInfo
    if (remote === undefined) return
    const nowMs = this.now()
    let sender
    if (this.sender.sentSinceReport) {
      const ntp = unixMsToNtp(nowMs)
      sender = {
        ntpSeconds: ntp.seconds,
        ntpFraction: ntp.fraction,
        rtpTimestamp: this.sender.rtpTimestampAt(nowMs),
        packetCount: this.sender.packetsSent,
        octetCount: this.sender.octetsSent,
      }
      this.sender.sentSinceReport = false
    }
    const datagram = buildCompoundReport({ssrc: this.ssrc, cname: this.cname, sender, reports: this.reception.reportBlocks(nowMs), bye})
    this.rtcpSent++
    const port = this.latchedRtcpPort ?? remote.rtcpPort ?? remote.rtpPort + 1
    this.options.sendRtcp(this.srtp === undefined ? datagram : this.srtp.protectRtcp(datagram), port, remote.address, noop)
    this.options.onRtcpReport?.({direction: 'out', datagram, address: remote.address, port, muxed: false, timestampMs: nowMs})
  }

  /** Figures since the stream began; lossRatio covers the interval since the previous call. */
  quality(): StreamQuality {
    const totals = this.reception.totals()
    const codec = this.remoteInfo?.codec
    const oneWayDelayMs = (this.rttMs ?? 0) / 2 + JITTER_BUFFER_FACTOR * totals.jitterMs + FRAME_MS
    return {
      codec: codec ?? '',
      packetsSent: this.sender.packetsSent,
      packetsReceived: totals.received,
      packetsLost: totals.lost,
      bytesSent: this.sender.octetsSent,
      lossRatio: totals.intervalLossRatio,
      jitterMs: totals.jitterMs,
      rttMs: this.rttMs,
      // Before negotiation G.711 is what we would use.
      estimatedMos: estimateMos({codec: codec ?? 'PCMU', packetLossPercent: totals.expected > 0 ? (100 * totals.lost) / totals.expected : 0, oneWayDelayMs}).mos,
    }
  }

  counters(): StreamCounters {
    return {
      bytesReceived: this.bytesReceived,
      packetsDropped: this.droppedMalformed + this.droppedForeignSource + this.droppedPayloadType + this.droppedSrtp + this.droppedSrtcp + this.droppedUndecodable,
      droppedMalformed: this.droppedMalformed,
      droppedForeignSource: this.droppedForeignSource,
      droppedPayloadType: this.droppedPayloadType,
      droppedSrtp: this.droppedSrtp,
      droppedSrtcp: this.droppedSrtcp,
      droppedUndecodable: this.droppedUndecodable,
      duplicates: this.duplicates,
      rtcpSent: this.rtcpSent,
      rtcpReceived: this.rtcpReceived,
      remoteSsrc: this.reception.sourceSsrc ?? null,
    }
  }

  /** Ends the mode (closing a recording, interrupting a play), sends RTCP BYE, and returns the final quality. */
  close(reason?: string): StreamQuality {
    if (!this.isClosed) {
      this.replaceMode(new SilenceMode())
      if (this.rtcpTimer !== undefined) clearTimeout(this.rtcpTimer)
      this.rtcpTimer = undefined
      this.sendReport({reason})
      this.releaseTranscoder()
      this.isClosed = true
    }
    return this.quality()
  }

  private replaceMode(next: ActiveMode): void {
    const previous = this.active
    // Set first: stopping a relay makes its peer call back into unrelay().
    this.active = next
    this.sender.resync()
    previous.stop()
    if (previous instanceof RelayMode) this.releaseTranscoder()
  }

  private requireCodec(mode: ModeKind): StreamCodec {
    if (this.remoteInfo === undefined) throw new Error(`${mode} needs the remote (and its codec) to be set first`)
    return this.remoteInfo.codec
  }

  private ensureOpen(): void {
    if (this.isClosed) throw new Error('RTP stream is closed')
  }

  private applyRtcp(packet: RtcpPacket, arrivalMs: number): void {
    if (packet.type !== 'SR' && packet.type !== 'RR') return
    if (packet.type === 'SR') this.reception.onSenderReport(packet.ssrc, packet.ntpSeconds, packet.ntpFraction, arrivalMs)
    for (const block of packet.reports) {
      if (block.ssrc !== this.ssrc) continue
      const rtt = roundTripTimeMs(arrivalMs, block)
      if (rtt !== undefined) this.rttMs = rtt
    }
  }

  private scheduleReport(): void {
    // RFC 3550 §6.3.1: a uniform 0.5..1.5 × the interval, so reports of many streams do not synchronize.
    const delay = this.rtcpIntervalMs * (0.5 + this.random())
    this.rtcpTimer = setTimeout(() => {
      this.rtcpTimer = undefined
      if (this.isClosed) return
      this.sendReport()
      this.scheduleReport()
    }, delay)
    this.rtcpTimer.unref()
  }
}

const noop = (): void => {}

const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(asBuffer(a), asBuffer(b)) === 0

/** Whether a re-negotiation kept the SRTP keys (then the session, its rollover counters and replay windows, go on). */
const sameKeys = (a: RtpRemote['srtp'], b: RtpRemote['srtp']): boolean =>
  a === b || (a !== undefined && b !== undefined && a.suite === b.suite && sameBytes(a.localKey, b.localKey) && sameBytes(a.remoteKey, b.remoteKey))
