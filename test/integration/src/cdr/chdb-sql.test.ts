// The production DDL and every SQL `cdr query` and `cdr stats` build, run by a
// current ClickHouse engine (chDB, in-process) against seeded rows: in the
// table `cdr migrate` creates (DateTime64, and the DateTime fallback of old
// servers), and over spool segment files with file(), as the embedded store
// does. Every answer is compared with the same figures computed in JS from the
// seed, and hostile filter values must come back as literals that match nothing.
import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {loadChdb, type ChdbModule, type ChdbSession} from '../../../../src/cdr/chdb.js'
import {cdrLine} from '../../../../src/cdr/columns.js'
import {cdrMigration} from '../../../../src/cdr/ddl.js'
import type {CdrFilter, CdrGroupBy, CdrOrder} from '../../../../src/cdr/filters.js'
import {buildCdrQuery, buildCdrStats, type BuiltSql, type CdrSource, type CdrStatsRow} from '../../../../src/cdr/query-sql.js'
import type {CdrRecord} from '../../../../src/cdr/record.js'
import {segmentGlob, segmentName} from '../../../../src/cdr/spool-files.js'
import {runCdrQuery, runCdrStats, toCdrRecord, toStatsRow} from '../../../../src/cdr/stores.js'
import {CCError} from '../../../../src/errors.js'
import {BASE_MS, expectedQuery, expectedStats, seedRecords} from '../../../helpers/cdr-seed.js'

// --- comparing ---------------------------------------------------------------------------------

/** ClickHouse prints a Float32 in its shortest form (3.7), JS seeded its Float32 value (3.700000047…). */
const asStored = (record: CdrRecord): CdrRecord => ({...record, jitter_ms: Math.fround(record.jitter_ms), estimated_mos: Math.fround(record.estimated_mos)})

const assertRecords = (actual: readonly CdrRecord[], expected: readonly CdrRecord[], context: string, truncateToSeconds = false): void => {
  const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000) * 1000)
  const normalise = (record: CdrRecord): CdrRecord =>
    truncateToSeconds
      ? {...record, start_timestamp_ms: seconds(record.start_timestamp_ms) ?? 0, answer_timestamp_ms: seconds(record.answer_timestamp_ms), end_timestamp_ms: seconds(record.end_timestamp_ms) ?? 0}
      : record
  assert.deepEqual(actual.map(asStored), expected.map(normalise), context)
}

const close = (actual: number | null, expected: number | null, context: string): void => {
  if (expected === null) return assert.equal(actual, null, context)
  assert.ok(actual !== null && Math.abs(actual - expected) <= 1e-9 * Math.max(1, Math.abs(expected)), `${context}: ${actual} ≠ ${expected}`)
}

const assertStats = (actual: readonly CdrStatsRow[], expected: readonly CdrStatsRow[], context: string): void => {
  assert.deepEqual(
    actual.map((row) => row.tenant_id ?? row.trunk_id ?? row.day ?? row.hour),
    expected.map((row) => row.tenant_id ?? row.trunk_id ?? row.day ?? row.hour),
    `${context}: groups`,
  )
  actual.forEach((row, index) => {
    const want = expected[index] as CdrStatsRow
    assert.equal(row.calls, want.calls, `${context}: calls`)
    assert.equal(row.answered, want.answered, `${context}: answered`)
    assert.equal(row.mos_calls, want.mos_calls, `${context}: mos_calls`)
    for (const figure of ['asr', 'acd_seconds', 'minutes', 'mean_mos', 'below_3_5_share'] as const) close(row[figure], want[figure], `${context}: ${figure}`)
  })
}

// --- the cases ---------------------------------------------------------------------------------

// One call whose MOS is exactly the Float32 of 3.3, for `--min-mos 3.3`.
const RECORDS = [...seedRecords(600), {...seedRecords(1, 7)[0], call_sid: `CA${'e'.repeat(32)}`, status: 'completed', answer_timestamp_ms: BASE_MS + 5000, packets_received: 100, estimated_mos: Math.fround(3.3)} as CdrRecord]
const SOME = RECORDS[123] as CdrRecord
const INJECTIONS = [
  "acme' OR '1'='1",
  "acme'; DROP TABLE cdr.telephony_cdrs; --",
  "') OR 1=1 --",
  '\\\' OR 1=1 --',
  '{p_tenant:String}',
  'acme` --',
  'x" OR "1"="1',
  "acme'||'",
]

const FILTERS: Array<[string, CdrFilter]> = [
  ['no filter', {}],
  ['tenant', {tenant: 'acme'}],
  ['tenant with a quote', {tenant: "o'hare"}],
  ['trunk', {trunk: 'none'}],
  ['agent', {agent: 'bot-1'}],
  ['since', {sinceMs: BASE_MS + 2 * 86_400_000 + 1}],
  ['until', {untilMs: BASE_MS + 86_400_000}],
  ['since and until', {sinceMs: BASE_MS + 86_400_000, untilMs: BASE_MS + 3 * 86_400_000}],
  ['one status', {statuses: ['busy']}],
  ['statuses', {statuses: ['no-answer', 'canceled', 'failed']}],
  ['direction', {direction: 'outbound'}],
  ['from prefix', {fromPrefix: '+1415'}],
  ['to prefix', {toPrefix: '0044'}],
  ['prefix that is all digits', {fromPrefix: '0049'}],
  ['call sid', {callSid: SOME.call_sid}],
  ['min MOS', {minMos: 3.5}],
  ['max MOS', {maxMos: 2.5}],
  ['MOS band', {minMos: 2, maxMos: 3}],
  ['MOS equal to a stored value', {minMos: 3.3, maxMos: 5}],
  ['everything', {tenant: 'globex', trunk: 'carrier-a', statuses: ['completed'], direction: 'inbound', sinceMs: BASE_MS, untilMs: BASE_MS + 5 * 86_400_000, minMos: 1, maxMos: 5}],
]

const ORDERS: Array<[CdrOrder, number]> = [
  ['newest', 10],
  ['oldest', 25],
  ['newest', 1_000_000],
]
const GROUPINGS: Array<[CdrGroupBy, string]> = [
  ['tenant', 'UTC'],
  ['trunk', 'UTC'],
  ['day', 'UTC'],
  ['hour', 'UTC'],
  ['day', 'America/New_York'],
  ['hour', 'America/New_York'],
  ['day', 'Asia/Kolkata'],
]

const injectionFilters = (value: string): Array<[string, CdrFilter]> => [
  ['tenant', {tenant: value}],
  ['trunk', {trunk: value}],
  ['agent', {agent: value}],
  ['status', {statuses: [value as CdrRecord['status']]}],
  ['direction', {direction: value as CdrRecord['direction']}],
  ['from', {fromPrefix: value}],
  ['to', {toPrefix: value}],
  ['call sid', {callSid: value}],
]

const rows = async (session: ChdbSession, built: BuiltSql): Promise<Array<Record<string, unknown>>> =>
  (await session.queryBindAsync(built.sql, built.params, {format: 'JSONEachRow'}))
    .text()
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('CDR SQL in chDB (ClickHouse 26) against seeded rows', () => {
  let chdb: ChdbModule
  let session: ChdbSession
  const dir = mkdtempSync(join(tmpdir(), 'cc-chdb-'))
  const spoolDir = join(dir, 'cdr-spool')
  const table: CdrSource = {kind: 'table', table: 'cdr.telephony_cdrs', dateTime64: true}
  const oldTable: CdrSource = {kind: 'table', table: 'old.telephony_cdrs', dateTime64: false}
  const files: CdrSource = {kind: 'files', glob: segmentGlob(spoolDir), allowErrors: 3}

  before(async () => {
    chdb = await loadChdb()
    session = new chdb.Session(join(dir, 'data'))
    // The production DDL, exactly as `cdr migrate` sends it to a current server.
    for (const statement of cdrMigration({database: 'cdr', table: 'telephony_cdrs'}).statements) session.query(statement.sql)
    // The 18.16 fallback (DateTime): its settings are unknown to a current server, which needs none of them.
    for (const statement of cdrMigration({database: 'old', table: 'telephony_cdrs'}, {version: '18.16.1', dateTime64: false, dedupToken: false}).statements) session.query(statement.sql)
    const lines = RECORDS.map(cdrLine).join('')
    for (const target of ['cdr.telephony_cdrs', 'old.telephony_cdrs']) session.query(`INSERT INTO ${target} SETTINGS date_time_input_format = 'best_effort' FORMAT JSONEachRow\n${lines}`)
    // The spool: three segments, the last one ending in a line still being written.
    mkdirSync(spoolDir)
    const third = Math.ceil(RECORDS.length / 3)
    for (let segment = 0; segment < 3; segment++) {
      const torn = segment === 2 ? '{"call_sid":"CA0000000000000000000000000000ffff","tenant_id":"ac' : ''
      writeFileSync(join(spoolDir, segmentName(segment + 1)), RECORDS.slice(segment * third, (segment + 1) * third).map(cdrLine).join('') + torn)
    }
    writeFileSync(join(spoolDir, 'state.json'), '{"not":"a segment"}\n')
  })
  after(() => {
    session?.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('cdr migrate: the table has the DESIGN §8 types, MergeTree by month, the dedup window', () => {
    const columns = session.query("SELECT name, type FROM system.columns WHERE database = 'cdr' AND table = 'telephony_cdrs' ORDER BY position", 'JSONEachRow')
    const types = Object.fromEntries(columns.trim().split('\n').map((line) => Object.values(JSON.parse(line) as Record<string, string>)))
    assert.equal(types.start_timestamp_ms, 'DateTime64(3)')
    assert.equal(types.answer_timestamp_ms, 'Nullable(DateTime64(3))')
    assert.equal(types.direction, "Enum8('outbound' = 1, 'inbound' = 2)")
    assert.equal(types.tenant_id, 'LowCardinality(String)')
    assert.equal(Object.keys(types).length, 21)
    const engine = session.query("SELECT engine, partition_key, sorting_key, create_table_query FROM system.tables WHERE database = 'cdr' AND name = 'telephony_cdrs'", 'JSONEachRow')
    const info = JSON.parse(engine) as {engine: string; partition_key: string; sorting_key: string; create_table_query: string}
    assert.equal(info.engine, 'MergeTree')
    assert.equal(info.partition_key, 'toYYYYMM(start_timestamp_ms)')
    assert.equal(info.sorting_key, 'tenant_id, start_timestamp_ms')
    assert.match(info.create_table_query, /non_replicated_deduplication_window = 1000/)
    // Running it again changes nothing.
    for (const statement of cdrMigration({database: 'cdr', table: 'telephony_cdrs'}).statements) session.query(statement.sql)
    assert.equal(session.query('SELECT count() FROM cdr.telephony_cdrs', 'TSV').trim(), String(RECORDS.length))
  })

  for (const [sourceName, source] of [
    ['table', table],
    ['spool files', files],
  ] as const) {
    it(`cdr query over the ${sourceName}: every filter, both orders, the limit`, async () => {
      for (const [name, filter] of FILTERS) {
        for (const [order, limit] of ORDERS) {
          const actual = (await rows(session, buildCdrQuery({filter, order, limit}, source))).map(toCdrRecord)
          assertRecords(actual, expectedQuery(RECORDS, filter, order, limit), `${name}, ${order} ${limit}`)
        }
      }
      assert.ok(expectedQuery(RECORDS, {minMos: 3.3}, 'newest', 1e6).some((record) => record.estimated_mos === Math.fround(3.3)), 'a MOS equal to the bound is in')
    })

    it(`cdr stats over the ${sourceName}: every grouping and time zone, with filters`, async () => {
      for (const [groupBy, timeZone] of GROUPINGS) {
        for (const [name, filter] of FILTERS.slice(0, 12)) {
          const actual = (await rows(session, buildCdrStats({filter, groupBy, timeZone}, source))).map(toStatsRow)
          assertStats(actual, expectedStats(RECORDS, filter, groupBy, timeZone), `${groupBy} ${timeZone}, ${name}`)
        }
      }
    })

    it(`hostile filter values over the ${sourceName} are literals: nothing matches, the table survives`, async () => {
      for (const value of INJECTIONS) {
        for (const [name, filter] of injectionFilters(value)) {
          assert.deepEqual(await rows(session, buildCdrQuery({filter, order: 'newest', limit: 100}, source)), [], `${name} = ${value}`)
          assert.deepEqual(await rows(session, buildCdrStats({filter, groupBy: 'day', timeZone: 'UTC'}, source)), [], `${name} = ${value} (stats)`)
        }
      }
      assert.equal(session.query('SELECT count() FROM cdr.telephony_cdrs', 'TSV').trim(), String(RECORDS.length))
      assert.equal(session.query("SELECT count() FROM system.tables WHERE database = 'cdr'", 'TSV').trim(), '1')
    })
  }

  it('the DateTime table of old servers: the same answers, to the second', async () => {
    for (const [name, filter] of FILTERS) {
      // Time bounds compare whole seconds there; keep them on second boundaries for an exact comparison.
      const secondFilter: CdrFilter = {
        ...filter,
        ...(filter.sinceMs === undefined ? {} : {sinceMs: Math.ceil(filter.sinceMs / 1000) * 1000}),
        ...(filter.untilMs === undefined ? {} : {untilMs: Math.floor(filter.untilMs / 1000) * 1000}),
      }
      const actual: CdrRecord[] = (await rows(session, buildCdrQuery({filter: secondFilter, order: 'oldest', limit: 1_000_000}, oldTable))).map(toCdrRecord)
      const truncated = RECORDS.map((record) => ({...record, start_timestamp_ms: Math.floor(record.start_timestamp_ms / 1000) * 1000}))
      const expected = expectedQuery(truncated, secondFilter, 'oldest', 1_000_000)
      assert.deepEqual(
        actual.map((record) => record.call_sid).sort(),
        expected.map((record) => record.call_sid).sort(),
        name,
      )
      for (const record of actual) {
        const seed = RECORDS.find((candidate) => candidate.call_sid === record.call_sid) as CdrRecord
        assertRecords([record], [seed], `${name} ${record.call_sid}`, true)
      }
    }
    const stats = (await rows(session, buildCdrStats({filter: {}, groupBy: 'hour', timeZone: 'America/New_York'}, oldTable))).map(toStatsRow)
    assertStats(stats, expectedStats(RECORDS, {}, 'hour', 'America/New_York'), 'old table, hour')
  })
})

describe('the embedded store (chDB over the spool, as `cdr query` runs it)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-spool-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  it('no segment files: no rows, and chDB is not asked', async () => {
    const answer = await runCdrQuery({spoolDir: join(dir, 'absent'), command: 'cdr query'}, {filter: {}, order: 'newest', limit: 10})
    assert.deepEqual(answer.rows, [])
    assert.equal(answer.sql, undefined)
    assert.equal(answer.store, 'embedded')
  })

  it('query and stats over segments, equal to the reference', async () => {
    writeFileSync(join(dir, segmentName(1)), RECORDS.slice(0, 300).map(cdrLine).join(''))
    writeFileSync(join(dir, segmentName(2)), RECORDS.slice(300).map(cdrLine).join(''))
    const target = {spoolDir: dir, command: 'cdr query'}
    const filter: CdrFilter = {tenant: "o'hare", statuses: ['completed', 'busy']}
    const answer = await runCdrQuery(target, {filter, order: 'newest', limit: 50})
    assertRecords(answer.rows, expectedQuery(RECORDS, filter, 'newest', 50), 'embedded query')
    const stats = await runCdrStats(target, {filter: {}, groupBy: 'day', timeZone: 'UTC'})
    assertStats(stats.rows, expectedStats(RECORDS, {}, 'day', 'UTC'), 'embedded stats')
  })

  it('ASR is over attempts: refused attempts (failed, no answer, no media) count as calls and never as answered or rated', async () => {
    const attemptsDir = join(dir, 'attempts')
    mkdirSync(attemptsDir)
    const answered = (n: number): CdrRecord => ({
      ...(seedRecords(1, 100 + n)[0] as CdrRecord),
      call_sid: `CA${String(n).padStart(32, 'a')}`,
      tenant_id: 'acme',
      trunk_id: 'carrier-a',
      direction: 'inbound',
      start_timestamp_ms: BASE_MS + n * 1000,
      answer_timestamp_ms: BASE_MS + n * 1000 + 500,
      end_timestamp_ms: BASE_MS + n * 1000 + 60_500,
      duration_seconds: 60,
      status: 'completed',
      q850_cause: 16,
      codec: 'PCMU',
      packets_received: 3000,
      estimated_mos: 4,
    })
    // What the gateway writes for a refused attempt from a known trunk (404, 488, 503 draining).
    const refused = (n: number, q850: number): CdrRecord => ({
      ...answered(n),
      call_sid: `CA${String(n).padStart(32, 'b')}`,
      answer_timestamp_ms: null,
      end_timestamp_ms: BASE_MS + n * 1000 + 2,
      duration_seconds: 0,
      status: 'failed',
      q850_cause: q850,
      codec: '',
      packets_sent: 0,
      packets_received: 0,
      packets_lost: 0,
      bytes_sent: 0,
      jitter_ms: 0,
      estimated_mos: 0,
    })
    const attempts = [answered(1), answered(2), refused(3, 1), refused(4, 127), refused(5, 41), refused(6, 1), answered(7), refused(8, 127)]
    writeFileSync(join(attemptsDir, segmentName(1)), attempts.map(cdrLine).join(''))
    const stats = await runCdrStats({spoolDir: attemptsDir, command: 'cdr stats'}, {filter: {}, groupBy: 'trunk', timeZone: 'UTC'})
    assert.equal(stats.rows.length, 1)
    const [carrier] = stats.rows
    assert.equal(carrier?.calls, 8)
    assert.equal(carrier?.answered, 3)
    assert.equal(carrier?.asr, 3 / 8)
    assert.equal(carrier?.acd_seconds, 60, 'refused attempts do not shorten the ACD')
    assert.equal(carrier?.mos_calls, 3, 'refused attempts are not rated')
    assert.equal(carrier?.mean_mos, 4)
    const failed = await runCdrQuery({spoolDir: attemptsDir, command: 'cdr query'}, {filter: {statuses: ['failed']}, order: 'oldest', limit: 10})
    assertRecords(failed.rows, attempts.filter((record) => record.status === 'failed'), 'the refused attempts, as written')
  })

  it('a chDB that cannot be loaded is CC_ERR_CHDB_UNAVAILABLE', async () => {
    await assert.rejects(loadChdb('chdb-that-is-not-installed'), (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_CHDB_UNAVAILABLE' && /chdb-that-is-not-installed/.test(error.message))
  })
})
