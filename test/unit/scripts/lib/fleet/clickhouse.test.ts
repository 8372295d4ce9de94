// scripts/fleet starts Debian's ClickHouse 18.16, which can crash while it
// starts (seen in CI). Here a fake server stands in for it: it crashes the
// first N times it is started, then answers /ping and queries like a server
// that sees ZooKeeper.
import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {pathToFileURL} from 'node:url'
import {ROOT} from '../../../../helpers/cli.js'

interface PlannedServer {
  name: string
  dir: string
  pid?: number
}
// The fleet script's modules are plain JavaScript outside the compiled tree.
interface FleetClickHouse {
  planClickHouse(dir: string, options: {shards: number; replicas: number}): Promise<PlannedServer[]>
  writeClickHouse(servers: PlannedServer[], options: {cluster: string; zookeeper: {address: string; port: number}; distributedSendMs?: number}): void
  queuedDistributedBlocks(server: PlannedServer, database: string, table: string): number
  startCluster(servers: PlannedServer[], options?: {attempts?: number; say?: (line: string) => void; onStarted?: () => void}): Promise<void>
  clickHouseOk(server: PlannedServer): Promise<boolean>
}
interface FleetProc {
  isAlive(pid: number): boolean
  stopPid(pid: number): Promise<void>
}
const importScript = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(ROOT, path)).href)) as T

const fakeServer = `#!${process.execPath}
// Crashes while the count of earlier starts is below CRASHES, then serves like ClickHouse.
const {readFileSync, writeFileSync, existsSync} = require('node:fs')
const {createServer} = require('node:http')
const {join, dirname} = require('node:path')
const config = process.argv.find((arg) => arg.startsWith('--config-file=')).slice('--config-file='.length)
const counter = join(dirname(config), 'starts')
const starts = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0
writeFileSync(counter, String(starts + 1))
if (starts < Number(readFileSync(join(dirname(config), 'crashes'), 'utf8'))) {
  writeFileSync(join(dirname(config), 'error.log'), 'BaseDaemon: Received signal Segmentation fault (11). start ' + (starts + 1) + '\\n', {flag: 'a'})
  process.exit(139)
}
const xml = readFileSync(config, 'utf8')
const port = Number(/<http_port>(\\d+)<\\/http_port>/.exec(xml)[1])
const host = /<listen_host>([^<]+)<\\/listen_host>/.exec(xml)[1]
createServer((request, response) => response.end(request.url === '/ping' ? 'Ok.\\n' : '1\\n')).listen(port, host)
`

describe('the fleet script starting ClickHouse', () => {
  let dir: string
  let fleet: FleetClickHouse
  let proc: FleetProc
  const started: PlannedServer[] = []

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-fleet-ch-'))
    const script = join(dir, 'fake-clickhouse-server.cjs')
    writeFileSync(script, fakeServer)
    chmodSync(script, 0o755)
    process.env.CLICKHOUSE_SERVER = script
    fleet = await importScript<FleetClickHouse>('scripts/lib/fleet/clickhouse.js')
    proc = await importScript<FleetProc>('scripts/lib/fleet/proc.js')
  })
  after(async () => {
    for (const server of started) if (server.pid !== undefined && proc.isAlive(server.pid)) await proc.stopPid(server.pid)
    rmSync(dir, {recursive: true, force: true})
  })

  const plan = async (name: string, crashes: number[]) => {
    const servers = await fleet.planClickHouse(join(dir, name), {shards: crashes.length, replicas: 1})
    fleet.writeClickHouse(servers, {cluster: 'test', zookeeper: {address: '127.0.0.1', port: 1}})
    servers.forEach((server, index) => writeFileSync(join(server.dir, 'crashes'), String(crashes[index])))
    started.push(...servers)
    return servers
  }
  const startsOf = (server: {dir: string}) => Number(readFileSync(join(server.dir, 'starts'), 'utf8'))

  it('starts a server again that crashed before it answered, says so with its log, and waits for every server', async () => {
    const servers = await plan('restart', [0, 2])
    const said: string[] = []
    let saves = 0
    await fleet.startCluster(servers, {say: (line: string) => said.push(line), onStarted: () => saves++})
    assert.deepEqual(servers.map(startsOf), [1, 3])
    assert.equal(said.length, 2)
    assert.match(said[0] ?? '', /ch-s2-r1 exited while starting \(attempt 1 of 5\)/)
    assert.match(said[1] ?? '', /Segmentation fault \(11\)\. start 2/)
    assert.equal(saves, 4, 'the state is saved after every start (the servers start in turn) and restart, so fleet down finds the live pid')
    for (const server of servers) assert.equal(await fleet.clickHouseOk(server), true)
  })

  it('gives up after three starts of a server that keeps crashing, naming it and its log', async () => {
    const servers = await plan('gives-up', [5])
    await assert.rejects(fleet.startCluster(servers, {attempts: 3}), (error: Error) => {
      assert.match(error.message, /ch-s1-r1 \(pid \d+\) exited/)
      assert.match(error.message, /start 3/)
      return true
    })
    const [server] = servers
    assert.ok(server)
    assert.equal(startsOf(server), 3)
    assert.equal(existsSync(join(server.dir, 'error.log')), true)
  })

  it('sends a Distributed table\'s queued blocks in one insert per pause only when the pause is not ClickHouse\'s default', async () => {
    const [batched] = await fleet.planClickHouse(join(dir, 'batched'), {shards: 1, replicas: 1})
    const [plain] = await fleet.planClickHouse(join(dir, 'plain'), {shards: 1, replicas: 1})
    assert.ok(batched && plain)
    fleet.writeClickHouse([batched], {cluster: 'test', zookeeper: {address: '127.0.0.1', port: 1}, distributedSendMs: 5000})
    fleet.writeClickHouse([plain], {cluster: 'test', zookeeper: {address: '127.0.0.1', port: 1}})
    const users = readFileSync(join(batched.dir, 'users.xml'), 'utf8')
    assert.match(users, /<distributed_directory_monitor_sleep_time_ms>5000<\/distributed_directory_monitor_sleep_time_ms>/)
    assert.match(users, /<distributed_directory_monitor_batch_inserts>1<\/distributed_directory_monitor_batch_inserts>/)
    assert.doesNotMatch(readFileSync(join(plain.dir, 'users.xml'), 'utf8'), /distributed_directory_monitor/)
  })

  it('counts the blocks a Distributed table still queues for its shards', async () => {
    const [server] = await fleet.planClickHouse(join(dir, 'queued'), {shards: 1, replicas: 1})
    assert.ok(server)
    assert.equal(fleet.queuedDistributedBlocks(server, 'db', 'cdrs'), 0, 'no table directory yet')
    const shardDir = join(server.dir, 'data', 'data', 'db', 'cdrs', 'default@127%2E0%2E0%2E1:9000')
    mkdirSync(shardDir, {recursive: true})
    for (const file of ['1.bin', '2.bin', 'tmp']) writeFileSync(join(shardDir, file), '')
    assert.equal(fleet.queuedDistributedBlocks(server, 'db', 'cdrs'), 2)
  })
})
