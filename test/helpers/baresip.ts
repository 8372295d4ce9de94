// baresip (Debian's 1.0.0) as a real SIP user agent for gateway integration
// tests: headless, from a private config directory, on loopback only.
//
// What works unattended with 1.0.0:
// - audio source `aufile` playing a WAV written here (8 kHz mono 16-bit; its
//   `ausine` only does 48 kHz stereo), no audio player at all (1.0.0's aufile
//   has no player; with no player module the decoder still runs), and the
//   `sndfile` filter dumping what was sent and heard to dump-*-enc.wav and
//   dump-*-dec.wav;
// - `net_interface 127.0.0.1`: without it baresip puts the first non-loopback
//   address in its SDP (`lo` by name is refused: "could not get IPv4 address");
// - control over `ctrl_tcp` (netstring-framed JSON commands, and every UA event
//   pushed back as JSON), so a test can dial, wait and hang up when it wants to
//   (`-e` only runs commands at start-up; the `stdio` UI wants a terminal);
// - codecs: the `g711`, `g722` (spandsp's G.722) and `opus` (libopus) modules,
//   and the account's `audio_codecs` to offer or accept only the ones a test
//   names, in its order; the sndfile dump is then at the codec's rate (16 kHz
//   for G.722, 48 kHz stereo for Opus), which heard() reads;
// - `;regint=0` so the account never registers, `;answermode=auto` to answer
//   incoming calls. An incoming INVITE is taken by the account whose AOR user
//   is the Request-URI user, so a callee's account is named after the number.
// Every instance is bounded by `-t` (baresip quits by itself) and killed by
// disposeAll().
import {spawn, type ChildProcess} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect, createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ToneGenerator} from '../../src/media/tone.js'
import {readWavFile, WavWriter} from '../../src/media/wav.js'
import {freePort} from './cli.js'

export const BARESIP_MODULES = '/usr/lib/baresip/modules'

/** A UA event as ctrl_tcp pushes it: CALL_RINGING, CALL_ESTABLISHED, CALL_CLOSED, CALL_INCOMING, … */
export interface BaresipEvent {
  readonly type: string
  readonly class?: string
  readonly accountaor?: string
  readonly direction?: string
  readonly peeruri?: string
  readonly id?: string
  readonly param?: string
}

export interface BaresipOptions {
  /** The account's user part; a callee must be named after the number it is called at. Default `baresip`. */
  readonly user?: string
  /** Answers incoming calls by itself. */
  readonly autoAnswer?: boolean
  /** The tone it sends in every call, Hz. Default 440. */
  readonly toneHz?: number
  /** baresip quits by itself after this long (-t). Default 30. */
  readonly lifetimeS?: number
  /** The SIP port, when the gateway's config must name it first. Default: a free one. */
  readonly sipPort?: number
  /**
   * SIP over TLS, on sipPort + 1 (`sip_certificate`: one PEM file with the
   * certificate and its key, presented as a server and, when asked, as a
   * client; `sip_cafile`: the CAs it trusts).
   */
  readonly tls?: {readonly pem: string; readonly ca?: string}
  /**
   * SRTP with SDES (the `srtp` module): `srtp` offers RTP/AVP with crypto
   * lines and takes plain RTP too, `srtp-mand` offers RTP/SAVP and insists.
   */
  readonly mediaenc?: 'srtp' | 'srtp-mand'
  /** The codecs it offers and accepts, in order. Default: G.711 only (PCMU, PCMA). */
  readonly codecs?: readonly BaresipCodec[]
}

export type BaresipCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus'
const CODEC_MODULES: Readonly<Record<BaresipCodec, string>> = {PCMU: 'g711.so', PCMA: 'g711.so', G722: 'g722.so', opus: 'opus.so'}

/** Decoded audio and its rate (the first channel of a stereo dump). */
export interface HeardAudio {
  readonly samples: Int16Array
  readonly sampleRate: number
}

/** PCM16 WAV of any rate and channel count (libsndfile's dumps), its first channel. */
const readDump = (file: Buffer): HeardAudio => {
  if (file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') throw new Error('not a WAV file')
  let at = 12
  let channels = 1
  let sampleRate = 8000
  for (;;) {
    if (at + 8 > file.length) throw new Error('no data chunk')
    const id = file.toString('latin1', at, at + 4)
    const size = file.readUInt32LE(at + 4)
    if (id === 'fmt ') {
      if (file.readUInt16LE(at + 8) !== 1 || file.readUInt16LE(at + 22) !== 16) throw new Error('not PCM16')
      channels = file.readUInt16LE(at + 10)
      sampleRate = file.readUInt32LE(at + 12)
    } else if (id === 'data') {
      const frames = Math.floor(Math.min(size, file.length - at - 8) / (2 * channels))
      const samples = new Int16Array(frames)
      for (let index = 0; index < frames; index++) samples[index] = file.readInt16LE(at + 8 + index * 2 * channels)
      return {samples, sampleRate}
    }
    at += 8 + size + (size % 2)
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const tcpFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })

const udpFree = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('error', () => resolve(false))
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)))
  })

/** The top of the kernel's range of ports it hands out to sockets bound to port 0 and to outgoing connections. */
const ephemeralTop = (): number => {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[1]) || 65535
  } catch {
    return 65535
  }
}

/** A port the kernel would not hand to anyone else: above its ephemeral range when there is room there, else one it gave us. */
const candidatePort = async (): Promise<number> => {
  const top = ephemeralTop()
  return top < 65000 ? top + 1 + Math.floor(Math.random() * (65533 - top)) : freePort()
}

/**
 * A port for baresip's `sip_listen`: it binds UDP and TCP there, and TLS on
 * the next port, and fails to start if any of them is taken. Tests often
 * pick it well before baresip starts (it goes into the gateway's config), so
 * it is taken above the ephemeral range: a port from inside it was seen
 * taken meanwhile by another test's outgoing connection (CI, 2026-12-06).
 */
export const freeSipPort = async (): Promise<number> => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await candidatePort()
    if (port < 65535 && (await udpFree(port)) && (await tcpFree(port)) && (await tcpFree(port + 1))) return port
  }
  throw new Error('found no free port pair for baresip')
}

// The call status line the menu redraws every 100 ms on stderr ("[0:00:03] audio=64000/64000 (bit/s)").
const STATUS_LINE = /\[\d+:\d\d:\d\d\] audio=[^\r\n]*?\(bit\/s\)\s*/g
const MAX_OUTPUT = 2_000_000

const live = new Set<Baresip>()

export class Baresip {
  readonly dir: string
  readonly user: string
  readonly sipPort: number
  readonly ctrlPort: number
  readonly toneHz: number
  /** Every UA event, in order. */
  readonly events: BaresipEvent[] = []
  readonly exited: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  private readonly child: ChildProcess
  private rawOutput = ''
  private socket: Socket | undefined
  private received = ''
  private token = 0
  private readonly pending = new Map<string, {resolve: (data: string) => void; reject: (error: Error) => void}>()
  private hasExited = false

  private constructor(dir: string, user: string, sipPort: number, ctrlPort: number, toneHz: number, child: ChildProcess) {
    this.dir = dir
    this.user = user
    this.sipPort = sipPort
    this.ctrlPort = ctrlPort
    this.toneHz = toneHz
    this.child = child
    const append = (chunk: Buffer) => {
      if (this.rawOutput.length < MAX_OUTPUT) this.rawOutput += chunk.toString()
    }
    child.stdout?.on('data', append)
    child.stderr?.on('data', append)
    this.exited = new Promise((resolve) => {
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.hasExited) return
        this.hasExited = true
        for (const {reject} of this.pending.values()) reject(new Error(`baresip exited (${code ?? signal})\n${this.tail()}`))
        this.pending.clear()
        resolve({code, signal})
      }
      child.once('exit', finish)
      // Not installed: no 'exit' follows. CI installs it with `apt-get install -y baresip`.
      child.once('error', (error) => {
        this.rawOutput += `cannot run baresip (apt-get install -y baresip): ${error.message}\n`
        finish(null, null)
      })
    })
  }

  /** Writes the config, starts baresip, and returns once its control socket answers. */
  static async start(options: BaresipOptions = {}): Promise<Baresip> {
    // Ports found free can be taken by another process before baresip binds them: a start on fresh ports is the same start.
    for (let attempt = 1; ; attempt++) {
      try {
        return await Baresip.startOnce(options)
      } catch (error) {
        if (attempt === 3 || options.sipPort !== undefined || !/Address already in use/.test(String(error))) throw error
      }
    }
  }

  private static async startOnce(options: BaresipOptions): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), 'cc-baresip-'))
    const user = options.user ?? 'baresip'
    const toneHz = options.toneHz ?? 440
    const lifetimeS = options.lifetimeS ?? 30
    const sipPort = options.sipPort ?? (await freeSipPort())
    // Another port than the SIP ones: the OS may hand the port just probed for SIP out again.
    let ctrlPort = await freePort()
    while (ctrlPort === sipPort || ctrlPort === sipPort + 1) ctrlPort = await freePort()
    const tone = join(dir, 'tone.wav')
    const writer = WavWriter.create(tone, 'pcm16')
    const generator = new ToneGenerator({frequencyHz: toneHz, levelDbm0: -10})
    // A little longer than baresip may live: aufile stops the source at the end of the file.
    for (let frame = 0; frame < (lifetimeS + 2) * 50; frame++) writer.appendPcm(generator.nextFrame())
    writer.close()
    writeFileSync(
      join(dir, 'config'),
      [
        'poll_method epoll',
        `sip_listen 127.0.0.1:${sipPort}`,
        'net_interface 127.0.0.1',
        'call_local_timeout 30',
        'call_max_calls 4',
        'audio_player',
        `audio_source aufile,${tone}`,
        'audio_alert',
        'ausrc_srate 8000',
        'ausrc_channels 1',
        'rtp_stats no',
        `module_path ${BARESIP_MODULES}`,
        ...[...new Set((options.codecs ?? ['PCMU', 'PCMA']).map((codec) => CODEC_MODULES[codec]))].map((module) => `module ${module}`),
        // Opus: mono both ways (the gateway sends mono; a mono dump is simpler to check).
        ...(options.codecs?.includes('opus') ? ['opus_stereo no', 'opus_sprop_stereo no'] : []),
        ...(options.mediaenc === undefined ? [] : ['module srtp.so']),
        'module aufile.so',
        'module sndfile.so',
        'module_tmp account.so',
        'module_app menu.so',
        'module_app ctrl_tcp.so',
        `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
        `snd_path ${dir}`,
        ...(options.tls === undefined ? [] : [`sip_certificate ${options.tls.pem}`, ...(options.tls.ca === undefined ? [] : [`sip_cafile ${options.tls.ca}`])]),
        '',
      ].join('\n'),
    )
    const audioCodecs = options.codecs === undefined ? '' : `;audio_codecs=${options.codecs.join(',')}`
    writeFileSync(join(dir, 'accounts'), `<sip:${user}@127.0.0.1>;regint=0${options.autoAnswer ? ';answermode=auto' : ''}${options.mediaenc === undefined ? '' : `;mediaenc=${options.mediaenc}`}${audioCodecs}\n`)
    writeFileSync(join(dir, 'contacts'), '')
    // -s: a SIP trace in the output, for diagnostics.
    const child = spawn('baresip', ['-f', dir, '-s', '-t', String(lifetimeS)], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
    const phone = new Baresip(dir, user, sipPort, ctrlPort, toneHz, child)
    live.add(phone)
    try {
      await phone.connect()
      await phone.waitForOutput(/baresip is ready\./, 5_000)
    } catch (error) {
      await phone.dispose()
      throw error
    }
    return phone
  }

  /** Kills every instance still running and removes its directory (for `after`). */
  static async disposeAll(): Promise<void> {
    await Promise.all([...live].map((phone) => phone.dispose()))
  }

  /** `127.0.0.1:PORT`, its SIP address. */
  get address(): string {
    return `127.0.0.1:${this.sipPort}`
  }

  /** `127.0.0.1:PORT` of its TLS listener (with `tls`): baresip puts it on the port after sip_listen's. */
  get tlsAddress(): string {
    return `127.0.0.1:${this.sipPort + 1}`
  }

  /** stdout and stderr so far, without the call status line. */
  get output(): string {
    return this.rawOutput.replace(STATUS_LINE, '')
  }

  /** The end of the output and the events, for assertion messages. */
  tail(chars = 6000): string {
    return `baresip output (last ${chars} chars):\n${this.output.slice(-chars)}\nbaresip events: ${this.events.map((event) => `${event.type}(${event.param ?? ''})`).join(' ')}`
  }

  /** Sends a command over ctrl_tcp; resolves with its data once baresip says ok. */
  command(command: string, params = '', timeoutMs = 5_000): Promise<string> {
    const socket = this.socket
    if (!socket || this.hasExited) return Promise.reject(new Error(`baresip is not running\n${this.tail()}`))
    const token = `t${++this.token}`
    const body = JSON.stringify({command, params, token})
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token)
        reject(new Error(`baresip did not answer '${command} ${params}' in ${timeoutMs} ms\n${this.tail()}`))
      }, timeoutMs)
      this.pending.set(token, {
        resolve: (data) => {
          clearTimeout(timer)
          resolve(data)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      socket.write(`${Buffer.byteLength(body)}:${body},`)
    })
  }

  dial(uri: string): Promise<string> {
    return this.command('dial', uri)
  }

  hangup(): Promise<string> {
    return this.command('hangup')
  }

  /** The first event of `type` (after `from`, an index into events) that `matches`. */
  async waitForEvent(type: string, timeoutMs = 10_000, from = 0): Promise<BaresipEvent> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const event = this.events.slice(from).find((candidate) => candidate.type === type)
      if (event) return event
      if (Date.now() > deadline || this.hasExited) throw new Error(`baresip: no ${type} event within ${timeoutMs} ms${this.hasExited ? ' (it exited)' : ''}\n${this.tail()}`)
      await sleep(25)
    }
  }

  async waitForOutput(pattern: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = pattern.exec(this.output)
      if (match) return match
      if (Date.now() > deadline || this.hasExited) throw new Error(`baresip: no output matching ${pattern} within ${timeoutMs} ms${this.hasExited ? ' (it exited)' : ''}\n${this.tail()}`)
      await sleep(25)
    }
  }

  /** Asks baresip to quit and waits for it (SIGKILL after `timeoutMs`); keeps the directory. */
  async quit(timeoutMs = 3_000): Promise<void> {
    if (this.hasExited) return
    await this.command('quit', '', timeoutMs).catch(() => undefined)
    const exited = await Promise.race([this.exited.then(() => true), sleep(timeoutMs).then(() => false)])
    if (!exited) {
      this.child.kill('SIGKILL')
      await this.exited
    }
  }

  /**
   * What baresip heard in its last call, decoded: sndfile's dump. libsndfile
   * writes the sizes into the WAV header when the call's audio is destroyed,
   * just after CALL_CLOSED, so this waits for a complete file.
   */
  async heardAudio(timeoutMs = 3_000): Promise<Int16Array> {
    const deadline = Date.now() + timeoutMs
    let problem = 'no dump-*-dec.wav yet'
    for (;;) {
      const last = readdirSync(this.dir).filter((name) => /^dump-.*-dec\.wav$/.test(name)).sort().at(-1)
      if (last !== undefined) {
        try {
          const {samples} = readWavFile(join(this.dir, last))
          if (samples.length > 0) return samples
          problem = `${last} is still empty`
        } catch (error) {
          problem = `${last}: ${String(error)}`
        }
      }
      if (Date.now() > deadline) throw new Error(`baresip's decoded audio: ${problem}\n${this.tail()}`)
      await sleep(50)
    }
  }

  /**
   * What baresip heard in its last call at the codec's own rate (heardAudio()
   * is for G.711 calls, at 8 kHz): complete once its call has closed.
   */
  async heard(timeoutMs = 3_000): Promise<HeardAudio> {
    const deadline = Date.now() + timeoutMs
    let problem = 'no dump-*-dec.wav yet'
    for (;;) {
      const last = readdirSync(this.dir).filter((name) => /^dump-.*-dec\.wav$/.test(name)).sort().at(-1)
      if (last !== undefined) {
        try {
          const heard = readDump(readFileSync(join(this.dir, last)))
          if (heard.samples.length > 0) return heard
          problem = `${last} is still empty`
        } catch (error) {
          problem = `${last}: ${String(error)}`
        }
      }
      if (Date.now() > deadline) throw new Error(`baresip's decoded audio: ${problem}\n${this.tail()}`)
      await sleep(50)
    }
  }

  /** Stops baresip (killing it if need be) and removes its directory. */
  async dispose(): Promise<void> {
    if (!this.hasExited) {
      this.child.kill('SIGTERM')
      const exited = await Promise.race([this.exited.then(() => true), sleep(2_000).then(() => false)])
      if (!exited) {
        this.child.kill('SIGKILL')
        await this.exited
      }
    }
    this.socket?.destroy()
    live.delete(this)
    rmSync(this.dir, {recursive: true, force: true})
  }

  private async connect(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    let socket: Socket
    for (;;) {
      if (this.hasExited) throw new Error(`baresip exited while starting\n${this.tail()}`)
      try {
        socket = await new Promise<Socket>((resolve, reject) => {
          const attempt = connect(this.ctrlPort, '127.0.0.1')
          attempt.once('connect', () => {
            attempt.off('error', reject)
            resolve(attempt)
          })
          attempt.once('error', reject)
        })
        break
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`baresip's ctrl_tcp on port ${this.ctrlPort} did not answer: ${String(error)}\n${this.tail()}`)
        await sleep(50)
      }
    }
    this.socket = socket
    socket.on('error', () => undefined)
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.toString()
      this.drain()
    })
  }

  /** Netstrings: `LENGTH:JSON,`. */
  private drain(): void {
    for (;;) {
      const header = /^(\d+):/.exec(this.received)
      if (!header) return
      const start = header[0].length
      const end = start + Number(header[1])
      if (this.received.length < end + 1) return
      const body = this.received.slice(start, end)
      this.received = this.received.slice(end + 1)
      let message: {event?: boolean; response?: boolean; ok?: boolean; data?: string; token?: string} & Partial<BaresipEvent>
      try {
        message = JSON.parse(body) as typeof message
      } catch {
        continue
      }
      if (message.event && typeof message.type === 'string') {
        this.events.push(message as BaresipEvent)
      } else if (message.response && typeof message.token === 'string') {
        const waiter = this.pending.get(message.token)
        this.pending.delete(message.token)
        if (message.ok) waiter?.resolve(message.data ?? '')
        else waiter?.reject(new Error(`baresip refused the command: ${message.data ?? ''}\n${this.tail()}`))
      }
    }
  }
}

export {goertzel} from './tone.js'
