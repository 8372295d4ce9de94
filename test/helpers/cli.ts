// Runs the built CLI (bin/run.js) as a user would, in a private home directory.
import {execFile, spawn} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'run.js')

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface JsonEnvelope {
  readonly status: number
  readonly result?: any
  readonly error?: {code: string; message: string; hint: string; exitCode: number; details: Record<string, unknown>; data?: any}
  readonly warnings: string[]
}

export class TestHome {
  readonly dir: string

  constructor() {
    // Short prefix: the admin socket path must stay under the 108-byte sun_path limit.
    this.dir = mkdtempSync(join(tmpdir(), 'cc-'))
  }

  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {...process.env, CLUTCHCALL_HOME: this.dir, NO_COLOR: '1'}
    delete env.CLUTCHCALL_CONFIG
    // The environment must not configure (or switch off) tracing behind a test's config.
    for (const name of Object.keys(env)) if (name.startsWith('OTEL_')) delete env[name]
    return env
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts)
  }

  /** Writes clutchcall.yaml in the home, where the CLI and the daemon find it without flags. */
  writeConfig(yaml: string, name = 'clutchcall.yaml'): string {
    const file = join(this.dir, name)
    writeFileSync(file, yaml)
    return file
  }

  run(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], {env: {...this.env, ...extraEnv}, cwd: this.dir, timeout: 60_000}, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        resolve({code, stdout, stderr})
      })
    })
  }

  /** Runs with --json and parses the envelope from stdout. */
  async json(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<CliResult & {body: JsonEnvelope}> {
    const result = await this.run([...args, '--json'], extraEnv)
    let body: JsonEnvelope
    try {
      body = JSON.parse(result.stdout) as JsonEnvelope
    } catch {
      throw new Error(`stdout is not one JSON envelope (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`)
    }
    return {...result, body}
  }

  /** Stops a daemon left running by a failed test, then removes the directory. */
  async cleanup(): Promise<void> {
    await this.run(['stop', '--force', '--timeout', '0'])
    rmSync(this.dir, {recursive: true, force: true})
  }
}

/** A TCP port that was free a moment ago (bind to 0, read, close). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })

/** Runs a program to completion with stdin, for peers such as promtool. */
export const runProgram = (command: string, args: readonly string[], input = ''): Promise<CliResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, {stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('error', reject)
    child.once('close', (code) => resolve({code: code ?? 1, stdout, stderr}))
    // A program that reads no input (kill) may exit before the pipe is written: EPIPE is no failure of the run.
    child.stdin.on('error', () => {})
    child.stdin.end(input)
  })

/**
 * Config for tests: metrics on a free loopback port, SIP on loopback ephemeral ports. `sipExtra`
 * goes inside the `sip` section (lines indented by two spaces): more listeners, `tls`.
 */
export const testConfig = (metricsPort: number, extra = '', sipExtra = ''): string =>
  `metrics:\n  listen: 127.0.0.1:${metricsPort}\nsip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n    - { transport: tcp, address: 127.0.0.1, port: 0 }\n${sipExtra}${extra}`
