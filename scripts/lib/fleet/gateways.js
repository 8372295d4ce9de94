// The fleet's gateways: one clutchcall daemon per loopback address
// (127.0.0.2, .3, .4 ...), each in its own home with its own node.name, all
// writing CDRs through the cluster's Distributed table (each to a different
// ClickHouse server), trusting only the balancer's address.
import {execFile} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {freePort} from './proc.js'

export const BIN = join(fileURLToPath(new URL('../../..', import.meta.url)), 'bin', 'run.js')

export const planGateways = async (dir, {count}) => {
  const gateways = []
  for (let index = 1; index <= count; index++) {
    const address = `127.0.0.${1 + index}`
    const name = `gw-${index}`
    gateways.push({name, kind: 'gateway', address, sipPort: await freePort(address, {udp: true}), metricsPort: await freePort(address), dir: join(dir, name), log: join(dir, name, 'daemon.log')})
  }
  return gateways
}

/** The config every gateway shares, but for node.name and its addresses. */
export const gatewayConfig = (gateway, {balancer, clickhouseUrl, database, table, drainGraceS}) => `# ${gateway.name} of the fleet (written by scripts/fleet; docs/fleet.md)
node: { name: ${gateway.name} }
sip:
  listen:
    - { transport: udp, address: ${gateway.address}, port: ${gateway.sipPort} }
    - { transport: tcp, address: ${gateway.address}, port: ${gateway.sipPort} }
  drain_grace_s: ${drainGraceS}
rtp: { address: ${gateway.address}, port_min: 20000, port_max: 29999 }
metrics: { listen: "${gateway.address}:${gateway.metricsPort}" }
tracing: { enabled: false }
cdr:
  clickhouse: { url: "${clickhouseUrl}", database: ${database}, table: ${table} }
  journal: { checkpoint_interval_ms: 1000 }
security:
  # The balancer (every call arrives from it) and this host's load tools: never rate-limited or banned.
  trusted_cidrs: ["${balancer.address}/32"]
  # A fleet on one machine shares its cores with ClickHouse, ZooKeeper, the balancer and the load
  # tools: a gateway's event loop waits for a core now and then without being overloaded itself.
  overload: { max_event_loop_lag_ms: 2000 }
`

export const writeGateway = (gateway, options) => {
  mkdirSync(gateway.dir, {recursive: true})
  writeFileSync(join(gateway.dir, 'clutchcall.yaml'), gatewayConfig(gateway, options))
}

/** The clutchcall CLI against one gateway's home: its --json envelope. */
export const gatewayCli = (gateway, args) => {
  const env = {...process.env, CLUTCHCALL_HOME: gateway.dir}
  delete env.CLUTCHCALL_CONFIG
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, '--json'], {env, encoding: 'utf8', timeout: 120_000}, (error, stdout, stderr) => {
      try {
        resolve(JSON.parse(stdout))
      } catch {
        resolve({status: error?.code ?? 1, error: {message: `${stdout}${stderr}`.trim()}})
      }
    })
  })
}

export const startGateway = async (gateway) => {
  const started = await gatewayCli(gateway, ['start'])
  if (started.status !== 0) throw new Error(`${gateway.name} did not start: ${started.error?.message ?? JSON.stringify(started)}`)
  return started.result.pid
}

export const gatewayPid = (gateway) => {
  try {
    return Number(readFileSync(join(gateway.dir, 'daemon.pid'), 'utf8').trim())
  } catch {
    return undefined
  }
}
