// An SDK client over QUIC (docs/quic.md), on @matrixai/quic (the same QUIC
// stack as the daemon, as a client): it pins the gateway's certificate by its
// SHA-256, opens one stream per RPC with length-prefixed frames
// (src/rpc/stream-frames.ts), sends a tone as RTP in QUIC datagrams and counts
// the audio that comes back. `clutchcall smoke` places its QUIC call with it;
// the tests wrap it (test/helpers/quic-client.ts).
import {createHash, webcrypto} from 'node:crypto'
import {isIPv6} from 'node:net'
import {events, native, QUICClient, type QUICStream} from '@matrixai/quic'
import pino from 'pino'
import {ToneGenerator} from '../media/tone.js'
import {decodeFrame, encodeFrame, RPC_METHODS, type RpcFrame, type RpcMethodName} from '../rpc/protocol.js'
import {encodeStreamFrame, StreamFrameReader} from '../rpc/stream-frames.js'
import {attachDatagrams, holdEarlyStreams, libraryLogger, type DatagramChannel} from './library.js'

/** The ALPN of the gateway's QUIC listener. */
export const QUIC_SDK_ALPN = 'clutchcall-sdk/1'

export interface QuicReply {
  readonly kind: 'response' | 'error' | 'event'
  readonly payload: Record<string, unknown>
}

/** How the connection ended, as the client saw it (the CONNECTION_CLOSE of the gateway). */
export interface QuicClose {
  readonly isApp: boolean
  readonly code: number
  readonly reason: string
}

export const quietLog = pino({level: 'silent'})

export interface QuicConnectOptions {
  /** The gateway's address; default 127.0.0.1. */
  readonly host?: string
  readonly alpn?: string
  /** The certificate's SHA-256 as `clutchcall status` prints it; the handshake fails on another. */
  readonly sha256?: string
  readonly idleTimeoutMs?: number
  /** PINGs while quiet, so the gateway's idle timeout does not close the connection (0: none). */
  readonly keepAliveMs?: number
  /** Gives up a handshake that has not completed by then (a gateway that drops the connection never answers). */
  readonly connectTimeoutMs?: number
}

/** The certificate's SHA-256 as `status` shows it: colon-separated upper-case hex. */
export const certificateFingerprint = (der: Uint8Array): string =>
  createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:')

/** The library's crypto source for a client: connection ids and such from the system's CSPRNG. */
export const clientCrypto = {ops: {randomBytes: async (data: ArrayBuffer) => void webcrypto.getRandomValues(new Uint8Array(data))}}

/** The local address to bind for a gateway at `host`: loopback stays on loopback (tests bind 127.0.0.1), else any. */
const localHostFor = (host: string): string => (host.startsWith('127.') ? '127.0.0.1' : host === '::1' ? '::1' : isIPv6(host) ? '::' : '0.0.0.0')

/**
 * An error's message with its cause's (the library wraps a reset or a connection's close in errors of its own),
 * on one line of at most 300 characters: it reaches an operator's terminal (`smoke`), and a hostile gateway
 * must not write control sequences there or flood it.
 */
const reasonOf = (error: unknown): string => {
  const text = (value: Error): string => value.message || value.name
  const whole = !(error instanceof Error) ? String(error) : `${text(error)}${error.cause instanceof Error ? `: ${text(error.cause)}` : ''}`
  // eslint-disable-next-line no-control-regex
  return whole.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 300)
}

/** One RPC stream: its frames as they come, and whether it has ended. */
export class RpcStream {
  readonly frames: RpcFrame[] = []
  ended = false
  /** Why reading stopped, when it was not the gateway's orderly end of the stream (a reset, the connection gone). */
  endReason: string | undefined
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  /** Told of every frame and of the end (reply() waits on it rather than polling, so round trips can be timed). */
  private readonly watchers = new Set<() => void>()

  constructor(readonly stream: QUICStream) {
    this.writer = stream.writable.getWriter()
    this.reader = stream.readable.getReader()
    void this.read()
  }

  private async read(): Promise<void> {
    const reader = this.reader
    const frames = new StreamFrameReader()
    try {
      for (;;) {
        const {value, done} = await reader.read()
        if (done) break
        for (const frame of frames.push(value)) this.frames.push(decodeFrame(frame))
        for (const watcher of this.watchers) watcher()
      }
    } catch (error) {
      // Reset or connection gone: the stream has ended either way; the reason goes with a missing reply.
      this.endReason = reasonOf(error)
    }
    this.ended = true
    for (const watcher of this.watchers) watcher()
  }

  /** Calls `watcher` on every frame and at the end until the returned function is called. */
  watch(watcher: () => void): () => void {
    this.watchers.add(watcher)
    return () => this.watchers.delete(watcher)
  }

  async write(bytes: Uint8Array, end = true): Promise<void> {
    await this.writer.write(bytes)
    if (end) await this.writer.close()
  }

  /** The first response or error frame. */
  reply(timeoutMs = 10_000): Promise<QuicReply> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const frame = this.frames.find((candidate) => candidate.kind === 'response' || candidate.kind === 'error')
        if (frame) done(() => resolve({kind: frame.kind as QuicReply['kind'], payload: frame.payload}))
        else if (this.ended) done(() => reject(new Error(`the stream ended without a reply (${this.frames.length} frames${this.endReason === undefined ? '' : `; ${this.endReason}`})`)))
      }
      const timer = setTimeout(() => done(() => reject(new Error(`no reply on the stream within ${timeoutMs} ms`))), timeoutMs)
      const unwatch = this.watch(check)
      const done = (settle: () => void): void => {
        clearTimeout(timer)
        unwatch()
        settle()
      }
      check()
    })
  }

  /** Stops reading and sending on it (RESET_STREAM and STOP_SENDING): the gateway ends what it carried. */
  async cancel(): Promise<void> {
    await this.writer.abort(new Error('cancelled')).catch(() => undefined)
    await this.reader.cancel(new Error('cancelled')).catch(() => undefined)
  }
}

/** Opens the QUIC connection (the handshake, with the certificate pinned when `sha256` is given). */
export const dialQuic = async (port: number, options: QuicConnectOptions = {}): Promise<{connection: QUICClient; handshakeMs: number}> => {
  holdEarlyStreams()
  const host = options.host ?? '127.0.0.1'
  const start = performance.now()
  const connection = await QUICClient.createQUICClient(
    {
      host,
      port,
      localHost: localHostFor(host),
      logger: libraryLogger(quietLog),
      crypto: clientCrypto,
      config: {
        applicationProtos: [options.alpn ?? QUIC_SDK_ALPN],
        verifyPeer: options.sha256 !== undefined,
        // A self-signed certificate is trusted by its pinned hash, nothing else.
        ...(options.sha256 === undefined ? {} : {verifyCallback: async (certs: Uint8Array[]) => (certs[0] && certificateFingerprint(certs[0]) === options.sha256 ? undefined : native.CryptoError.BadCertificate)}),
        enableDgram: [true, 128, 128],
        maxIdleTimeout: options.idleTimeoutMs ?? 30_000,
        ...(options.keepAliveMs === 0 ? {} : {keepAliveIntervalTime: options.keepAliveMs ?? 1000}),
      },
    },
    {timer: options.connectTimeoutMs ?? 10_000},
  )
  return {connection, handshakeMs: performance.now() - start}
}

/** 440 Hz at 8 kHz repeats every 200 samples (11 cycles). */
const TONE_PERIOD_SAMPLES = 200
/**
 * The tone's µ-law samples (src/media/tone.ts, −10 dBm0), two periods long so any 160 of them starting
 * within the first period are one slice: made once, not per packet (a benchmark's hundreds of clients
 * share one process's CPU).
 */
const TONE_ULAW = ((): Uint8Array => {
  const generator = new ToneGenerator({frequencyHz: 440})
  const frames = Buffer.concat([generator.nextUlawFrame(), generator.nextUlawFrame(), generator.nextUlawFrame()])
  return frames.subarray(0, 2 * TONE_PERIOD_SAMPLES)
})()

/** The tone's 160 µ-law samples (20 ms) from sample `sampleIndex` on: a view of the table, not a copy. */
export const tonePayload = (sampleIndex: number): Uint8Array => {
  const start = sampleIndex % TONE_PERIOD_SAMPLES
  return TONE_ULAW.subarray(start, start + 160)
}

/** The SDK's RPCs and datagram audio on one QUIC connection. */
export class QuicRpcClient {
  readonly events: Array<Record<string, unknown>> = []
  readonly streams: RpcStream[] = []
  /** The close the gateway sent, once the connection has ended. */
  closeInfo: QuicClose | undefined
  receivedAudio = 0
  /** Received RTP whose payload is 160 bytes of µ-law that is not silence. */
  receivedTone = 0
  /** Tone datagrams sent (and queued: a false from the channel is not counted). */
  sentTone = 0
  /** Tone packets the connection refused to queue (datagram queue full, closing): a gap the far end counts as loss. */
  unsentTone = 0
  private nextRequestId = 1
  private toneTimer: NodeJS.Timeout | undefined
  private readonly datagrams: DatagramChannel

  constructor(readonly client: QUICClient) {
    const connection = client.connection
    this.datagrams = attachDatagrams(connection, (datagram) => {
      if (datagram.length < 12 || (datagram[1] ?? 0) !== 0) return
      this.receivedAudio++
      const payload = datagram.subarray(12)
      // µ-law silence is 0xff/0x7f; the echoed tone is not.
      if (payload.length === 160 && payload.some((byte) => byte !== 0xff && byte !== 0x7f)) this.receivedTone++
    })
    connection.addEventListener(events.EventQUICConnectionError.name, (event: Event) => {
      const detail = (event as unknown as events.EventQUICConnectionError).detail as {data?: {isApp?: boolean; errorCode?: number; reason?: Uint8Array}} | null
      const data = detail?.data
      if (data && this.closeInfo === undefined) this.closeInfo = {isApp: Boolean(data.isApp), code: Number(data.errorCode), reason: Buffer.from(data.reason ?? new Uint8Array()).toString('utf8')}
    })
  }

  /** The handshake, then a client on the connection; `handshakeMs` is how long the handshake took here. */
  static async connect(port: number, options: QuicConnectOptions = {}): Promise<{client: QuicRpcClient; handshakeMs: number}> {
    const {connection, handshakeMs} = await dialQuic(port, options)
    return {client: new QuicRpcClient(connection), handshakeMs}
  }

  get closed(): boolean {
    return this.client.connection.closed
  }

  /** Opens a stream and writes `bytes` on it (a whole frame with its prefix, or anything). */
  async raw(bytes: Uint8Array, end = true): Promise<RpcStream> {
    const opened = new RpcStream(this.client.connection.newStream('bidi'))
    this.streams.push(opened)
    await opened.write(bytes, end)
    return opened
  }

  /** Sends one request on a new stream and resolves with its stream (frames come as they arrive). */
  async call(methodId: number, params: Record<string, unknown> = {}): Promise<RpcStream> {
    const requestId = this.nextRequestId++
    return this.raw(encodeStreamFrame(encodeFrame({kind: 'request', methodId, requestId, payload: params})))
  }

  async request(method: RpcMethodName, params: Record<string, unknown> = {}, timeoutMs?: number): Promise<QuicReply> {
    return (await this.call(RPC_METHODS[method].id, params)).reply(timeoutMs)
  }

  open(token: string | undefined): Promise<QuicReply> {
    return this.request('session.open', token === undefined ? {} : {token})
  }

  /** events.subscribe: its events are collected in `events` while the stream stays open. */
  async subscribe(params: Record<string, unknown> = {}): Promise<{reply: QuicReply; stream: RpcStream}> {
    const opened = await this.call(RPC_METHODS['events.subscribe'].id, params)
    const reply = await opened.reply()
    const collect = (): void => {
      for (const frame of opened.frames.splice(0)) if (frame.kind === 'event') this.events.push(frame.payload)
    }
    collect()
    opened.watch(collect)
    return {reply, stream: opened}
  }

  /** Resolves with the first event (collected by `subscribe`) that `predicate` takes, or undefined after `timeoutMs`. */
  nextEvent(predicate: (event: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs
      const check = (): void => {
        const found = this.events.find(predicate)
        if (found !== undefined || Date.now() >= deadline) resolve(found)
        else setTimeout(check, 20)
      }
      check()
    })
  }

  /** Sends raw bytes as one datagram. */
  sendDatagram(bytes: Uint8Array): boolean {
    return this.datagrams.send(bytes)
  }

  /** A 440 Hz tone as PCMU RTP, one datagram every 20 ms, until stopped. */
  startTone(): void {
    let sequenceNumber = 1000
    let sampleIndex = 0
    this.toneTimer = setInterval(() => {
      const packet = Buffer.alloc(12 + 160)
      packet[0] = 0x80
      packet[1] = 0
      packet.writeUInt16BE(sequenceNumber++ & 0xffff, 2)
      packet.writeUInt32BE(sampleIndex >>> 0, 4)
      packet.writeUInt32BE(0x1234_5678, 8)
      packet.set(tonePayload(sampleIndex), 12)
      sampleIndex += 160
      if (this.datagrams.send(packet)) this.sentTone++
      else this.unsentTone++
    }, 20)
  }

  stopTone(): void {
    clearInterval(this.toneTimer)
  }

  async close(): Promise<void> {
    this.stopTone()
    await this.client.destroy({isApp: true, errorCode: 0, force: true}).catch(() => undefined)
  }
}
