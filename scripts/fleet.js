#!/usr/bin/env node
// A whole ClutchCall fleet on this machine's loopback, from Debian packages
// (docs/fleet.md, "A fleet on one machine"):
//
//   balancer    Kamailio + dispatcher on 127.0.0.1 (OPTIONS probes every 1 s, round robin)
//   gw-1..N     clutchcall daemons on 127.0.0.2, .3, .4 ...
//   zookeeper   Debian's ZooKeeper on 127.0.0.1 (replication, ON CLUSTER DDL)
//   ch-sS-rR    ClickHouse servers of cluster `fleet`, 2 shards x 2 replicas (x 1 with little memory)
//   prometheus  one Prometheus scraping every gateway
//
//   scripts/fleet [up]            start it all; prints where each part is
//   scripts/fleet status          where each part is, and whether it runs
//   scripts/fleet down            stop everything and remove the fleet's directory
//   scripts/fleet stop NAME [--kill]   stop one part (SIGKILL with --kill): gw-2, ch-s1-r2, balancer...
//   scripts/fleet start NAME      start a stopped part again, on its ports and data
//
// Options: --dir DIR (FLEET_DIR; default $TMPDIR/clutchcall-fleet-<uid>), --gateways N (3),
// --shards N (2), --replicas 1|2 (by available memory), --drain-grace S (5), --distributed-send-ms MS
// (100: how long a Distributed table queues blocks for another shard before sending them in one insert),
// --call-log (the balancer logs every INVITE it relays: the tests read it), --json.
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync, rmSync, mkdirSync, writeFileSync, renameSync} from 'node:fs'
import {freemem, tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {parseArgs} from 'node:util'
import {DEFAULT_DISTRIBUTED_SEND_MS, clickHouseLogTail, clickHouseOk, clickHouseUrl, planClickHouse, planZooKeeper, startCluster, waitForCluster, writeClickHouse, writeZooKeeper, zooKeeperOk} from './lib/fleet/clickhouse.js'
import {BIN, gatewayCli, gatewayPid, planGateways, startGateway, writeGateway} from './lib/fleet/gateways.js'
import {planKamailio, startKamailio, writeKamailio, INVITE_FR_TIMER_MS, PING_INTERVAL_S, DISPATCHER_ALGORITHM} from './lib/fleet/kamailio.js'
import {WaitAborted, canBind, httpOk, isAlive, runsFrom, startDetached, stopPid, waitFor} from './lib/fleet/proc.js'
import {planPrometheus, startPrometheus, writePrometheus} from './lib/fleet/prometheus.js'

const CLUSTER = 'fleet'
const DATABASE = 'clutchcall'
const TABLE = 'telephony_cdrs'
const STATE = 'fleet.json'

const {values: flags, positionals} = parseArgs({
  allowPositionals: true,
  options: {
    dir: {type: 'string'},
    gateways: {type: 'string', default: '3'},
    shards: {type: 'string', default: '2'},
    replicas: {type: 'string'},
    'drain-grace': {type: 'string', default: '5'},
    'distributed-send-ms': {type: 'string', default: String(DEFAULT_DISTRIBUTED_SEND_MS)},
    'call-log': {type: 'boolean', default: false},
    kill: {type: 'boolean', default: false},
    json: {type: 'boolean', default: false},
  },
})
const dir = flags.dir ?? process.env.FLEET_DIR ?? join(tmpdir(), `clutchcall-fleet-${userInfo().uid}`)
const statePath = join(dir, STATE)

const fail = (message) => {
  process.stderr.write(`fleet: ${message}\n`)
  process.exit(1)
}
const say = (message) => {
  if (!flags.json) process.stderr.write(`${message}\n`)
}

const readState = () => (existsSync(statePath) ? JSON.parse(readFileSync(statePath, 'utf8')) : undefined)
const saveState = (state) => {
  writeFileSync(`${statePath}.tmp`, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(`${statePath}.tmp`, statePath)
}
const components = (state) => [state.zookeeper, ...state.clickhouse, ...state.gateways, state.balancer, state.prometheus].filter(Boolean)
const byName = (state, name) => components(state).find((component) => component.name === name)

const tail = (file, lines = 15) => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

/** The pid of a part while it runs (the gateway's own pid file, the pid we started for the others), undefined otherwise. */
const livePid = (component) => {
  const pid = component.kind === 'gateway' ? gatewayPid(component) : component.pid
  return runsFrom(pid, component.dir) ? pid : undefined
}
const running = (component) => livePid(component) !== undefined

/** The balancer's view of each gateway, from `kamcmd dispatcher.list`: destination URI -> flags (AP = active and probed, IP = inactive). */
export const dispatcherState = (balancer) => {
  const run = spawnSync('kamcmd', ['-s', `unix:${balancer.ctl}`, 'dispatcher.list'], {encoding: 'utf8', timeout: 5000})
  const states = {}
  for (const match of (run.stdout ?? '').matchAll(/URI:\s*(\S+)\s+FLAGS:\s*(\S+)/g)) states[match[1]] = match[2]
  return states
}

const startComponent = async (state, component) => {
  switch (component.kind) {
    case 'zookeeper':
      component.pid = startDetached(component.command[0], component.command.slice(1), {cwd: component.dir, logFile: component.log})
      saveState(state)
      await waitFor(`ZooKeeper on ${component.address}:${component.port} (log: ${component.log})`, async () => ((await zooKeeperOk(component)) ? true : undefined), 60_000)
      break
    case 'clickhouse':
      await startCluster([component], {say, onStarted: () => saveState(state)})
      break
    case 'gateway':
      component.pid = await startGateway(component)
      break
    case 'kamailio':
      component.pid = startKamailio(component)
      saveState(state)
      await waitFor(`Kamailio to probe every gateway (log: ${component.log})`, () => {
        if (!isAlive(component.pid)) throw new WaitAborted(`kamailio exited:\n${tail(component.log)}`)
        const seen = dispatcherState(component)
        const up = state.gateways.filter((gateway) => running(gateway) && /^A/.test(seen[`sip:${gateway.address}:${gateway.sipPort}`] ?? ''))
        return up.length === state.gateways.filter(running).length && Object.keys(seen).length === state.gateways.length ? true : undefined
      }, 20_000)
      break
    case 'prometheus':
      component.pid = startPrometheus(component)
      saveState(state)
      await waitFor(`Prometheus on ${component.address}:${component.port} (log: ${component.log})`, async () => ((await httpOk(`http://${component.address}:${component.port}/-/ready`)) === undefined ? undefined : true), 30_000)
      break
  }
  saveState(state)
}

const stopComponent = async (state, component, {kill = false, timeoutS = 10} = {}) => {
  const pid = livePid(component)
  if (pid === undefined) return
  if (component.kind === 'gateway') {
    if (kill) await stopPid(pid, {signal: 'SIGKILL'})
    else await gatewayCli(component, ['stop', '--timeout', String(timeoutS), '--force'])
    await stopPid(pid)
  } else {
    await stopPid(pid, {signal: kill ? 'SIGKILL' : 'SIGTERM', timeoutMs: timeoutS * 1000})
  }
  saveState(state)
}

/** Stops every part, the callers' side first: balancer, Prometheus and gateways together, then ClickHouse, then ZooKeeper. */
const stopAll = async (state, timeoutS) => {
  const stages = [[state.balancer, state.prometheus, ...state.gateways], state.clickhouse ?? [], [state.zookeeper]]
  for (const stage of stages) await Promise.all(stage.filter(Boolean).map((component) => stopComponent(state, component, {timeoutS})))
}

const where = (state) =>
  components(state).map((component) => {
    const pid = livePid(component)
    const base = {name: component.name, kind: component.kind, running: pid !== undefined, pid: pid ?? null, log: component.log}
    switch (component.kind) {
      case 'zookeeper':
        return {...base, where: `${component.address}:${component.port}`}
      case 'clickhouse':
        return {...base, where: `${clickHouseUrl(component)} (native ${component.address}:${component.tcpPort})`, shard: component.shard, replica: component.replica, use: `clickhouse-client --host ${component.address} --port ${component.tcpPort}`}
      case 'gateway':
        return {...base, where: `sip:${component.address}:${component.sipPort} (udp, tcp); metrics http://${component.address}:${component.metricsPort}/metrics`, home: component.dir, use: `CLUTCHCALL_HOME=${component.dir} clutchcall status`}
      case 'kamailio':
        return {...base, where: `sip:${component.address}:${component.port} (udp)`, use: `kamcmd -s unix:${component.ctl} dispatcher.list`}
      case 'prometheus':
        return {...base, where: `http://${component.address}:${component.port}`}
      default:
        return base
    }
  })

const printWhere = (state) => {
  const rows = where(state)
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({dir: state.dir, cluster: state.cluster, database: state.database, table: state.table, algorithm: state.algorithm, pingIntervalS: state.pingIntervalS, components: rows, state}, null, 2)}\n`)
    return
  }
  const width = Math.max(...rows.map((row) => row.name.length))
  const lines = [`ClutchCall fleet in ${state.dir} (cluster ${state.cluster}, CDRs in ${state.database}.${state.table})`, '']
  for (const row of rows) {
    lines.push(`${row.name.padEnd(width)}  ${row.running ? 'up  ' : 'DOWN'}  ${row.where}`)
    if (row.use) lines.push(`${' '.repeat(width)}        ${row.use}`)
  }
  lines.push('', `Call through the balancer: sipp -sn uac ${state.balancer.address}:${state.balancer.port}`, `Logs are beside each part in ${state.dir}; stop it all with: scripts/fleet down${flags.dir ? ` --dir ${dir}` : ''}`)
  process.stdout.write(`${lines.join('\n')}\n`)
}

const memAvailableBytes = () => {
  const match = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))
  return match ? Number(match[1]) * 1024 : freemem()
}

const up = async () => {
  const existing = readState()
  if (existing && components(existing).some(running)) fail(`a fleet is up in ${dir} already: scripts/fleet status, or scripts/fleet down first`)
  if (existing) rmSync(dir, {recursive: true, force: true})
  const missing = ['kamailio', 'kamcmd', 'clickhouse-server', 'java', 'prometheus'].filter((tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
  if (!existsSync('/usr/share/java/zookeeper.jar')) missing.push('zookeeper (Debian package)')
  if (missing.length > 0) fail(`missing: ${missing.join(', ')}; install the Debian packages with scripts/install-test-peers (as root)`)
  if (!existsSync(BIN.replace(/bin\/run\.js$/, 'dist/cli/cli.js'))) fail('clutchcall is not built: npm run build')
  const gatewayCount = Number(flags.gateways)
  if (!(gatewayCount >= 1 && gatewayCount <= 8)) fail('--gateways must be 1 to 8')
  for (let index = 2; index <= gatewayCount + 1; index++) {
    if (!(await canBind(`127.0.0.${index}`))) fail(`cannot bind 127.0.0.${index}: on Linux all of 127.0.0.0/8 is local; elsewhere add it (ip addr add 127.0.0.${index}/8 dev lo)`)
  }
  const shards = Number(flags.shards)
  // Measured: a 18.16 server holds 80-150 MB under this load with these settings; ZooKeeper 70 MB, a gateway 100-200 MB.
  const replicas = flags.replicas === undefined ? (memAvailableBytes() >= 3 * 2 ** 30 ? 2 : 1) : Number(flags.replicas)
  if (!(shards >= 1 && shards <= 4 && replicas >= 1 && replicas <= 3)) fail('--shards must be 1 to 4 and --replicas 1 to 3')
  const distributedSendMs = Number(flags['distributed-send-ms'])
  if (!(Number.isInteger(distributedSendMs) && distributedSendMs >= 10 && distributedSendMs <= 60_000)) fail('--distributed-send-ms must be a whole number of milliseconds from 10 to 60000')

  mkdirSync(dir, {recursive: true})
  const state = {dir, cluster: CLUSTER, database: DATABASE, table: TABLE, algorithm: DISPATCHER_ALGORITHM === 4 ? 'round-robin' : String(DISPATCHER_ALGORITHM), pingIntervalS: PING_INTERVAL_S, inviteTimeoutS: INVITE_FR_TIMER_MS / 1000, shards, replicas, startedAt: new Date().toISOString()}
  state.zookeeper = await planZooKeeper(dir, '127.0.0.1')
  state.clickhouse = await planClickHouse(dir, {shards, replicas})
  state.gateways = await planGateways(dir, {count: gatewayCount})
  state.balancer = await planKamailio(dir, {callLog: flags['call-log']})
  state.prometheus = await planPrometheus(dir)
  writeZooKeeper(state.zookeeper)
  writeClickHouse(state.clickhouse, {cluster: CLUSTER, zookeeper: state.zookeeper, distributedSendMs})
  state.gateways.forEach((gateway, index) =>
    writeGateway(gateway, {balancer: state.balancer, clickhouseUrl: clickHouseUrl(state.clickhouse[index % state.clickhouse.length]), database: DATABASE, table: TABLE, drainGraceS: Number(flags['drain-grace'])}),
  )
  writeKamailio(state.balancer, state.gateways)
  writePrometheus(state.prometheus, state.gateways)
  saveState(state)

  try {
    say(`fleet: ZooKeeper and ${shards} x ${replicas} ClickHouse servers ...`)
    await startComponent(state, state.zookeeper)
    await startCluster(state.clickhouse, {say, onStarted: () => saveState(state)})
    say(`fleet: clutchcall cdr migrate --cluster ${CLUSTER} --node-column ...`)
    // The DDL is idempotent (cdr migrate runs again without change), so a connection ClickHouse 18.16 dropped
    // mid-statement on a starved machine is retried once the cluster answers again; the logs say why it dropped.
    for (let attempt = 1; ; attempt++) {
      const migrated = await gatewayCli(state.gateways[0], ['cdr', 'migrate', '--cluster', CLUSTER, '--node-column'])
      if (migrated.status === 0) break
      const failure = `cdr migrate --cluster ${CLUSTER} failed: ${migrated.error?.message}`
      if (attempt === 3 || migrated.error?.code !== 'CC_ERR_CLICKHOUSE_UNREACHABLE') throw new Error(`${failure}\n${state.clickhouse.map((server) => clickHouseLogTail(server)).join('\n')}`)
      say(`fleet: ${failure}; once the cluster answers again, attempt ${attempt + 1} of 3`)
      await waitForCluster(state.clickhouse)
    }
    say(`fleet: ${gatewayCount} gateways ...`)
    for (const gateway of state.gateways) await startComponent(state, gateway)
    say('fleet: the balancer and Prometheus ...')
    await startComponent(state, state.balancer)
    await startComponent(state, state.prometheus)
  } catch (error) {
    process.stderr.write(`fleet: ${error.message}\nstopping what was started; the logs stay in ${dir}\n`)
    await stopAll(state, 5)
    process.exit(1)
  }
  printWhere(state)
}

const down = async () => {
  const state = readState()
  if (!state) {
    say(`fleet: no fleet in ${dir}`)
    return
  }
  // Its data goes with it: no reason to wait long for a clean shutdown.
  await stopAll(state, 5)
  rmSync(dir, {recursive: true, force: true})
  say(`fleet: stopped; removed ${dir}`)
}

const command = positionals[0] ?? 'up'
const state = command === 'up' || command === 'down' ? undefined : readState() ?? fail(`no fleet in ${dir} (scripts/fleet up)`)
switch (command) {
  case 'up':
    await up()
    break
  case 'down':
    await down()
    break
  case 'status':
    printWhere(state)
    break
  case 'stop':
  case 'start': {
    const component = byName(state, positionals[1] ?? '') ?? fail(`${command} what? one of: ${components(state).map((part) => part.name).join(', ')}`)
    if (command === 'stop') await stopComponent(state, component, {kill: flags.kill})
    else if (!running(component)) await startComponent(state, component)
    if (flags.json) process.stdout.write(`${JSON.stringify(where(state).find((row) => row.name === component.name))}\n`)
    else say(`fleet: ${component.name} ${running(component) ? 'up' : 'stopped'}`)
    break
  }
  default:
    fail(`unknown command ${command}: up, status, down, stop NAME [--kill], start NAME`)
}
