// A plain dgram RTP peer for the engine's integration tests: it sends
// hand-made packets to a stream and collects what comes back.
import {createSocket, type Socket} from 'node:dgram'
import {Writable} from 'node:stream'
import pino, {type Logger} from 'pino'
import {parseRtp, serializeRtp, type RtpPacket} from '../../../../src/media/rtp.js'

export class RtpPeer {
  readonly received: RtpPacket[] = []
  private waiters: Array<() => void> = []

  private constructor(private readonly socket: Socket) {
    socket.on('message', (datagram) => {
      const packet = parseRtp(datagram)
      if (!packet.ok) return
      this.received.push(packet)
      for (const wake of this.waiters) wake()
    })
  }

  static async open(): Promise<RtpPeer> {
    const socket = createSocket('udp4')
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    return new RtpPeer(socket)
  }

  get port(): number {
    return this.socket.address().port
  }

  /** Sends packet `seq` of a 20 ms stream (timestamp seq × 160). */
  sendRtp(target: number, seq: number, payload: Uint8Array, options: {readonly ssrc?: number; readonly payloadType?: number} = {}): void {
    this.socket.send(serializeRtp({sequenceNumber: seq & 0xffff, timestamp: (seq * 160) >>> 0, ssrc: options.ssrc ?? 0x51515151, payloadType: options.payloadType ?? 0}, payload), target, '127.0.0.1')
  }

  sendRaw(target: number, datagram: Uint8Array): void {
    this.socket.send(datagram, target, '127.0.0.1')
  }

  /** Sends packets `from`..`to` 20 ms apart (skipping `skip`), optionally interleaving extra datagrams. */
  async stream(target: number, from: number, to: number, options: {readonly skip?: (seq: number) => boolean; readonly payload?: (seq: number) => Uint8Array; readonly between?: (seq: number) => void} = {}): Promise<void> {
    for (let seq = from; seq <= to; seq++) {
      if (!options.skip?.(seq)) this.sendRtp(target, seq, options.payload?.(seq) ?? Buffer.alloc(160, seq & 0xff))
      options.between?.(seq)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** Resolves once `count` packets have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs = 3000): Promise<RtpPacket[]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        if (this.received.length < count) return false
        clearTimeout(timer)
        this.waiters = this.waiters.filter((waiter) => waiter !== wake)
        resolve(this.received.slice(0, count))
        return true
      }
      const wake = (): void => void check()
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== wake)
        reject(new Error(`got ${this.received.length} RTP packets, expected ${count}, within ${timeoutMs} ms`))
      }, timeoutMs)
      if (!check()) this.waiters.push(wake)
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }
}

/** A logger whose lines the test can read. */
export const captureLog = (): {readonly log: Logger; readonly lines: () => Array<Record<string, unknown>>} => {
  const lines: string[] = []
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString())
      done()
    },
  })
  return {log: pino({level: 'info'}, sink), lines: () => lines.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>)}
}

/** A port range of `size` ports at a random even base, unlikely to collide with parallel test files. */
export const randomPortRange = (size: number): {readonly portMin: number; readonly portMax: number} => {
  const portMin = 40_000 + 2 * Math.floor(Math.random() * 10_000)
  return {portMin, portMax: portMin + size - 1}
}

/** Goertzel power of one frequency in 8 kHz samples, normalized by the block length. */
export const goertzel = (samples: Int16Array, frequencyHz: number): number => {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequencyHz) / 8000)
  let previous = 0
  let beforePrevious = 0
  for (const sample of samples) {
    const current = sample + coefficient * previous - beforePrevious
    beforePrevious = previous
    previous = current
  }
  return (previous ** 2 + beforePrevious ** 2 - coefficient * previous * beforePrevious) / samples.length
}
