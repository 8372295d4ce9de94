// Which gateway of a fleet wrote a CDR (docs/fleet.md), against a real
// clickhouse-server (Debian's 18.16) and real calls: `cdr migrate` makes the 21
// columns; `cdr migrate --node-column` adds the optional `node` column to the
// existing table (and is idempotent); the writer fills it with node.name once
// it knows the column is there (after a config reload here), the spool keeps
// the 21 columns, and the rows written before read ''.
import assert from 'node:assert/strict'
import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TestClickHouse} from '../../../../helpers/clickhouse.js'
import {TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {runSipp, uacShortCall} from '../../../../helpers/peers.js'

const clickhouse = new TestClickHouse()
const gw = new TestGateway()
const TABLE = 'default.fleet_cdrs'

/** to_number is selected too: 18.16 moves the WHERE to PREWHERE and then loses the rows of parts written before the ALTER when only the added column is read. */
const nodeOf = async (to: string): Promise<string | undefined> => {
  const rows = await clickhouse.rows<{to_number: string; node: string}>(`SELECT to_number, node FROM ${TABLE} WHERE to_number = '${to}'`)
  return rows[0]?.node
}

const call = async (to: string): Promise<void> => {
  const caller = await runSipp({scenarioXml: uacShortCall(200), target: gw.sip, service: to})
  assert.equal((await caller.done).code, 0)
  await gw.hangupOf(to)
  const flushed = await gw.home.json(['cdr', 'flush'])
  assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
}

before(async () => {
  await clickhouse.start()
  await gw.start(`node: { name: gw-a }
cdr:
  clickhouse: { url: "${clickhouse.url}", table: fleet_cdrs }
  batch_size: 1
  flush_interval_ms: 100
`)
})

after(async () => {
  await gw.stop()
  await clickhouse.cleanup()
})

describe('the CDR node column', () => {
  it('is not there unless asked for: the 21 columns, and the writer sends no node', async () => {
    const migrated = await gw.home.json(['cdr', 'migrate'])
    assert.equal(migrated.code, 0, JSON.stringify(migrated.body))
    assert.equal(migrated.body.result.node_column, false)
    const columns = await clickhouse.rows<{name: string}>(`SELECT name FROM system.columns WHERE database = 'default' AND table = 'fleet_cdrs'`)
    assert.equal(columns.length, 21)
    await call('+15550000001')
    assert.equal((await gw.home.json(['cdr', 'status'])).body.result.nodeColumn, false)
  })

  it('--node-column adds it to the existing table, once; rows written before read empty', async () => {
    const dryRun = await gw.home.run(['cdr', 'migrate', '--node-column', '--dry-run'])
    assert.equal(dryRun.code, 0, dryRun.stderr)
    assert.match(dryRun.stdout, /agent_id LowCardinality\(String\),\n {4}node LowCardinality\(String\) DEFAULT ''\n\)/)
    assert.match(dryRun.stdout, /^-- ALTER TABLE `default`\.`fleet_cdrs` ADD COLUMN node LowCardinality\(String\) DEFAULT ''/m)

    const migrated = await gw.home.json(['cdr', 'migrate', '--node-column'])
    assert.equal(migrated.code, 0, JSON.stringify(migrated.body))
    assert.deepEqual(migrated.body.result.node_column_alters, ["ALTER TABLE `default`.`fleet_cdrs` ADD COLUMN node LowCardinality(String) DEFAULT ''"])
    const [column] = await clickhouse.rows<{type: string}>(`SELECT type FROM system.columns WHERE database = 'default' AND table = 'fleet_cdrs' AND name = 'node'`)
    assert.equal(column?.type, 'LowCardinality(String)')
    assert.equal(await nodeOf('+15550000001'), '')

    const again = await gw.home.json(['cdr', 'migrate', '--node-column'])
    assert.equal(again.code, 0, JSON.stringify(again.body))
    assert.deepEqual(again.body.result.node_column_alters, [], 'the column is there: nothing to alter')
  })

  it('the writer fills it with node.name once it looks at the table again (a config reload); the spool keeps 21 columns', async () => {
    const reload = await gw.home.json(['config', 'reload'])
    assert.equal(reload.code, 0, JSON.stringify(reload.body))
    await call('+15550000002')
    await waitFor('the row of the second call', async () => ((await nodeOf('+15550000002')) === undefined ? undefined : true))
    assert.equal(await nodeOf('+15550000002'), 'gw-a')
    assert.equal((await gw.home.json(['cdr', 'status'])).body.result.nodeColumn, true)
    const spoolDir = join(gw.home.dir, 'cdr-spool')
    const spooled = readdirSync(spoolDir).filter((name) => name.endsWith('.ndjson')).map((name) => readFileSync(join(spoolDir, name), 'utf8')).join('')
    assert.doesNotMatch(spooled, /"node"/)
    const counts = await clickhouse.rows<{n: string}>(`SELECT count() AS n FROM ${TABLE}`)
    assert.equal(Number(counts[0]?.n), 2, 'one row per call')
  })
})
