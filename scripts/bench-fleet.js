#!/usr/bin/env node
// Fleet benchmark: the same calls through Kamailio + 3 gateways + the 2 x 2
// ClickHouse cluster (scripts/fleet) and straight to 1 gateway writing to 1
// ClickHouse server, in the same run, phases alternating. For each phase: the
// calls completed, the setup rate achieved, the peak of concurrent calls, and
// the CPU each part used per call (utime + stime from /proc, every process of
// Kamailio's group, every thread of a gateway). Prints the ratios: the fleet's
// CPU per call over the single gateway's, and what the balancer and the
// cluster add. The goal: they add at most 15 % CPU per call. Everything runs on
// this machine: on 2 cores the fleet cannot be faster, and the figures say
// where the CPU goes, hence what each added core buys. Each part's CPU is
// given as used, and above idle: before each phase every part is measured
// for IDLE_S seconds with no calls (timers, probes, merges, ZooKeeper's
// ticks), and that rate times the phase's length is taken off. Above idle is
// what a call costs; idle is what a node costs whatever its load.
//
//   npm run bench:fleet
//   CALLS=2000 RATE=50 HOLD_MS=5000 ROUNDS=3 npm run bench:fleet
//
// Environment: CALLS (1200 per phase), RATE (40 calls/s), HOLD_MS (5000: each
// call's hold, so about RATE x HOLD_MS / 1000 calls are up at once), ROUNDS
// (2: fleet and direct phases each, alternating; medians printed), IDLE_S (5),
// DISTRIBUTED_SEND_MS (100: scripts/fleet --distributed-send-ms, how long the
// cluster's Distributed table queues blocks for another shard before one send),
// QUIET_WAIT_S (60: wait up to this long for other processes to quieten
// before each phase), KEEP=1 leaves the fleet up. Needs a build and the Debian
// packages of scripts/install-test-peers.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {DEFAULT_DISTRIBUTED_SEND_MS, clickHouseUrl, planClickHouse, queuedDistributedBlocks, startClickHouse, waitForCluster, writeClickHouse} from './lib/fleet/clickhouse.js'
import {gatewayCli, gatewayPid, startGateway, writeGateway} from './lib/fleet/gateways.js'
import {freePort, stopPid} from './lib/fleet/proc.js'
import {CLK_TCK, CORES, median, numberEnv, readTicks, waitForQuietMachine} from './lib/measure.js'
import {runSipp, sippErrors, sippStats} from './lib/sipp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const SCENARIO = join(root, 'bench', 'scenarios', 'uac-hold-routed.xml')
const CALLS = numberEnv('CALLS', 1200)
const RATE = numberEnv('RATE', 40)
const HOLD_MS = numberEnv('HOLD_MS', 5000)
const ROUNDS = numberEnv('ROUNDS', 2)
const QUIET_WAIT_S = numberEnv('QUIET_WAIT_S', 60)
const IDLE_S = numberEnv('IDLE_S', 5)
const DISTRIBUTED_SEND_MS = numberEnv('DISTRIBUTED_SEND_MS', DEFAULT_DISTRIBUTED_SEND_MS)
const GOAL = 1.15

const dir = mkdtempSync(join(tmpdir(), 'cc-bench-fleet-'))
const fleetDir = join(dir, 'fleet')
const fleetScript = join(root, 'scripts', 'fleet.js')

/** Every process whose process group is `pgid` (Kamailio's main process and its children). */
const groupPids = (pgid) =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid
      } catch {
        return false
      }
    })
    .map(Number)

const ticksOf = (pids) => pids.reduce((sum, pid) => sum + readTicks(`/proc/${pid}/stat`), 0)

const log = (line) => process.stdout.write(`${line}\n`)

log(`bench:fleet: ${CALLS} calls per phase at ${RATE}/s, ${HOLD_MS} ms each (about ${Math.round((RATE * HOLD_MS) / 1000)} up at once), ${ROUNDS} round(s), ${CORES} cores; the cluster's Distributed table sends every ${DISTRIBUTED_SEND_MS} ms`)
const up = spawnSync(process.execPath, [fleetScript, 'up', '--dir', fleetDir, '--distributed-send-ms', String(DISTRIBUTED_SEND_MS), '--json'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit']})
if (up.status !== 0) {
  rmSync(dir, {recursive: true, force: true})
  throw new Error('scripts/fleet up failed')
}
const fleet = JSON.parse(up.stdout).state

// The single gateway: its own loopback address, its own ClickHouse server with a plain MergeTree table.
const [single] = await planClickHouse(join(dir, 'single'), {shards: 1, replicas: 1})
writeClickHouse([single], {cluster: 'single', zookeeper: fleet.zookeeper})
single.pid = startClickHouse(single)
await waitForCluster([single])
const direct = {name: 'gw-direct', kind: 'gateway', address: '127.0.0.9', sipPort: await freePort('127.0.0.9', {udp: true}), metricsPort: await freePort('127.0.0.9'), dir: join(dir, 'gw-direct')}
mkdirSync(direct.dir, {recursive: true})
writeGateway(direct, {balancer: fleet.balancer, clickhouseUrl: clickHouseUrl(single), database: fleet.database, table: fleet.table, drainGraceS: 5})
const migrated = await gatewayCli(direct, ['cdr', 'migrate', '--node-column'])
if (migrated.status !== 0) throw new Error(`cdr migrate on the single server: ${migrated.error?.message}`)
await startGateway(direct)

/** Until no server's Distributed table holds a block for another shard (at most a minute). */
const waitForDistributedQueues = async () => {
  const deadline = Date.now() + 60_000
  while (fleet.clickhouse.some((server) => queuedDistributedBlocks(server, fleet.database, fleet.table) > 0)) {
    if (Date.now() > deadline) throw new Error('the Distributed table still queues blocks a minute after the phase')
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

const parts = {
  fleet: () => ({
    balancer: groupPids(fleet.balancer.pid),
    ...Object.fromEntries(fleet.gateways.map((gateway) => [gateway.name, [gatewayPid(gateway)]])),
    clickhouse: fleet.clickhouse.map((server) => server.pid),
    zookeeper: [fleet.zookeeper.pid],
  }),
  direct: () => ({'gw-direct': [gatewayPid(direct)], clickhouse: [single.pid]}),
}

const phase = async (kind) => {
  const quiet = await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 2000, busyBelow: 30})
  const target = kind === 'fleet' ? `${fleet.balancer.address}:${fleet.balancer.port}` : `${direct.address}:${direct.sipPort}`
  const cwd = mkdtempSync(join(dir, `sipp-${kind}-`))
  const pids = parts[kind]()
  const sample = () => Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, ticksOf(list)]))
  const idleFrom = sample()
  const idleStarted = Date.now()
  await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000))
  const before = sample()
  const idlePerS = Object.fromEntries(Object.entries(before).map(([name, ticks]) => [name, (ticks - idleFrom[name]) / CLK_TCK / ((Date.now() - idleStarted) / 1000)]))
  const started = Date.now()
  const sipp = runSipp([target, '-sf', SCENARIO, '-s', '1000', '-i', '127.0.0.1', '-m', String(CALLS), '-r', String(RATE), '-d', String(HOLD_MS), '-l', String(RATE * (HOLD_MS / 1000 + 10)), '-timeout', `${Math.ceil(CALLS / RATE + HOLD_MS / 1000 + 60)}s`, '-timeout_error', '-nostdin', '-trace_stat', '-fd', '1', '-trace_err', '-recv_timeout', '10000', '-default_behaviors', 'all,-abortunexp'], cwd)
  const {code} = await sipp.done
  const seconds = (Date.now() - started) / 1000
  // The CDRs of the phase are written before its CPU is read: the cluster's share counts.
  for (const gateway of kind === 'fleet' ? fleet.gateways : [direct]) await gatewayCli(gateway, ['cdr', 'flush', '--timeout', '60'])
  // …and sent on to their shards: blocks a Distributed table still queues would be sent, and paid for, in the next phase.
  if (kind === 'fleet') await waitForDistributedQueues()
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const measuredS = (Date.now() - started) / 1000
  const cpu = Object.fromEntries(Object.entries(pids).map(([name, list]) => [name, (ticksOf(list) - before[name]) / CLK_TCK]))
  const aboveIdle = Object.fromEntries(Object.entries(cpu).map(([name, used]) => [name, Math.max(0, used - idlePerS[name] * measuredS)]))
  const stats = sippStats(cwd, 'uac-hold-routed', sipp.child.pid) ?? {}
  const completed = Number(stats['SuccessfulCall(C)'] ?? 0)
  const failed = Number(stats['FailedCall(C)'] ?? 0)
  const errors = sippErrors(cwd, 'uac-hold-routed', sipp.child.pid)
  // The peak of calls up at once: the largest CurrentCall of the -trace_stat rows (one a second, -fd 1).
  const [header, ...rows] = readFileSync(join(cwd, `uac-hold-routed_${sipp.child.pid}_.csv`), 'utf8').trim().split('\n')
  const column = header.split(';').indexOf('CurrentCall')
  const peak = rows.reduce((max, line) => Math.max(max, Number(line.split(';')[column] ?? 0)), 0)
  return {kind, code, seconds, completed, failed, errors, peak, cpu, aboveIdle, idlePerS, busyBefore: quiet.busy}
}

const results = {fleet: [], direct: []}
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? ['fleet', 'direct'] : ['direct', 'fleet']) {
      const result = await phase(kind)
      results[kind].push(result)
      const total = Object.values(result.cpu).reduce((sum, value) => sum + value, 0)
      const above = Object.values(result.aboveIdle).reduce((sum, value) => sum + value, 0)
      log(`  round ${round + 1} ${kind.padEnd(6)}: ${result.completed} completed, ${result.failed} failed in ${result.seconds.toFixed(1)} s, peak ${result.peak} up, machine ${result.busyBefore.toFixed(0)} % busy before; CPU ${total.toFixed(1)} s, ${above.toFixed(1)} s above idle (${Object.entries(result.cpu).map(([name, value]) => `${name} ${value.toFixed(1)}/${result.aboveIdle[name].toFixed(1)}`).join(', ')})${result.completed === 0 ? `; errors: ${JSON.stringify(result.errors)}` : ''}`)
    }
  }
} finally {
  if (process.env.KEEP !== '1') {
    await stopPid(gatewayPid(direct), {timeoutMs: 5000})
    await stopPid(single.pid, {timeoutMs: 5000})
    execFileSync(process.execPath, [fleetScript, 'down', '--dir', fleetDir], {stdio: 'ignore'})
    rmSync(dir, {recursive: true, force: true})
  } else {
    log(`KEEP=1: the fleet stays in ${fleetDir} (scripts/fleet down --dir ${fleetDir}); the single gateway's home is ${direct.dir}`)
  }
}

/** Milliseconds of CPU per completed call of the parts whose names match `pick`, the median over the rounds. */
const perCall = (kind, pick, field = 'aboveIdle') => median(results[kind].map((result) => (1000 * Object.entries(result[field]).filter(([name]) => pick(name)).reduce((sum, [, value]) => sum + value, 0)) / Math.max(1, result.completed)))
const all = () => true
const gatewayPart = (name) => name.startsWith('gw-')
const clusterPart = (name) => name === 'clickhouse' || name === 'zookeeper'

const fleetTotal = perCall('fleet', all)
const directTotal = perCall('direct', all)
const fleetGateways = perCall('fleet', gatewayPart)
const directGateway = perCall('direct', gatewayPart)
const balancer = perCall('fleet', (name) => name === 'balancer')
const fleetStore = perCall('fleet', clusterPart)
const directStore = perCall('direct', clusterPart)
const ratio = fleetTotal / directTotal
log('')
log('CPU per call above idle (ms, median of the rounds)  fleet     direct')
log(`  gateways (all threads)                       ${fleetGateways.toFixed(2).padStart(8)}   ${directGateway.toFixed(2).padStart(8)}`)
for (const gateway of fleet.gateways) log(`    ${gateway.name.padEnd(41)}  ${perCall('fleet', (name) => name === gateway.name).toFixed(2).padStart(8)}`)
log(`  balancer (Kamailio, every process)           ${balancer.toFixed(2).padStart(8)}          -`)
log(`  CDR store (ClickHouse${fleet.clickhouse.length > 1 ? ` x ${fleet.clickhouse.length} + ZooKeeper` : ''} / 1 server)  ${fleetStore.toFixed(2).padStart(8)}   ${directStore.toFixed(2).padStart(8)}`)
log(`  total                                        ${fleetTotal.toFixed(2).padStart(8)}   ${directTotal.toFixed(2).padStart(8)}`)
log('')
log(`calls/s achieved: fleet ${median(results.fleet.map((result) => result.completed / result.seconds)).toFixed(1)}, direct ${median(results.direct.map((result) => result.completed / result.seconds)).toFixed(1)} (offered ${RATE}); peak concurrent: fleet ${median(results.fleet.map((result) => result.peak))}, direct ${median(results.direct.map((result) => result.peak))}`)
const rawRatio = perCall('fleet', all, 'cpu') / perCall('direct', all, 'cpu')
log(`fleet / direct CPU per call above idle: ${ratio.toFixed(3)} (goal <= ${GOAL}): ${ratio <= GOAL ? 'met' : 'NOT met'}; as used (idle included): ${rawRatio.toFixed(3)}`)
log(`idle CPU (cores): fleet ${median(results.fleet.map((result) => Object.values(result.idlePerS).reduce((sum, value) => sum + value, 0))).toFixed(3)}, direct ${median(results.direct.map((result) => Object.values(result.idlePerS).reduce((sum, value) => sum + value, 0))).toFixed(3)}`)
log(`  the balancer adds ${((100 * balancer) / directTotal).toFixed(1)} %, the replicated cluster ${((100 * (fleetStore - directStore)) / directTotal).toFixed(1)} %, the gateways ${((100 * (fleetGateways - directGateway)) / directTotal).toFixed(1)} % of the single gateway's CPU per call`)
log(`per added core: about ${(1000 / fleetTotal).toFixed(0)} calls/s of this call mix through the whole fleet (${(1000 / (fleetGateways + balancer)).toFixed(0)} with the CDR store on other machines), against ${(1000 / directTotal).toFixed(0)} for one gateway and its server`)
