// Everything a media shard does, apart from being a worker thread: it binds
// the port pairs, hosts the RtpStreams, executes the engine's commands and
// reports quality, play endings, tapped audio and event-loop lag. It talks to
// the engine through `post` only, so it also runs in-thread under test.
import type {Socket} from 'node:dgram'
import {isIP, isIPv6} from 'node:net'
import {setImmediate as nextLoopTurn} from 'node:timers/promises'
import type {TransferListItem} from 'node:worker_threads'
import {rtcpReportJson} from '../../src/hep/rtcp-json.js'
import {STREAM_CODECS} from '../../src/media/codecs.js'
import {wallClockMs} from '../../src/media/frame-ticker.js'
import {isOpusBitrate, OpusPcmDecoder} from '../../src/media/opus.js'
import {RtpStream, type DatagramSender, type RtpRemote, type StreamMode} from '../../src/media/rtp-stream.js'
import {LagMonitor} from './lag-monitor.js'
import {PacketRate, PIPED_PACKETS_PER_S} from './packet-rate.js'
import {packOne, unpackPiped} from './piped-rtp.js'
import {PortPairPool, PortsExhaustedError} from './port-pool.js'
import type {ModeSpec, QualityReport, ReplyResults, RequestType, RtcpCaptureReport, ShardCommand, ShardErrorCode, ShardEvent, ShardInit} from './protocol.js'

export type PostEvent = (event: ShardEvent, transfer?: readonly TransferListItem[]) => void
/** Sends one RTP datagram of a piped stream to the engine (copied before it returns). */
export type PostPiped = (streamId: number, datagram: Uint8Array) => void

/** A request the shard refuses, with the code the engine acts on. */
export class ShardRequestError extends Error {
  constructor(
    readonly code: ShardErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ShardRequestError'
  }
}

interface HostedStream {
  readonly id: number
  readonly callSid: string
  /** 0 for a piped stream, which binds no ports. */
  readonly port: number
  /** Absent for a piped stream: its RTP crosses the port to the main thread. */
  readonly rtp: Socket | undefined
  readonly rtcp: Socket | undefined
  readonly stream: RtpStream
  /** A piped stream's remote as set-remote named it: the source its piped datagrams are given, so the stream's source check holds. */
  pipedSource: {readonly address: string; readonly port: number} | undefined
}

const LAG_BATCH_MS = 1000
/** RTCP reports for capture go to the engine in batches: at most this late, or once RTCP_BATCH_MAX have gathered. */
const RTCP_BATCH_MS = 100
const RTCP_BATCH_MAX = 64

/** IPv6 literals in the form rinfo.address reports them, so the source check compares like with like. */
const canonicalAddress = (address: string): string => (isIPv6(address) ? new URL(`http://[${address}]`).hostname.slice(1, -1) : address)

const isPort = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65_535
const isPayloadType = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 127

const checkRemote = (remote: RtpRemote, localAddress: string): RtpRemote => {
  if (isIP(remote.address) !== isIP(localAddress)) throw new ShardRequestError('invalid', `remote address ${remote.address} is not of the same family as the local ${localAddress}`)
  if (!isPort(remote.rtpPort) || (remote.rtcpPort !== undefined && !isPort(remote.rtcpPort))) throw new ShardRequestError('invalid', `invalid remote ports ${remote.rtpPort}/${remote.rtcpPort}`)
  if (!isPayloadType(remote.payloadType) || (remote.telephoneEventPayloadType !== undefined && !isPayloadType(remote.telephoneEventPayloadType))) {
    throw new ShardRequestError('invalid', `invalid payload types ${remote.payloadType}/${remote.telephoneEventPayloadType}`)
  }
  if (!STREAM_CODECS.includes(remote.codec)) throw new ShardRequestError('invalid', `unsupported codec ${String(remote.codec)}`)
  if (remote.maxBitrate !== undefined && !isOpusBitrate(remote.maxBitrate)) {
    throw new ShardRequestError('invalid', `invalid maximum bitrate ${String(remote.maxBitrate)}`)
  }
  return {...remote, address: canonicalAddress(remote.address)}
}

const closeSocket = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    try {
      socket.close(() => resolve())
    } catch {
      resolve()
    }
  })

/** dgram's send callback is the stream's "sent": UDP send errors count as lost packets, like any loss on the way. */
const senderOn = (socket: Socket): DatagramSender => (datagram, port, address, sent) => socket.send(datagram, port, address, sent)

/** A piped stream's RTCP goes nowhere: the transport beside the client (WebRTC, QUIC) reports on its own leg. */
const discardSender: DatagramSender = (_datagram, _port, _address, sent) => sent()

export class ShardHost {
  private readonly streams = new Map<number, HostedStream>()
  private readonly pool: PortPairPool
  private readonly lag: LagMonitor
  private qualityTimer: NodeJS.Timeout | undefined
  private shuttingDown = false
  /** Forward RTCP reports to the engine (HEP capture); off, the hot path pays one boolean test per report. */
  private rtcpCapture: boolean
  private rtcpBatch: RtcpCaptureReport[] = []
  private rtcpBatchTimer: NodeJS.Timeout | undefined

  /** Without `postPiped` (in-thread, under test) each datagram is its own 'piped-rtp' event. */
  constructor(
    private readonly init: ShardInit,
    private readonly post: PostEvent,
    private readonly postPiped: PostPiped = (streamId, datagram) => {
      const packed = packOne(streamId, datagram)
      post({type: 'piped-rtp', packed}, [packed.buffer as ArrayBuffer])
    },
  ) {
    this.rtcpCapture = init.rtcpCapture ?? false
    this.pool = new PortPairPool(init.address, {firstPort: init.firstPort, pairCount: init.pairCount})
    this.lag = new LagMonitor(init.lagProbeIntervalMs, LAG_BATCH_MS, (samplesUs) => this.post({type: 'lag', samplesUs}, [samplesUs.buffer as ArrayBuffer]))
  }

  get streamCount(): number {
    return this.streams.size
  }

  start(): void {
    // Compiles libopus's WebAssembly now rather than on the first Opus call, when it would hold up every stream of the shard.
    if (this.init.preloadOpus === true) new OpusPcmDecoder(8000).delete()
    this.lag.start()
    this.qualityTimer = setInterval(() => this.reportQuality(), this.init.qualityIntervalMs)
    this.post({type: 'ready'})
  }

  /** Executes one command; requests are answered with a reply event, failures included. */
  handle(command: ShardCommand): void {
    if (command.type === 'piped-rtp') {
      unpackPiped(command.packed, this.receivePiped)
      return
    }
    if (command.type === 'inject') {
      this.streams.get(command.streamId)?.stream.inject(command.payload)
      return
    }
    if (command.type === 'collect-garbage') {
      const gc = (globalThis as {gc?: unknown}).gc
      if (typeof gc === 'function') (gc as () => void)()
      return
    }
    if (command.type === 'rtcp-capture') {
      this.rtcpCapture = command.enabled
      if (!command.enabled) {
        clearTimeout(this.rtcpBatchTimer)
        this.rtcpBatchTimer = undefined
        this.rtcpBatch = []
      }
      return
    }
    this.execute(command).then(
      (result) => this.post({type: 'reply', requestId: command.requestId, ok: true, result}),
      (error: unknown) => {
        const code = error instanceof ShardRequestError ? error.code : error instanceof PortsExhaustedError ? 'ports-exhausted' : 'failed'
        const message = error instanceof Error ? error.message : String(error)
        this.post({type: 'reply', requestId: command.requestId, ok: false, code, message})
      },
    )
  }

  /** Closes every stream and stops the timers; returns the final quality of each stream. */
  async shutdown(): Promise<QualityReport[]> {
    this.shuttingDown = true
    this.lag.stop()
    if (this.qualityTimer !== undefined) clearInterval(this.qualityTimer)
    const finals = await Promise.all([...this.streams.keys()].map((id) => this.closeStream(id)))
    // The closing reports (RTCP BYE) of the last streams still reach capture.
    this.flushRtcp()
    return finals
  }

  private async execute(command: Exclude<ShardCommand, {type: 'inject' | 'piped-rtp' | 'rtcp-capture' | 'collect-garbage'}>): Promise<ReplyResults[RequestType]> {
    if (this.shuttingDown && command.type !== 'shutdown') throw new ShardRequestError('failed', 'the media shard is shutting down')
    switch (command.type) {
      case 'create':
        return this.createStream(command.streamId, command.callSid, command.piped === true)
      case 'set-remote': {
        const hosted = this.hosted(command.streamId)
        const remote = checkRemote(command.remote, this.init.address)
        hosted.stream.setRemote(remote)
        if (hosted.rtp === undefined) hosted.pipedSource = {address: remote.address, port: remote.rtpPort}
        return {}
      }
      case 'set-mode':
        this.setMode(this.hosted(command.streamId), command.mode, command.requestId)
        return {}
      case 'relay': {
        const peer = this.hosted(command.peerId)
        this.hosted(command.streamId).stream.relayTo(peer.stream)
        return {}
      }
      case 'close':
        return this.closeStream(command.streamId)
      case 'shutdown':
        return {finals: await this.shutdown()}
    }
  }

  private hosted(streamId: number): HostedStream {
    const hosted = this.streams.get(streamId)
    if (hosted === undefined) throw new ShardRequestError('unknown-stream', `no media stream ${streamId} on shard ${this.init.shard}`)
    return hosted
  }

  private async createStream(id: number, callSid: string, piped: boolean): Promise<ReplyResults['create']> {
    if (this.streams.has(id)) throw new ShardRequestError('invalid', `media stream ${id} exists already`)
    const sockets = piped ? undefined : await this.pool.bind()
    const port = sockets?.port ?? 0
    const stream = new RtpStream({
      sendRtp: sockets === undefined ? this.pipedSender(id) : senderOn(sockets.rtp),
      sendRtcp: sockets === undefined ? discardSender : senderOn(sockets.rtcp),
      rtcpIntervalMs: this.init.rtcpIntervalMs,
      onError: (error) => this.post({type: 'stream-error', streamId: id, message: error.message}),
      onRtcpReport: (report) => {
        if (!this.rtcpCapture || sockets === undefined) return
        const json = rtcpReportJson(report.datagram)
        if (json === undefined) return
        // Reports leave from the RTCP socket; received ones arrive there, or on the RTP port with rtcp-mux.
        const localPort = report.direction === 'in' && report.muxed ? port : port + 1
        this.queueRtcp({streamId: id, callSid, direction: report.direction, json: JSON.stringify(json), local: {address: this.init.address, port: localPort}, remote: {address: report.address, port: report.port}, timestampMs: report.timestampMs})
      },
    })
    if (sockets !== undefined) {
      const {rtp, rtcp} = sockets
      rtp.on('message', (datagram, from) => stream.onRtp(datagram, from.address, from.port, wallClockMs()))
      rtcp.on('message', (datagram, from) => stream.onRtcp(datagram, from.address, from.port, wallClockMs()))
      // With a send callback dgram reports send errors there; these catch the rest (a socket that fails outright).
      const onSocketError = (error: Error): void => this.post({type: 'stream-error', streamId: id, message: `socket: ${error.message}`})
      rtp.on('error', onSocketError)
      rtcp.on('error', onSocketError)
    }
    this.streams.set(id, {id, callSid, port, rtp: sockets?.rtp, rtcp: sockets?.rtcp, stream, pipedSource: undefined})
    return {localPort: port}
  }

  /**
   * A piped stream's RTP leaves packed for the engine (a copy: the stream reuses its buffer once `sent` is
   * called), at most PIPED_PACKETS_PER_S: a far end that floods the stream's relay peer has the excess
   * dropped here (said once, as a stream error), not queued for the main thread.
   */
  private pipedSender(streamId: number): DatagramSender {
    const rate = new PacketRate()
    return (datagram, _port, _address, sent) => {
      if (rate.admit()) this.postPiped(streamId, datagram)
      else if (rate.dropped === 1) this.post({type: 'stream-error', streamId, message: `piped RTP beyond ${PIPED_PACKETS_PER_S} packets a second is dropped`})
      sent()
    }
  }

  /** A datagram from a piped stream's remote; dropped until set-remote has named the remote, as a socket's would be. */
  private readonly receivePiped = (streamId: number, datagram: Buffer): void => {
    const hosted = this.streams.get(streamId)
    const source = hosted?.pipedSource
    if (hosted === undefined || source === undefined) return
    hosted.stream.onRtp(datagram, source.address, source.port, wallClockMs())
  }

  private setMode(hosted: HostedStream, spec: ModeSpec, requestId: number): void {
    const {stream, id} = hosted
    if (spec.kind === 'play') {
      stream.setMode({kind: 'play', source: spec.source, loop: spec.loop}).then((outcome) => this.post({type: 'play-ended', streamId: id, requestId, outcome}))
      return
    }
    let mode: Exclude<StreamMode, {kind: 'play'}>
    if (spec.kind === 'tap') {
      mode = {
        kind: 'tap',
        listener: (payload, info) => {
          // A copy of just the payload: a view would clone the whole datagram's buffer across the port.
          const copy = new Uint8Array(payload)
          const event: ShardEvent = {type: 'tap', streamId: id, payload: copy, sequenceNumber: info.sequenceNumber, timestamp: info.timestamp, telephoneEvent: info.telephoneEvent}
          this.post(event, [copy.buffer as ArrayBuffer])
        },
      }
    } else {
      mode = spec
    }
    stream.setMode(mode)
  }

  private async closeStream(id: number): Promise<QualityReport> {
    const hosted = this.hosted(id)
    this.streams.delete(id)
    const quality = hosted.stream.close()
    const report = {streamId: id, quality, counters: hosted.stream.counters()}
    // dgram resolves the destination on the next tick: let the RTCP BYE leave before its socket closes.
    if (hosted.rtp === undefined || hosted.rtcp === undefined) return report
    await nextLoopTurn()
    await Promise.all([closeSocket(hosted.rtp), closeSocket(hosted.rtcp)])
    this.pool.release(hosted.port)
    return report
  }

  private queueRtcp(report: RtcpCaptureReport): void {
    this.rtcpBatch.push(report)
    if (this.rtcpBatch.length >= RTCP_BATCH_MAX) this.flushRtcp()
    else this.rtcpBatchTimer ??= setTimeout(() => this.flushRtcp(), RTCP_BATCH_MS)
  }

  private flushRtcp(): void {
    clearTimeout(this.rtcpBatchTimer)
    this.rtcpBatchTimer = undefined
    if (this.rtcpBatch.length === 0) return
    const reports = this.rtcpBatch
    this.rtcpBatch = []
    this.post({type: 'rtcp', reports})
  }

  private reportQuality(): void {
    if (this.streams.size === 0) return
    const reports: QualityReport[] = []
    for (const {id, stream} of this.streams.values()) reports.push({streamId: id, quality: stream.quality(), counters: stream.counters()})
    this.post({type: 'quality', reports})
  }
}
