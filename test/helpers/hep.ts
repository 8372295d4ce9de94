// HEP collectors for tests, built on independent decoders: a UDP socket whose
// frames are decoded with hep-js (GPL, a devDependency only), optionally
// forwarding every frame as it came to sngrep; sngrep itself (Debian's),
// headless, writing what it decoded to a pcap that tshark reads back.
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {createSocket, type Socket} from 'node:dgram'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import hepJs, {type HepJsDecoded} from 'hep-js'
import {runProgram} from './cli.js'
import {sleep, waitFor} from './gateway.js'

export interface ReceivedFrame {
  readonly bytes: Buffer
  /** Local wall clock at reception, ms. */
  readonly receivedAt: number
  readonly decoded: HepJsDecoded
  /** Capture time from chunks 0x09/0x0a, ms. */
  readonly timestampMs: number
}

/** A UDP port nobody listens on right now (bound to 0, read, closed). */
export const freeUdpPort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      const {port} = socket.address()
      socket.close(() => resolve(port))
    })
  })

/** A HEP collector on 127.0.0.1: every frame decoded by hep-js (a frame hep-js cannot decode fails the test). */
export class HepCollector {
  readonly frames: ReceivedFrame[] = []
  private readonly failed: Array<{readonly bytes: Buffer; readonly from: string}> = []
  /** Where the first frame that decoded came from: the gateway's HEP sender. */
  private sender: string | undefined
  private socket: Socket | undefined
  port = 0

  /** `forwardTo`: a UDP port on 127.0.0.1 that gets every frame too, byte for byte (sngrep). */
  constructor(private readonly forwardTo?: number) {}

  async start(): Promise<this> {
    // A large receive buffer: frames are decoded on this (test) thread, which a loaded machine delays.
    const socket = createSocket({type: 'udp4', recvBufferSize: 8 * 1024 * 1024})
    this.socket = socket
    socket.on('message', (bytes, rinfo) => {
      const from = `${rinfo.address}:${rinfo.port}`
      const decoded = hepJs.decapsulate(bytes)
      if (!decoded) {
        this.failed.push({bytes, from})
        return
      }
      this.sender ??= from
      const timestampMs = (decoded.rcinfo.timeSeconds ?? 0) * 1000 + (decoded.rcinfo.timeUseconds ?? 0) / 1000
      this.frames.push({bytes, receivedAt: Date.now(), decoded, timestampMs})
      if (this.forwardTo !== undefined) socket.send(bytes, this.forwardTo, '127.0.0.1')
    })
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()))
    this.port = socket.address().port
    return this
  }

  /**
   * Datagrams hep-js could not decode that came from the HEP sender (or from anywhere, before a frame decoded).
   * A datagram from another socket is no HEP frame at all: on a machine shared with other tests, a port
   * this collector was given may have been some media peer's RTCP port a moment ago (see `strays`).
   */
  get undecodable(): Buffer[] {
    return this.failed.filter((entry) => this.sender === undefined || entry.from === this.sender).map((entry) => entry.bytes)
  }

  /** What reached this port from elsewhere than the HEP sender, with its source, for a test's diagnostics. */
  get strays(): Array<{readonly bytes: Buffer; readonly from: string}> {
    return this.failed.filter((entry) => this.sender !== undefined && entry.from !== this.sender)
  }

  get endpoint(): string {
    return `127.0.0.1:${this.port}`
  }

  /** SIP frames (type 1) whose payload has this Call-ID header. */
  sipWithCallId(callId: string): ReceivedFrame[] {
    return this.frames.filter((frame) => frame.decoded.rcinfo.payloadType === 1 && sipHeader(frame.decoded.payload, 'Call-ID') === callId)
  }

  ofType(type: number): ReceivedFrame[] {
    return this.frames.filter((frame) => frame.decoded.rcinfo.payloadType === type)
  }

  close(): void {
    this.socket?.close()
    this.socket = undefined
  }
}

/** A header of a SIP message (first occurrence, long or compact name). */
export const sipHeader = (message: string, name: string): string | undefined => {
  const compact: Record<string, string> = {'call-id': 'i', via: 'v', from: 'f', to: 't', 'content-length': 'l'}
  const names = new Set([name.toLowerCase(), compact[name.toLowerCase()] ?? name.toLowerCase()])
  for (const line of message.split('\r\n')) {
    if (line === '') break
    const colon = line.indexOf(':')
    if (colon > 0 && names.has(line.slice(0, colon).trim().toLowerCase())) return line.slice(colon + 1).trim()
  }
  return undefined
}

/** The first line's method or status: `INVITE`, `200`. */
export const sipFirstWord = (message: string): string => {
  const first = message.slice(0, message.indexOf('\r\n'))
  return first.startsWith('SIP/2.0 ') ? (first.split(' ')[1] ?? '') : (first.split(' ')[0] ?? '')
}

/** Is a UDP port bound on 127.0.0.1 (from /proc/net/udp)? */
const udpBound = (port: number): boolean => {
  const wanted = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  return readFileSync('/proc/net/udp', 'utf8').split('\n').some((line) => line.trim().split(/\s+/)[1] === wanted)
}

/** Debian's sngrep, headless (-N) and quiet (-q), listening for HEP and writing what it decodes to a pcap (-O). */
export class Sngrep {
  readonly dir = mkdtempSync(join(tmpdir(), 'cc-sngrep-'))
  readonly pcap = join(this.dir, 'out.pcap')
  private child: ChildProcess | undefined
  private output = ''
  port = 0

  async start(): Promise<this> {
    this.port = await freeUdpPort()
    // No terminal is needed with -N; stdin is /dev/null, and SIGTERM makes it flush the pcap and exit 0.
    this.child = spawn('sngrep', ['-N', '-q', '-L', `udp:127.0.0.1:${this.port}`, '-O', this.pcap], {stdio: ['ignore', 'pipe', 'pipe'], env: {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.dir}})
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()))
    await waitFor('sngrep to listen', () => {
      assert.equal(this.child?.exitCode, null, `sngrep exited: ${this.output}`)
      return udpBound(this.port) ? true : undefined
    }, 10_000)
    return this
  }

  /** Stops it (SIGTERM) and waits for the exit, so the pcap is complete. */
  async stop(): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    // Let the last forwarded frames reach it first.
    await sleep(300)
    child.kill('SIGTERM')
    const code = await Promise.race([exited, sleep(5000).then(() => 'timeout' as const)])
    if (code === 'timeout') child.kill('SIGKILL')
    assert.equal(code, 0, `sngrep exit ${String(code)}: ${this.output}`)
  }

  cleanup(): void {
    this.child?.kill('SIGKILL')
    rmSync(this.dir, {recursive: true, force: true})
  }
}

export interface TsharkSip {
  readonly src: string
  readonly srcPort: number
  readonly dst: string
  readonly dstPort: number
  /** Method of a request, or status code of a response. */
  readonly what: string
  readonly cseqMethod: string
  readonly callId: string
  readonly epochMs: number
}

/** The SIP messages of a pcap, in order, as tshark (Wireshark's dissectors) reads them. */
export const tsharkSip = async (pcap: string): Promise<TsharkSip[]> => {
  const fields = ['frame.time_epoch', 'ip.src', 'udp.srcport', 'ip.dst', 'udp.dstport', 'sip.Method', 'sip.Status-Code', 'sip.CSeq.method', 'sip.Call-ID']
  const result = await runProgram('tshark', ['-r', pcap, '-Y', 'sip', '-T', 'fields', '-E', 'separator=/t', ...fields.flatMap((field) => ['-e', field])])
  assert.equal(result.code, 0, `tshark: ${result.stderr}`)
  return result.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [epoch, src, srcPort, dst, dstPort, method, status, cseqMethod, callId] = line.split('\t')
      return {src: src ?? '', srcPort: Number(srcPort), dst: dst ?? '', dstPort: Number(dstPort), what: method || status || '', cseqMethod: cseqMethod ?? '', callId: callId ?? '', epochMs: Number(epoch) * 1000}
    })
}
