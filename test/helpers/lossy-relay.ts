// A lossy UDP relay between a SIP caller and a callee, for testing what the
// synthetic caller reports under a known impairment. SIP passes through one
// port (responses come back through it too, thanks to rport); the SDP of the
// INVITE and of the 200 is rewritten so that RTP and RTCP flow through two
// relay port pairs as well. RTP is impaired in both directions: a share of
// packets is dropped, a share of the rest is held back by a random delay
// (uniform in [0, maxDelayMs)); RTCP passes untouched. The relay counts what
// it did, so a test compares the reported figures with the truth.
import {randomBytes} from 'node:crypto'
import {createSocket, type RemoteInfo, type Socket} from 'node:dgram'
import {prng} from './fuzz.js'

export interface Impairment {
  /** Share of RTP packets dropped, 0..1. */
  readonly dropShare: number
  /** Share of the remaining RTP packets delayed, 0..1. */
  readonly delayShare: number
  /** Delays are uniform in [0, maxDelayMs). Below 20 ms one leg never reorders packets. */
  readonly maxDelayMs: number
  /** Seed of the pseudo-random choices, for repeatable runs. */
  readonly seed?: number
  /** Share of the forwarded RTP packets whose last octet (an SRTP tag's) is flipped, 0..1; default 0. */
  readonly corruptShare?: number
  /** Replace the SRTP keys of the caller's INVITE (`inline:` of its crypto lines) with others: the callee gets the wrong key. */
  readonly swapOfferKeys?: boolean
}

export interface DirectionStats {
  rtpForwarded: number
  rtpDropped: number
  rtpDelayed: number
  rtcpForwarded: number
  rtpCorrupted: number
}

/** The delay one relay leg adds to a packet it forwards, ms. */
export const legDelay = (impairment: Impairment, random: () => number): number => (random() < impairment.delayShare ? random() * impairment.maxDelayMs : 0)

/**
 * The mean |D| of RFC 3550 (the difference of two packets' transit times)
 * that `legs` relay legs in a row add: what interarrival jitter converges to.
 */
export const expectedJitterMs = (impairment: Impairment, legs: number, samples = 400_000): number => {
  const random = prng(12345)
  const transit = () => {
    let total = 0
    for (let leg = 0; leg < legs; leg++) total += legDelay(impairment, random)
    return total
  }
  let sum = 0
  for (let index = 0; index < samples; index++) sum += Math.abs(transit() - transit())
  return sum / samples
}

const bind = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(port, '127.0.0.1', () => {
      socket.off('error', reject)
      socket.on('error', () => {})
      resolve(socket)
    })
  })

/** An even/odd pair of sockets (RTP, RTCP). */
const bindPair = async (): Promise<[Socket, Socket]> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30_000 + 2 * Math.floor(Math.random() * 4999)
    let rtp: Socket | undefined
    try {
      rtp = await bind(port)
      return [rtp, await bind(port + 1)]
    } catch {
      rtp?.close()
    }
  }
  throw new Error('no free port pair for the relay')
}

const portOf = (socket: Socket): number => socket.address().port

/** Rewrites the audio port of an SDP body and fixes Content-Length; returns the message and the port it had. */
const rewriteSdp = (message: Buffer, newPort: number): {message: Buffer; oldPort: number} | undefined => {
  const text = message.toString('latin1')
  const split = text.indexOf('\r\n\r\n')
  if (split === -1) return undefined
  const head = text.slice(0, split)
  const body = text.slice(split + 4)
  const media = /^m=audio (\d+) /m.exec(body)
  if (media === null) return undefined
  const newBody = body.replace(/^m=audio \d+ /m, `m=audio ${newPort} `)
  const newHead = head.replace(/^(Content-Length|l)[ \t]*:[ \t]*\d+/im, `Content-Length: ${Buffer.byteLength(newBody, 'latin1')}`)
  return {message: Buffer.from(`${newHead}\r\n\r\n${newBody}`, 'latin1'), oldPort: Number(media[1])}
}

export class LossyRelay {
  /** Towards the callee (what the caller sends), and towards the caller. */
  readonly toCallee: DirectionStats = {rtpForwarded: 0, rtpDropped: 0, rtpDelayed: 0, rtcpForwarded: 0, rtpCorrupted: 0}
  readonly toCaller: DirectionStats = {rtpForwarded: 0, rtpDropped: 0, rtpDelayed: 0, rtcpForwarded: 0, rtpCorrupted: 0}
  private caller: RemoteInfo | undefined
  private callerMediaPort = 0
  private calleeMediaPort = 0
  private readonly random: () => number
  private readonly timers = new Set<NodeJS.Timeout>()

  private constructor(
    private readonly sipClientSide: Socket,
    private readonly sipServerSide: Socket,
    /** Advertised to the callee: it sends RTP here, we send the caller's from here. */
    private readonly calleeFacing: [Socket, Socket],
    /** Advertised to the caller. */
    private readonly callerFacing: [Socket, Socket],
    private readonly callee: {address: string; port: number},
    readonly impairment: Impairment,
  ) {
    this.random = prng(impairment.seed ?? 1)
    sipClientSide.on('message', (message, from) => this.fromCaller(message, from))
    sipServerSide.on('message', (message) => this.fromCallee(message))
    const [calleeRtp, calleeRtcp] = calleeFacing
    const [callerRtp, callerRtcp] = callerFacing
    callerRtp.on('message', (packet) => this.impair(packet, this.toCallee, calleeRtp, this.calleeMediaPort))
    calleeRtp.on('message', (packet) => this.impair(packet, this.toCaller, callerRtp, this.callerMediaPort))
    callerRtcp.on('message', (packet) => {
      this.toCallee.rtcpForwarded++
      calleeRtcp.send(packet, this.calleeMediaPort + 1, this.callee.address)
    })
    calleeRtcp.on('message', (packet) => {
      this.toCaller.rtcpForwarded++
      callerRtcp.send(packet, this.callerMediaPort + 1, '127.0.0.1')
    })
  }

  /** A relay to the callee's SIP address (UDP on 127.0.0.1). */
  static async start(callee: {address: string; port: number}, impairment: Impairment): Promise<LossyRelay> {
    return new LossyRelay(await bind(0), await bind(0), await bindPair(), await bindPair(), callee, impairment)
  }

  /** Where the caller sends its SIP. */
  get sipPort(): number {
    return portOf(this.sipClientSide)
  }

  private fromCaller(message: Buffer, from: RemoteInfo): void {
    this.caller = from
    let out = message
    if (message.subarray(0, 7).toString() === 'INVITE ') {
      const rewritten = rewriteSdp(message, portOf(this.calleeFacing[0]))
      if (rewritten) {
        out = rewritten.message
        this.callerMediaPort = rewritten.oldPort
      }
      // Same length: the Content-Length stays right.
      if (this.impairment.swapOfferKeys === true) out = Buffer.from(out.toString('latin1').replace(/inline:([A-Za-z0-9+/]{40})/g, () => `inline:${randomBytes(30).toString('base64')}`), 'latin1')
    }
    this.sipServerSide.send(out, this.callee.port, this.callee.address)
  }

  private fromCallee(message: Buffer): void {
    if (this.caller === undefined) return
    let out = message
    if (/^SIP\/2\.0 2\d\d /.test(message.subarray(0, 16).toString()) && /\r\nCSeq:\s*\d+ INVITE\r\n/i.test(message.toString('latin1'))) {
      const rewritten = rewriteSdp(message, portOf(this.callerFacing[0]))
      if (rewritten) {
        out = rewritten.message
        this.calleeMediaPort = rewritten.oldPort
      }
    }
    this.sipClientSide.send(out, this.caller.port, this.caller.address)
  }

  private impair(received: Buffer, stats: DirectionStats, via: Socket, port: number): void {
    if (port === 0) return
    const address = via === this.calleeFacing[0] ? this.callee.address : '127.0.0.1'
    if (this.random() < this.impairment.dropShare) {
      stats.rtpDropped++
      return
    }
    let packet = received
    if ((this.impairment.corruptShare ?? 0) > 0 && this.random() < (this.impairment.corruptShare ?? 0)) {
      packet = Buffer.from(received)
      packet[packet.length - 1] = (packet[packet.length - 1] as number) ^ 0x5a
      stats.rtpCorrupted++
    }
    const delay = legDelay(this.impairment, this.random)
    stats.rtpForwarded++
    if (delay <= 0) {
      via.send(packet, port, address)
      return
    }
    stats.rtpDelayed++
    const copy = Buffer.from(packet)
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      via.send(copy, port, address)
    }, delay)
    this.timers.add(timer)
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer)
    for (const socket of [this.sipClientSide, this.sipServerSide, ...this.calleeFacing, ...this.callerFacing]) socket.close()
  }
}
