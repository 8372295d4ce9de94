#!/usr/bin/env node
// CDR writer benchmark: rows per second from the local spool into a real
// clickhouse-server (Debian's, started here in a temp dir). Fills a spool with
// N rows, then times the daemon's writer (the same class, fsync and state file
// included) until ClickHouse has acknowledged every row. Repeats per batch size
// and prints the median. Needs a build (npm run build).
//
//   npm run bench:cdr-writer [-- --rows 300000 --batches 1000,10000,50000 --runs 3]
//
// Beside each writer figure: the same batches inserted back to back with nothing
// else (no spool, no fsync, no state file), the ceiling this server allows, and
// the writer's share of it.
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {median} from './lib/measure.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const option = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`)
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback
}
const rows = Number(option('rows', '300000'))
const batches = option('batches', '1000,10000,50000').split(',').map(Number)
const runs = Number(option('runs', '3'))

const {TestClickHouse} = await import(join(dist, 'test/helpers/clickhouse.js'))
const {cdrLine} = await import(join(dist, 'src/cdr/columns.js'))
const {openClickHouse, serverCapabilities} = await import(join(dist, 'src/cdr/clickhouse.js'))
const {cdrMigration} = await import(join(dist, 'src/cdr/ddl.js'))
const {CdrSpool} = await import(join(dist, 'daemon/telemetry/cdr/spool.js'))
const {ClickHouseCdrWriter} = await import(join(dist, 'daemon/telemetry/cdr/clickhouse-writer.js'))
const {createMetricsRegistry} = await import(join(dist, 'daemon/telemetry/metrics/families.js'))
const {pino} = await import('pino')
const {drainStream} = await import('@clickhouse/client')

const record = (n) => {
  const start = Date.UTC(2026, 10, 1) + n * 1000
  return {
    call_sid: `CA${n.toString(16).padStart(32, '0')}`, tenant_id: `tenant-${n % 20}`, trunk_id: `trunk-${n % 7}`, direction: n % 3 ? 'inbound' : 'outbound',
    from_number: `+1555${String(n % 10_000_000).padStart(7, '0')}`, to_number: `+4420${String(n % 1_000_000).padStart(7, '0')}`,
    start_timestamp_ms: start, answer_timestamp_ms: n % 5 ? start + 3000 : null, end_timestamp_ms: start + 63_000, duration_seconds: n % 5 ? 60 : 0,
    q850_cause: n % 5 ? 16 : 17, status: n % 5 ? 'completed' : 'busy', codec: 'PCMU', packets_sent: 3000, packets_received: 2990, packets_lost: 10,
    bytes_sent: 516_000, jitter_ms: 2.5, estimated_mos: 4.2 + (n % 3) / 10, recording_url: '', agent_id: n % 11 ? '' : 'agent-1',
  }
}


const clickhouse = new TestClickHouse()
await clickhouse.start()
const target = {url: clickhouse.url, database: 'default', table: 'telephony_cdrs', username: 'default', password: ''}
const setup = openClickHouse(target)
const capabilities = await serverCapabilities(setup)
const plan = cdrMigration({database: target.database, table: target.table}, capabilities)
for (const statement of plan.statements) await setup.client.command({query: statement.sql, clickhouse_settings: statement.settings})
await setup.client.close()
console.log(`ClickHouse ${capabilities.version} on loopback; ${rows.toLocaleString()} rows per run; median of ${runs} run(s)\n`)
console.log('batch_size  writer rows/s  raw inserts rows/s  writer/raw  (writer runs)')

/** The ceiling: the same batches sent back to back with no spool, fsync or state file. */
const rawRate = async (batchSize) => {
  await clickhouse.query('TRUNCATE TABLE default.telephony_cdrs')
  const connection = openClickHouse(target)
  const started = performance.now()
  for (let offset = 0; offset < lines.length; offset += batchSize) {
    const result = await connection.client.exec({
      query: 'INSERT INTO default.telephony_cdrs FORMAT JSONEachRow',
      values: Readable.from([Buffer.from(lines.slice(offset, offset + batchSize).join(''))]),
      clickhouse_settings: {date_time_input_format: 'best_effort'},
    })
    await drainStream(result.stream)
  }
  const seconds = (performance.now() - started) / 1000
  await connection.client.close()
  return rows / seconds
}

const lines = Array.from({length: rows}, (_, n) => cdrLine(record(n)))
const log = pino({level: 'silent'})
try {
  for (const batchSize of batches) {
    const rates = []
    for (let run = 0; run < runs; run += 1) {
      await clickhouse.query('TRUNCATE TABLE default.telephony_cdrs')
      const dir = mkdtempSync(join(tmpdir(), 'cc-bench-spool-'))
      const spool = new CdrSpool(dir)
      spool.open()
      for (let offset = 0; offset < lines.length; offset += 10_000) spool.append(lines.slice(offset, offset + 10_000).join(''))
      await spool.sync()
      const connection = openClickHouse(target)
      const {families} = createMetricsRegistry()
      const writer = new ClickHouseCdrWriter({spool, connection, batchSize, flushIntervalMs: 1000, metrics: families, log})
      const started = performance.now()
      writer.start()
      const done = await writer.flush(600_000)
      const seconds = (performance.now() - started) / 1000
      await writer.stop()
      spool.close()
      await connection.client.close()
      rmSync(dir, {recursive: true, force: true})
      const stored = Number((await clickhouse.query('SELECT count() FROM default.telephony_cdrs')).trim())
      if (!done || stored !== rows) throw new Error(`batch ${batchSize}: ${stored} of ${rows} rows stored`)
      rates.push(rows / seconds)
    }
    const raws = []
    for (let run = 0; run < runs; run += 1) raws.push(await rawRate(batchSize))
    const ratio = median(rates) / median(raws)
    console.log(`${String(batchSize).padStart(10)}  ${Math.round(median(rates)).toLocaleString().padStart(12)}  ${Math.round(median(raws)).toLocaleString().padStart(18)}  ${ratio.toFixed(2).padStart(10)}  (${rates.map((rate) => Math.round(rate)).join(', ')})`)
  }
} finally {
  await clickhouse.cleanup()
}
