// A real clickhouse-server (Debian's 18.16) for integration tests: its own temp
// directory, HTTP and native ports free on loopback, stopped and started at will
// (outage tests), removed at the end.
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {freePort} from './cli.js'

const SERVER_BINARY = process.env.CLICKHOUSE_SERVER ?? 'clickhouse-server'

export class TestClickHouse {
  readonly dir = mkdtempSync(join(tmpdir(), 'cc-ch-'))
  httpPort = 0
  private child: ChildProcess | undefined

  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`
  }

  /** Starts the server (on the same ports and data as before, after a stop) and waits until it answers. */
  async start(): Promise<void> {
    if (this.httpPort === 0) await this.configure()
    this.child = spawn(SERVER_BINARY, [`--config-file=${join(this.dir, 'config.xml')}`], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    this.child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)))
    const exited = new Promise<number | null>((resolve) => this.child?.once('exit', resolve))
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const code = await Promise.race([exited, sleep(100).then(() => 'running' as const)])
      if (code !== 'running') throw new Error(`clickhouse-server exited (${code}) while starting:\n${stderr}`)
      if (await this.ping()) return
    }
    throw new Error(`clickhouse-server did not answer within 30 s:\n${stderr}`)
  }

  /** SIGKILL: an outage as abrupt as a crashed server or a pulled cable. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = undefined
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async ping(): Promise<boolean> {
    try {
      const response = await fetch(`${this.url}/ping`, {signal: AbortSignal.timeout(1000)})
      return response.ok
    } catch {
      return false
    }
  }

  /** Runs SQL over HTTP and returns the body (TSV unless the query says otherwise). */
  async query(sql: string, settings: Record<string, string> = {}): Promise<string> {
    const params = new URLSearchParams({...settings})
    const response = await fetch(`${this.url}/?${params}`, {method: 'POST', body: sql})
    const body = await response.text()
    if (!response.ok) throw new Error(`ClickHouse: ${body}`)
    return body
  }

  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const body = await this.query(`${sql} FORMAT JSONEachRow`)
    return body
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as T)
  }

  async cleanup(): Promise<void> {
    await this.stop()
    rmSync(this.dir, {recursive: true, force: true})
  }

  private async configure(): Promise<void> {
    this.httpPort = await freePort()
    const tcpPort = await freePort()
    for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(this.dir, sub), {recursive: true})
    writeFileSync(
      join(this.dir, 'config.xml'),
      `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${this.dir}/server.log</log><errorlog>${this.dir}/error.log</errorlog><console>0</console></logger>
  <http_port>${this.httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${this.dir}/data/</path>
  <tmp_path>${this.dir}/tmp/</tmp_path>
  <user_files_path>${this.dir}/user_files/</user_files_path>
  <format_schema_path>${this.dir}/format_schemas/</format_schema_path>
  <users_config>${this.dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`,
    )
    writeFileSync(
      join(this.dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
    )
  }
}
