// A real Prometheus server (Debian's `prometheus`) on a free loopback port,
// scraping given targets every second, with rule files loaded, and a client
// for its HTTP API.
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './cli.js'
import {sleep} from './gateway.js'

export interface Sample {
  readonly metric: Record<string, string>
  readonly value?: [number, string]
  readonly values?: Array<[number, string]>
}

export interface QueryResult {
  readonly status: string
  readonly error?: string
  readonly data?: {resultType: string; result: Sample[]}
}

export class TestPrometheus {
  port = 0
  private readonly dir = mkdtempSync(join(tmpdir(), 'cc-prom-'))
  private process: ChildProcess | undefined
  private output = ''

  get api(): string {
    return `http://127.0.0.1:${this.port}/api/v1`
  }

  /** Starts Prometheus scraping `targets` (host:port) every second and evaluating `ruleFiles` every second. */
  async start(targets: readonly string[], ruleFiles: readonly string[] = []): Promise<this> {
    this.port = await freePort()
    const config = join(this.dir, 'prometheus.yml')
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        '  evaluation_interval: 1s',
        ...(ruleFiles.length > 0 ? ['rule_files:', ...ruleFiles.map((file) => `  - ${JSON.stringify(file)}`)] : []),
        'scrape_configs:',
        '  - job_name: clutchcall',
        '    static_configs:',
        `      - targets: [${targets.map((target) => JSON.stringify(target)).join(', ')}]`,
        '',
      ].join('\n'),
    )
    this.process = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(this.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${this.port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    this.process.stderr?.on('data', (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-5000)))
    await this.until('Prometheus ready', async () => ((await fetch(`http://127.0.0.1:${this.port}/-/ready`)).ok ? true : undefined))
    return this
  }

  /** The last lines Prometheus logged, for assertion messages. */
  get log(): string {
    return this.output
  }

  async get<T = QueryResult>(path: string, params: Record<string, string | number> = {}): Promise<T> {
    const query = new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, String(value)]))
    const response = await fetch(`${this.api}${path}${query.size > 0 ? `?${query}` : ''}`)
    return (await response.json()) as T
  }

  /** An instant query at the current time. */
  query(expr: string): Promise<QueryResult> {
    return this.get('/query', {query: expr})
  }

  /** A range query over the last `seconds`, as a Grafana time series panel asks. */
  queryRange(expr: string, seconds: number, stepS = 2): Promise<QueryResult> {
    const end = Date.now() / 1000
    return this.get('/query_range', {query: expr, start: end - seconds, end, step: stepS})
  }

  /** Polls `probe` every 250 ms until it returns a value (bounded). */
  async until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs
    let last: unknown
    while (Date.now() < deadline) {
      try {
        const value = await probe()
        if (value !== undefined) return value
      } catch (error) {
        last = error
      }
      await sleep(250)
    }
    throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}\n${this.output}`)
  }

  async stop(): Promise<void> {
    const child = this.process
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await Promise.race([exited, sleep(5000)])
      if (child.exitCode === null) child.kill('SIGKILL')
    }
    rmSync(this.dir, {recursive: true, force: true})
  }
}
