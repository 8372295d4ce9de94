// A whole fleet on loopback for integration tests, brought up by the script an
// operator runs (scripts/fleet, docs/fleet.md): Kamailio's dispatcher in front
// of three gateways, a ClickHouse cluster on ZooKeeper, one Prometheus. The
// test drives it as an operator would (scripts/fleet stop|start NAME, the
// clutchcall CLI in a gateway's home) and reads the balancer's log, where
// `--call-log` has Kamailio note every INVITE it relays and every gateway it
// takes out of or back into the rotation.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {BIN, ROOT, type CliResult, type JsonEnvelope} from './cli.js'
import {waitFor} from './gateway.js'

const SCRIPT = join(ROOT, 'scripts', 'fleet.js')

export interface FleetGateway {
  readonly name: string
  readonly address: string
  readonly sipPort: number
  readonly metricsPort: number
  readonly dir: string
}

export interface FleetClickHouse {
  readonly name: string
  readonly shard: number
  readonly replica: number
  readonly address: string
  readonly httpPort: number
  /** Its home: config, logs, and the data under data/. */
  readonly dir: string
}

export interface FleetState {
  readonly dir: string
  readonly cluster: string
  readonly database: string
  readonly table: string
  readonly pingIntervalS: number
  /** Seconds the balancer gives a gateway to answer a new INVITE at all before failing over and taking it out. */
  readonly inviteTimeoutS: number
  readonly gateways: FleetGateway[]
  readonly clickhouse: FleetClickHouse[]
  readonly balancer: {address: string; port: number; log: string; ctl: string}
  readonly prometheus: {address: string; port: number}
}

/** One INVITE the balancer relayed: its Call-ID, the gateway (sip:ADDR:PORT), when (epoch s), and whether it was a failover. */
export interface Relay {
  readonly callId: string
  readonly destination: string
  readonly at: number
  readonly failover: boolean
}

const run = (args: readonly string[], timeoutMs = 180_000): Promise<CliResult> =>
  new Promise((resolve) => {
    execFile(process.execPath, [SCRIPT, ...args], {timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024}, (error, stdout, stderr) => {
      resolve({code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr})
    })
  })

/** The last lines of every part's error log, for a failure message (the directory goes with the failed fleet). */
const logTails = (dir: string): string =>
  readdirSync(dir, {withFileTypes: true})
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => ['error.log', 'stderr.log', 'clickhouse.log', 'zookeeper.log'].map((file) => join(dir, entry.name, file)))
    .filter((file) => existsSync(file))
    .map((file) => `--- ${file}\n${readFileSync(file, 'utf8').trim().split('\n').slice(-12).join('\n')}`)
    .join('\n')

export class TestFleet {
  private constructor(readonly state: FleetState) {}

  /** `scripts/fleet up --call-log --json` in a fresh directory. */
  static async up(extraArgs: readonly string[] = []): Promise<TestFleet> {
    const dir = mkdtempSync(join(tmpdir(), 'cc-fleet-'))
    const result = await run(['up', '--dir', dir, '--call-log', '--json', ...extraArgs])
    if (result.code !== 0) {
      const logs = logTails(dir)
      rmSync(dir, {recursive: true, force: true})
      assert.fail(`scripts/fleet up failed (${result.code}):\n${result.stderr}\n${logs}`)
    }
    return new TestFleet((JSON.parse(result.stdout) as {state: FleetState}).state)
  }

  /** Stops it all and removes its directory; FLEET_KEEP=1 leaves it up to look at (scripts/fleet down --dir DIR later). */
  async down(): Promise<void> {
    if (process.env.FLEET_KEEP === '1') {
      process.stdout.write(`# the fleet stays up in ${this.state.dir} (FLEET_KEEP=1)\n`)
      return
    }
    const result = await run(['down', '--dir', this.state.dir])
    rmSync(this.state.dir, {recursive: true, force: true})
    assert.equal(result.code, 0, result.stderr)
  }

  /** kill -9 of a gateway's daemon (its pid file), and the moment it is certainly dead (epoch s). */
  async killGateway(name: string): Promise<number> {
    const pid = Number(readFileSync(join(this.gateway(name).dir, 'daemon.pid'), 'utf8').trim())
    process.kill(pid, 'SIGKILL')
    // Dead once it is gone or a zombie: nobody may reap a daemon that `clutchcall start` left to init.
    await waitFor(`${name} (pid ${pid}) to die`, () => {
      try {
        return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')) ? true : undefined
      } catch {
        return true
      }
    })
    return Date.now() / 1000
  }

  /** `scripts/fleet stop NAME` (SIGKILL with kill) and `scripts/fleet start NAME`. */
  async stop(name: string, {kill = false} = {}): Promise<void> {
    const result = await run(['stop', name, '--dir', this.state.dir, ...(kill ? ['--kill'] : [])])
    assert.equal(result.code, 0, result.stderr)
  }

  async start(name: string): Promise<void> {
    const result = await run(['start', name, '--dir', this.state.dir])
    assert.equal(result.code, 0, result.stderr)
  }

  /** `scripts/fleet status --json`: each part and whether it runs. */
  async status(): Promise<Array<{name: string; running: boolean; pid: number | null}>> {
    const result = await run(['status', '--dir', this.state.dir, '--json'])
    assert.equal(result.code, 0, result.stderr)
    return (JSON.parse(result.stdout) as {components: Array<{name: string; running: boolean; pid: number | null}>}).components
  }

  get balancer(): string {
    return `${this.state.balancer.address}:${this.state.balancer.port}`
  }

  gateway(name: string): FleetGateway {
    const gateway = this.state.gateways.find((candidate) => candidate.name === name)
    assert.ok(gateway, `no gateway ${name}`)
    return gateway
  }

  /** `sip:ADDR:PORT` of a gateway, as the balancer's dispatcher list names it. */
  destination(name: string): string {
    const gateway = this.gateway(name)
    return `sip:${gateway.address}:${gateway.sipPort}`
  }

  nameOf(destination: string): string {
    return this.state.gateways.find((gateway) => `sip:${gateway.address}:${gateway.sipPort}` === destination)?.name ?? destination
  }

  /** The clutchcall CLI in a gateway's home, with --json. */
  cli(name: string, args: readonly string[]): Promise<CliResult & {body: JsonEnvelope}> {
    const env: NodeJS.ProcessEnv = {...process.env, CLUTCHCALL_HOME: this.gateway(name).dir, NO_COLOR: '1'}
    delete env.CLUTCHCALL_CONFIG
    return new Promise((resolve, reject) => {
      execFile(process.execPath, [BIN, ...args, '--json'], {env, timeout: 120_000}, (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
        try {
          resolve({code, stdout, stderr, body: JSON.parse(stdout) as JsonEnvelope})
        } catch {
          reject(new Error(`clutchcall ${args.join(' ')} on ${name}: not one JSON envelope (exit ${code}):\n${stdout}\n${stderr}`))
        }
      })
    })
  }

  /** The balancer's view: gateway name -> dispatcher flags (`AP` in the rotation and probed, `IP` out of it). */
  dispatcher(): Promise<Record<string, string>> {
    return new Promise((resolve) => {
      execFile('kamcmd', ['-s', `unix:${this.state.balancer.ctl}`, 'dispatcher.list'], {timeout: 5000}, (_error, stdout) => {
        resolve(Object.fromEntries([...String(stdout).matchAll(/URI:\s*(\S+)\s+FLAGS:\s*(\S+)/g)].map((match) => [this.nameOf(match[1]!), match[2]!])))
      })
    })
  }

  /** Waits until the balancer has `name` in its rotation again (its probes got 200). */
  inRotation(name: string): Promise<true> {
    return waitFor(`the balancer to take ${name} back`, async () => ((await this.dispatcher())[name]?.startsWith('A') ? true : undefined), 30_000)
  }

  /** The INVITEs the balancer relayed so far, in its log's order. */
  relays(): Relay[] {
    return [...readFileSync(this.state.balancer.log, 'utf8').matchAll(/fleet-call (\S+) (sip:\S+) (\d+\.\d+)( failover)?$/gm)].map((match) => ({
      callId: match[1]!,
      destination: match[2]!,
      at: Number(match[3]),
      failover: match[4] !== undefined,
    }))
  }

  /** Times (epoch s) the balancer's probes took `name` out of the rotation. */
  probedDown(name: string): number[] {
    const destination = this.destination(name)
    return [...readFileSync(this.state.balancer.log, 'utf8').matchAll(/fleet-dst-down (\S+) (\S+) (\d+\.\d+)$/gm)]
      .filter((match) => match[1] === destination || match[2] === destination)
      .map((match) => Number(match[3]))
  }

  /** The JSON lines of a gateway's daemon log with this `msg`. */
  logLines(name: string, msg: string): Array<{time: number; [key: string]: unknown}> {
    return readFileSync(join(this.gateway(name).dir, 'daemon.log'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes(JSON.stringify(msg)))
      .map((line) => JSON.parse(line) as {time: string | number; msg: string})
      .filter((line) => line.msg === msg)
      .map((line) => ({...line, time: typeof line.time === 'number' ? line.time : Date.parse(line.time)}))
  }

  /** A ClickHouse server that answers (the fleet's SQL goes through the Distributed table on it). */
  async query(sql: string, server?: FleetClickHouse): Promise<string> {
    const candidates = server ? [server] : this.state.clickhouse
    let last: unknown
    for (const candidate of candidates) {
      try {
        const response = await fetch(`http://${candidate.address}:${candidate.httpPort}/`, {method: 'POST', body: sql, signal: AbortSignal.timeout(20_000)})
        const body = await response.text()
        if (!response.ok) throw new Error(`${candidate.name}: ${body}`)
        return body
      } catch (error) {
        last = error
      }
    }
    throw last
  }

  async rows<T = Record<string, string>>(sql: string, server?: FleetClickHouse): Promise<T[]> {
    return (await this.query(`${sql} FORMAT JSONEachRow`, server))
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as T)
  }

  /** `database.table`, the Distributed table the gateways write. */
  get table(): string {
    return `${this.state.database}.${this.state.table}`
  }
}

/**
 * A caller for the balancer: each call dials its own number (`prefix` + SIPp's
 * call number), holds `holdMs`, and sends ACK and BYE along the Record-Route
 * (so through the balancer to the gateway that answered). SIPp logs
 * `answered NUMBER CALL-ID` at the 200 and `completed NUMBER CALL-ID` at the
 * BYE's 200: what the caller saw, per call.
 */
export const uacThroughBalancer = (prefix: string, holdMs: number): string => {
  const headers = (cseq: string) => `Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:+15550001111@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:${prefix}[call_number]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ${cseq}
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70`
  return `<?xml version="1.0" encoding="UTF-8" ?>
<scenario name="uac through the balancer">
<send retrans="500"><![CDATA[
INVITE sip:${prefix}[call_number]@[remote_ip]:[remote_port] SIP/2.0
${headers('1 INVITE')}
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP4 [media_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
]]></send>
<recv response="100" optional="true"/>
<recv response="180" optional="true"/>
<recv response="183" optional="true"/>
<recv response="200" rtd="true" rrs="true"><action><log message="answered ${prefix}[call_number] [call_id]"/></action></recv>
<send><![CDATA[
ACK [next_url] SIP/2.0
${headers('1 ACK')}
[routes]
Content-Length: 0

]]></send>
<pause milliseconds="${holdMs}"/>
<send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
${headers('2 BYE')}
[routes]
Content-Length: 0

]]></send>
<recv response="200" crlf="true"><action><log message="completed ${prefix}[call_number] [call_id]"/></action></recv>
</scenario>
`
}

/**
 * SIPp options for callers through the balancer: Kamailio relays a gateway's 180 and 200 from
 * different processes, so a 180 may reach SIPp after the 200 (any UA takes that in its stride);
 * SIPp would abort that call and leave it up on the gateway. Unexpected messages are ignored
 * instead; a call still fails when an expected message does not come.
 */
export const CALLER_OPTIONS = ['-default_behaviors', 'all,-abortunexp'] as const

/** What SIPp's log says of each call: number -> Call-ID, for the answered and the completed ones. */
export const callerOutcomes = (logFile: string): {answered: Map<string, string>; completed: Map<string, string>} => {
  let text = ''
  try {
    text = readFileSync(logFile, 'utf8')
  } catch {
    // No call answered: SIPp writes the log at the first line.
  }
  const collect = (word: string) => new Map([...text.matchAll(new RegExp(`^${word} (\\S+) (\\S+)$`, 'gm'))].map((match): [string, string] => [match[1]!, match[2]!]))
  return {answered: collect('answered'), completed: collect('completed')}
}

/** A CDR row as the fleet tests read it from the Distributed table. */
export interface FleetCdr {
  readonly to_number: string
  readonly call_sid: string
  readonly node: string
  readonly status: string
  readonly q850_cause: number
  /** 1 when the row has an answer time. */
  readonly answered: number
}

/**
 * Every call the caller saw answered has exactly one answered CDR (the bill), and no call_sid is
 * stored twice. A call may have more rows: a gateway that answered 503 (overloaded, draining)
 * before the balancer sent the INVITE to another wrote a refused attempt, unanswered, never billed.
 */
export const assertBilledOnce = (answered: Iterable<string>, rows: readonly FleetCdr[]): void => {
  const bills = new Map<string, number>()
  for (const row of rows) if (Number(row.answered) === 1) bills.set(row.to_number, (bills.get(row.to_number) ?? 0) + 1)
  const numbers = [...answered]
  assert.deepEqual(numbers.filter((number) => !bills.has(number)), [], 'answered calls without a CDR')
  assert.deepEqual([...bills].filter(([, count]) => count > 1).map(([number]) => number), [], 'calls billed more than once')
  assert.equal(new Set(rows.map((row) => row.call_sid)).size, rows.length, 'no call_sid is stored twice')
}

// The fleet script's modules are plain JavaScript outside the compiled tree.
interface ClickHouseScript {
  queuedDistributedBlocks(server: {dir: string}, database: string, table: string): number
}

/** Blocks a server's Distributed tables still hold for their shards, per server (scripts/lib/fleet/clickhouse.js counts them). */
const pendingDistributedFiles = async (fleet: TestFleet): Promise<string> => {
  const {queuedDistributedBlocks} = (await import(pathToFileURL(join(ROOT, 'scripts/lib/fleet/clickhouse.js')).href)) as ClickHouseScript
  return fleet.state.clickhouse.map((server) => `${server.name} ${queuedDistributedBlocks(server, fleet.state.database, fleet.state.table)}`).join(', ')
}

/**
 * The CDR rows of calls to numbers starting with `prefix`, once at least `atLeast` of them are answered ones.
 * 150 s: a Distributed table on 18.16 retries a shard it could not reach with a doubling pause and no cap
 * setting, so blocks written during an outage can take a minute or more to arrive after it.
 */
export const cdrsOf = async (fleet: TestFleet, prefix: string, atLeast: number): Promise<FleetCdr[]> => {
  const sql = `SELECT to_number, node, call_sid, status, q850_cause, isNotNull(answer_timestamp_ms) AS answered FROM ${fleet.table} WHERE startsWith(to_number, '${prefix}')`
  let last: FleetCdr[] = []
  try {
    return await waitFor(`${atLeast} answered CDRs of ${prefix} in the cluster`, async () => {
      last = await fleet.rows<FleetCdr>(sql)
      return last.filter((row) => Number(row.answered) === 1).length >= atLeast ? last : undefined
    }, 150_000)
  } catch (error) {
    const answered = last.filter((row) => Number(row.answered) === 1)
    const byNode = [...new Set(answered.map((row) => row.node))].map((node) => `${node} ${answered.filter((row) => row.node === node).length}`).join(', ')
    throw new Error(`${(error as Error).message}: ${answered.length} answered of ${last.length} rows (by node: ${byNode || 'none'}); blocks still queued in Distributed tables: ${await pendingDistributedFiles(fleet)}`)
  }
}
