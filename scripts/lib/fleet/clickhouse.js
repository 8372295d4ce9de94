// The fleet's CDR store: Debian's ZooKeeper (one server, for replication and
// ON CLUSTER DDL) and a ClickHouse cluster of SHARDS x REPLICAS servers, each
// with its own loopback address, ports and directory, and small memory
// settings (this is a test fleet on a shared machine). Debian's
// clickhouse-server (18.16) has no ClickHouse Keeper: replication needs
// ZooKeeper.
import {existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {WaitAborted, freePort, httpOk, isAlive, startDetached, waitFor} from './proc.js'

export const ZOOKEEPER_CLASSPATH = '/etc/zookeeper/conf:/usr/share/java/zookeeper.jar'
export const CLICKHOUSE_SERVER = process.env.CLICKHOUSE_SERVER ?? 'clickhouse-server'

/** Plans ZooKeeper on `address`: its port, directory and command line. */
export const planZooKeeper = async (dir, address) => {
  const home = join(dir, 'zookeeper')
  const port = await freePort(address)
  return {
    name: 'zookeeper',
    kind: 'zookeeper',
    address,
    port,
    dir: home,
    log: join(home, 'zookeeper.log'),
    command: ['java', '-Xms32m', '-Xmx128m', '-XX:+UseSerialGC', '-Dzookeeper.admin.enableServer=false', '-cp', ZOOKEEPER_CLASSPATH, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', join(home, 'zoo.cfg')],
  }
}

export const writeZooKeeper = (zk) => {
  mkdirSync(join(zk.dir, 'data'), {recursive: true})
  writeFileSync(
    join(zk.dir, 'zoo.cfg'),
    `# ZooKeeper for the fleet's ClickHouse replication (written by scripts/fleet)
tickTime=2000
dataDir=${zk.dir}/data
clientPort=${zk.port}
clientPortAddress=${zk.address}
maxClientCnxns=100
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,mntr
autopurge.purgeInterval=1
`,
  )
}

/** ZooKeeper answers `ruok` with `imok`. */
export const zooKeeperOk = (zk) =>
  new Promise((resolve) => {
    import('node:net').then(({connect}) => {
      const socket = connect(zk.port, zk.address)
      let answer = ''
      socket.setTimeout(1000, () => socket.destroy())
      socket.on('connect', () => socket.write('ruok'))
      socket.on('data', (chunk) => (answer += chunk.toString()))
      socket.on('close', () => resolve(answer === 'imok'))
      socket.on('error', () => resolve(false))
    })
  })

/**
 * Plans the servers of a SHARDS x REPLICAS cluster, all on 127.0.0.1 with their
 * own ports: ClickHouse 18.16 finds itself in <remote_servers> (to run ON CLUSTER
 * DDL, and to read its own shard locally) only by an address of a network
 * interface plus its tcp_port, and 127.0.0.2 and up are not interface
 * addresses (the interface has 127.0.0.1/8); such a server never executes an
 * ON CLUSTER statement and the statement hangs.
 */
export const planClickHouse = async (dir, {shards, replicas, address = '127.0.0.1'}) => {
  const servers = []
  for (let shard = 1; shard <= shards; shard++) {
    for (let replica = 1; replica <= replicas; replica++) {
      const name = `ch-s${shard}-r${replica}`
      const home = join(dir, name)
      servers.push({
        name,
        kind: 'clickhouse',
        shard,
        replica,
        address,
        httpPort: await freePort(address),
        tcpPort: await freePort(address),
        interserverPort: await freePort(address),
        dir: home,
        log: join(home, 'stderr.log'),
        command: [CLICKHOUSE_SERVER, `--config-file=${join(home, 'config.xml')}`],
      })
    }
  }
  return servers
}

export const clickHouseUrl = (server) => `http://${server.address}:${server.httpPort}`

/** ClickHouse's own pause between a Distributed table's sends of its queued blocks to other shards. */
export const DEFAULT_DISTRIBUTED_SEND_MS = 100

/**
 * A longer pause, and the blocks queued meanwhile sent as one insert. At ClickHouse's default pause the queue
 * seldom holds more than one block, so the fleet leaves both settings alone there.
 */
const distributedSendSettings = (ms) => `      <distributed_directory_monitor_batch_inserts>1</distributed_directory_monitor_batch_inserts>
      <distributed_directory_monitor_sleep_time_ms>${ms}</distributed_directory_monitor_sleep_time_ms>
`

/**
 * Writes each server's config.xml and users.xml: the cluster `cluster`, its macros, ZooKeeper, small caches.
 * `distributedSendMs`: how long a Distributed table lets the blocks for another shard queue before it sends
 * them, all in one insert (docs/fleet.md, "Benchmark"): every insert into a replicated table is a part, a
 * fetch by the other replica and ZooKeeper entries, whatever it holds.
 */
export const writeClickHouse = (servers, {cluster, zookeeper, distributedSendMs = DEFAULT_DISTRIBUTED_SEND_MS}) => {
  const byShard = new Map()
  for (const server of servers) byShard.set(server.shard, [...(byShard.get(server.shard) ?? []), server])
  const remoteServers = [...byShard.values()]
    .map(
      (replicas) => `      <shard>
        <internal_replication>true</internal_replication>
${replicas.map((server) => `        <replica><host>${server.address}</host><port>${server.tcpPort}</port></replica>`).join('\n')}
      </shard>`,
    )
    .join('\n')
  for (const server of servers) {
    for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(server.dir, sub), {recursive: true})
    writeFileSync(
      join(server.dir, 'config.xml'),
      `<?xml version="1.0"?>
<!-- ${server.name}: shard ${server.shard}, replica ${server.replica} of cluster ${cluster} (written by scripts/fleet) -->
<yandex>
  <logger><level>information</level><log>${server.dir}/server.log</log><errorlog>${server.dir}/error.log</errorlog><size>20M</size><count>2</count></logger>
  <listen_host>${server.address}</listen_host>
  <http_port>${server.httpPort}</http_port>
  <tcp_port>${server.tcpPort}</tcp_port>
  <interserver_http_host>${server.address}</interserver_http_host>
  <interserver_http_port>${server.interserverPort}</interserver_http_port>
  <path>${server.dir}/data/</path>
  <tmp_path>${server.dir}/tmp/</tmp_path>
  <user_files_path>${server.dir}/user_files/</user_files_path>
  <format_schema_path>${server.dir}/format_schemas/</format_schema_path>
  <users_config>${server.dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
  <max_connections>256</max_connections>
  <remote_servers>
    <${cluster}>
${remoteServers}
    </${cluster}>
  </remote_servers>
  <zookeeper>
    <node><host>${zookeeper.address}</host><port>${zookeeper.port}</port></node>
    <session_timeout_ms>10000</session_timeout_ms>
  </zookeeper>
  <macros>
    <shard>${String(server.shard).padStart(2, '0')}</shard>
    <replica>${server.name}</replica>
  </macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
`,
    )
    writeFileSync(
      join(server.dir, 'users.xml'),
      `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>1000000000</max_memory_usage>
      <background_pool_size>4</background_pool_size>
      <background_schedule_pool_size>4</background_schedule_pool_size>
      <max_threads>2</max_threads>
      <!-- ON CLUSTER DDL runs on every server with the server's settings, not the sender's: 18.16 creates LowCardinality columns only with this. -->
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
${distributedSendMs === DEFAULT_DISTRIBUTED_SEND_MS ? '' : distributedSendSettings(distributedSendMs)}    </default>
  </profiles>
  <users><default><password></password><networks><ip>127.0.0.0/8</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`,
    )
  }
}

export const startClickHouse = (server) => startDetached(server.command[0], server.command.slice(1), {cwd: server.dir, logFile: server.log})

/** Blocks a server's Distributed tables still hold for other shards (`.bin` files in the tables' shard directories). */
export const queuedDistributedBlocks = (server, database, table) => {
  const tableDir = join(server.dir, 'data', 'data', database, table)
  if (!existsSync(tableDir)) return 0
  return readdirSync(tableDir, {withFileTypes: true})
    .filter((entry) => entry.isDirectory())
    .reduce((sum, entry) => sum + readdirSync(join(tableDir, entry.name)).filter((file) => file.endsWith('.bin')).length, 0)
}

export const clickHouseOk = async (server) => (await httpOk(`${clickHouseUrl(server)}/ping`)) !== undefined

/** Runs SQL over HTTP on `server`; the body, or throws with the server's message. */
export const clickHouseQuery = async (server, sql, settings = {}) => {
  const response = await fetch(`${clickHouseUrl(server)}/?${new URLSearchParams(settings)}`, {method: 'POST', body: sql, signal: AbortSignal.timeout(30_000)})
  const body = await response.text()
  if (!response.ok) throw new Error(`${server.name}: ${body.trim()}`)
  return body
}

/** The last lines of a server's error log and of its stdout/stderr, for a failure message (the directory may go with the failure). */
export const clickHouseLogTail = (server, lines = 8) =>
  [join(server.dir, 'error.log'), server.log]
    .filter((file) => existsSync(file))
    .map((file) => `--- ${file}\n${readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n')}`)
    .join('\n')

/** Waits until every server answers and sees ZooKeeper (system.zookeeper lists the root); a server that exits meanwhile fails at once. */
export const waitForCluster = (servers, timeoutMs = 90_000) =>
  Promise.all(
    servers.map((server) =>
      waitFor(`${server.name} to answer with ZooKeeper (log: ${server.dir}/error.log)`, async () => {
        if (server.pid !== undefined && !isAlive(server.pid)) throw new WaitAborted(`${server.name} (pid ${server.pid}) exited`)
        return (await clickHouseOk(server)) && (await clickHouseQuery(server, "SELECT count() FROM system.zookeeper WHERE path = '/'")).trim() !== '' ? true : undefined
      }, timeoutMs, 300).catch((error) => {
        throw new Error(`${error.message}\n${clickHouseLogTail(server)}`)
      }),
    ),
  )

/**
 * Starts `servers` one after the other, each answering with ZooKeeper before
 * the next starts. Debian's 18.16 can crash while it starts: a NULL read in
 * its DDL worker's first ZooKeeper session (zkutil::ZooKeeper::createImpl),
 * seen in CI with four servers starting at once on two busy cores (once on
 * all three attempts one server had then). Starting them in turn keeps each one's first
 * session from competing with the others'; a server that exits before it
 * ever answered is started again after a pause, up to `attempts` times, and
 * the crash is said with its log. One still running but not answering fails
 * after the wait as before.
 */
export const startCluster = async (servers, {attempts = 5, say = () => {}, onStarted = () => {}} = {}) => {
  for (const server of servers) {
    for (let attempt = 1; ; attempt++) {
      server.pid = startClickHouse(server)
      onStarted()
      try {
        await waitForCluster([server])
        break
      } catch (error) {
        if (attempt === attempts || server.pid === undefined || isAlive(server.pid)) throw error
        say(`fleet: ${server.name} exited while starting (attempt ${attempt} of ${attempts}); starting it again. Its log:\n${clickHouseLogTail(server, 4)}`)
        await new Promise((resolve) => setTimeout(resolve, 1000 * attempt))
      }
    }
  }
}
