// Runs SIPp (sip-tester 3.6) as the real peer of integration tests: a
// built-in scenario (-sn) or an XML scenario written to a temporary
// directory. Every run is bounded (-m, -timeout 20s, -timeout_error) and
// killed by `stop` if still running.
import {spawn, type ChildProcess} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface SippOptions {
  /** A built-in scenario name (`uac`, `uas`) or the XML text of a custom one. */
  readonly scenario: {builtin: string} | {xml: string}
  /** SIPp's own port. */
  readonly port: number
  readonly transport?: 'udp' | 'tcp'
  /** `host:port` of the peer we are (UAC scenarios); absent for UAS scenarios. */
  readonly remote?: string
  /** Calls to run before exiting (-m). */
  readonly calls?: number
  readonly extra?: readonly string[]
}

export interface SippResult {
  /** 0 when every call passed the scenario. */
  readonly code: number | null
  readonly stdout: string
  /** stderr plus SIPp's error log, for assertion messages. */
  readonly diagnostics: string
}

export class Sipp {
  private constructor(private readonly child: ChildProcess, private readonly dir: string, readonly exited: Promise<SippResult>) {}

  static async start(options: SippOptions): Promise<Sipp> {
    const dir = await mkdtemp(join(tmpdir(), 'clutchcall-sipp-'))
    const scenario = 'builtin' in options.scenario ? ['-sn', options.scenario.builtin] : ['-sf', join(dir, 'scenario.xml')]
    if ('xml' in options.scenario) await writeFile(join(dir, 'scenario.xml'), options.scenario.xml)
    const args = [
      ...(options.remote === undefined ? [] : [options.remote]),
      ...scenario,
      '-i', '127.0.0.1',
      '-p', String(options.port),
      '-t', options.transport === 'tcp' ? 't1' : 'u1',
      '-m', String(options.calls ?? 1),
      '-timeout', '20s',
      '-timeout_error',
      '-nostdin',
      '-trace_err',
      ...(options.extra ?? []),
    ]
    const child = spawn('sipp', args, {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const exited = new Promise<SippResult>((resolve) => {
      child.once('error', (error) => resolve({code: -1, stdout, diagnostics: `cannot run sipp: ${error.message}`}))
      child.once('exit', (code) => {
        void errorLogs(dir).then((logs) => resolve({code, stdout, diagnostics: `${stderr}\n${logs}`}))
      })
    })
    const sipp = new Sipp(child, dir, exited)
    await waitUntilBound(options.port, options.transport ?? 'udp', exited)
    return sipp
  }

  /** The final statistics line for successful and failed calls, e.g. for messages. */
  static summary(result: SippResult): string {
    const counts = [...result.stdout.matchAll(/(Successful|Failed) call\s*\|\s*\d+\s*\|\s*(\d+)/g)].map((match) => `${match[1]}: ${match[2]}`)
    return `sipp exit ${result.code}; ${counts.slice(-2).join(', ')}\n${result.diagnostics.slice(-3000)}`
  }

  /** Kills SIPp if it still runs and removes its directory. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL')
    await this.exited
    await rm(this.dir, {recursive: true, force: true})
  }
}

const errorLogs = async (dir: string): Promise<string> => {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('_errors.log'))
  const logs = await Promise.all(names.map((name) => readFile(join(dir, name), 'utf8').catch(() => '')))
  return logs.join('\n')
}

/** Resolves once SIPp holds its port (a UDP bind fails, a TCP connect succeeds), or SIPp exited. */
const waitUntilBound = async (port: number, transport: 'udp' | 'tcp', exited: Promise<SippResult>): Promise<void> => {
  let gone = false
  void exited.then(() => (gone = true))
  for (let attempt = 0; attempt < 100 && !gone; attempt++) {
    if (await (transport === 'udp' ? udpPortTaken(port) : tcpPortOpen(port))) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const udpPortTaken = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('error', () => {
      socket.close()
      resolve(true)
    })
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(false)))
  })

const tcpPortOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
