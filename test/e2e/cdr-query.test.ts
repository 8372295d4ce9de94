// cdr query, cdr stats and cdr migrate through the built binary: the embedded
// store (a seeded spool read by chDB) in every format, with every filter, in
// local time and UTC, and with hostile or impossible input; then a real
// ClickHouse 18.16 (Debian's): the DateTime fallback of `cdr migrate`, dry
// runs, the cluster DDL, `cdr query` and `cdr stats` on a server without query
// parameters (values as escaped literals), and a server that is down.
import assert from 'node:assert/strict'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {cdrLine} from '../../src/cdr/columns.js'
import type {CdrFilter} from '../../src/cdr/filters.js'
import {CDR_COLUMNS, type CdrRecord} from '../../src/cdr/record.js'
import {segmentName} from '../../src/cdr/spool-files.js'
import {expectedQuery, expectedStats, seedRecords} from '../helpers/cdr-seed.js'
import {TestHome} from '../helpers/cli.js'
import {TestClickHouse} from '../helpers/clickhouse.js'

/** A completed call whose recording URL needs CSV quoting; 2026-03-07T00:30:00.250Z is 2026-03-06 19:30 in New York. */
const START = Date.UTC(2026, 2, 7, 0, 30, 0, 250)
const QUOTED: CdrRecord = {
  call_sid: `CA${'d'.repeat(32)}`,
  tenant_id: 'acme',
  trunk_id: 'carrier-a',
  direction: 'inbound',
  from_number: '+14155550123',
  to_number: '+4930123456',
  start_timestamp_ms: START,
  answer_timestamp_ms: START + 2500,
  end_timestamp_ms: START + 2500 + 61_000,
  duration_seconds: 61,
  q850_cause: 16,
  status: 'completed',
  codec: 'PCMA',
  packets_sent: 3050,
  packets_received: 3040,
  packets_lost: 10,
  bytes_sent: 524_600,
  jitter_ms: Math.fround(2.5),
  estimated_mos: Math.fround(4.25),
  recording_url: 'file:///recordings/a,"quoted"\nname.wav',
  agent_id: 'bot-1',
}
const RECORDS: CdrRecord[] = [...seedRecords(240), QUOTED]
const sids = (records: ReadonlyArray<{call_sid: string}>) => records.map((record) => record.call_sid)
const NEW_YORK = {TZ: 'America/New_York'}
/** ICU's name for Asia/Kolkata (Node reports Asia/Calcutta). */
const KOLKATA = new Intl.DateTimeFormat('en', {timeZone: 'Asia/Kolkata'}).resolvedOptions().timeZone
const INJECTION = "acme' OR '1'='1'; DROP TABLE telephony_cdrs; --"

describe('cdr query and cdr stats on the embedded store (chDB over the spool)', () => {
  const home = new TestHome()
  let spoolBytes = ''

  before(() => {
    mkdirSync(home.path('cdr-spool'), {mode: 0o700})
    writeFileSync(home.path('cdr-spool', segmentName(1)), RECORDS.slice(0, 100).map(cdrLine).join(''))
    writeFileSync(home.path('cdr-spool', segmentName(2)), RECORDS.slice(100).map(cdrLine).join(''))
    spoolBytes = readFileSync(home.path('cdr-spool', segmentName(2)), 'utf8')
  })
  after(() => home.cleanup())

  it('--json: the envelope with the 100 newest CDRs, epoch-ms timestamps, and a note that more match', async () => {
    const {code, body} = await home.json(['cdr', 'query'])
    assert.equal(code, 0, JSON.stringify(body.error))
    assert.equal(body.result.store, 'embedded')
    assert.equal(body.result.source, home.path('cdr-spool'))
    const expected = expectedQuery(RECORDS, {}, 'newest', 100)
    assert.deepEqual(sids(body.result.rows), sids(expected))
    assert.match(body.warnings.join('\n'), /Showing 100 CDR\(s\), newest first; more may match\. Next page: --after \d+-CA[0-9a-f]{32}/)
    assert.match(body.result.next_cursor, /^\d+-CA[0-9a-f]{32}$/)
    const one = await home.json(['cdr', 'query', '--call-sid', QUOTED.call_sid])
    assert.deepEqual(one.body.result.rows, [QUOTED], 'every column round-trips, timestamps as epoch ms')
    assert.deepEqual(one.body.warnings, [])
  })

  it('--format json, ndjson and csv carry the same rows; csv quotes per RFC 4180', async () => {
    const args = ['cdr', 'query', '--tenant', 'acme', '--limit', '1000']
    const expected = sids(expectedQuery(RECORDS, {tenant: 'acme'}, 'newest', 1000))
    const json = await home.run([...args, '--format', 'json'])
    assert.equal(json.code, 0, json.stderr)
    const array = JSON.parse(json.stdout) as CdrRecord[]
    assert.deepEqual(sids(array), expected)
    assert.deepEqual(Object.keys(array[0] ?? {}), [...CDR_COLUMNS])

    const ndjson = await home.run([...args, '--format', 'ndjson'])
    const lines = ndjson.stdout.trimEnd().split('\n')
    assert.deepEqual(lines.map((line) => (JSON.parse(line) as CdrRecord).call_sid), expected)
    assert.deepEqual(lines.map((line) => JSON.parse(line) as CdrRecord), array)

    const csv = await home.run([...args, '--format', 'csv'])
    assert.equal(csv.code, 0)
    assert.ok(csv.stdout.startsWith(`${CDR_COLUMNS.join(',')}\r\n`))
    assert.ok(csv.stdout.includes(`,"file:///recordings/a,""quoted""\nname.wav",`), 'comma, quote and newline quoted')
    const quotedLine = csv.stdout.split('\r\n').find((line) => line.startsWith(QUOTED.call_sid)) ?? ''
    assert.match(quotedLine, new RegExp(`^${QUOTED.call_sid},acme,${QUOTED.trunk_id},${QUOTED.direction},\\${QUOTED.from_number},`))
    assert.equal(csv.stdout.split('\r\n').filter((line) => /^CA[0-9a-f]{32},/.test(line)).length, expected.length)

    const empty = await home.run(['cdr', 'query', '--tenant', 'nobody', '--format', 'json'])
    assert.equal(empty.stdout, '[]\n')
    const emptyCsv = await home.run(['cdr', 'query', '--tenant', 'nobody', '--format', 'csv'])
    assert.equal(emptyCsv.stdout, `${CDR_COLUMNS.join(',')}\r\n`)
  })

  it('the table: one line per call, start time local by default and UTC with --utc', async () => {
    const local = await home.run(['cdr', 'query', '--call-sid', QUOTED.call_sid], NEW_YORK)
    assert.equal(local.code, 0, local.stderr)
    assert.match(local.stdout, /call sid\s+│ time\s+│ tenant\s+│ trunk\s+│ dir │ from\s+│ to\s+│ status\s+│ cause │ duration │ codec\s+│ loss % │ jitter ms │\s+MOS │/)
    assert.match(local.stdout, new RegExp(`│ ${QUOTED.call_sid} │ 2026-03-06 19:30:00 │ acme `))
    assert.equal(local.stdout.trimEnd().split('\n').length, 5, 'top rule, head, rule, one row, bottom rule')
    const utc = await home.run(['cdr', 'query', '--call-sid', QUOTED.call_sid, '--utc'], NEW_YORK)
    assert.match(utc.stdout, /│ time \(UTC\)\s+│/)
    assert.match(utc.stdout, new RegExp(`│ ${QUOTED.call_sid} │ 2026-03-07 00:30:00 │ acme `))

    const none = await home.run(['cdr', 'query', '--tenant', 'nobody'])
    assert.equal(none.code, 0)
    assert.equal(none.stdout, '')
    assert.equal(none.stderr.trim(), 'No CDRs match: tenant nobody.')
  })

  it('filters, each and together, give exactly the matching calls', async () => {
    const cases: Array<[string[], CdrFilter]> = [
      [['--tenant', "o'hare"], {tenant: "o'hare"}],
      [['--trunk', 'none', '--direction', 'outbound'], {trunk: 'none', direction: 'outbound'}],
      [['--status', 'busy', '--status', 'no-answer,failed'], {statuses: ['busy', 'no-answer', 'failed']}],
      [['--from', '+1415'], {fromPrefix: '+1415'}],
      [['--to', '0044', '--agent', 'bot-2'], {toPrefix: '0044', agent: 'bot-2'}],
      [['--min-mos', '3', '--max-mos', '4'], {minMos: 3, maxMos: 4}],
      [['--since', '2026-03-07T00:00:00Z', '--until', '2026-03-08T12:00:00Z'], {sinceMs: Date.UTC(2026, 2, 7), untilMs: Date.UTC(2026, 2, 8, 12)}],
      [['--since', '2026-03-07', '--until', '2026-03-08', '--utc'], {sinceMs: Date.UTC(2026, 2, 7), untilMs: Date.UTC(2026, 2, 8)}],
      // Without --utc a date is local midnight (New York, UTC-5 on these days).
      [['--since', '2026-03-07', '--until', '2026-03-08'], {sinceMs: Date.UTC(2026, 2, 7, 5), untilMs: Date.UTC(2026, 2, 8, 5)}],
      [['--call-sid', QUOTED.call_sid], {callSid: QUOTED.call_sid}],
    ]
    for (const [args, filter] of cases) {
      for (const order of ['newest', 'oldest'] as const) {
        const {code, body} = await home.json(['cdr', 'query', ...args, '--order', order, '--limit', '1000'], NEW_YORK)
        assert.equal(code, 0, `${args.join(' ')}: ${JSON.stringify(body.error)}`)
        const expected = expectedQuery(RECORDS, filter, order, 1000)
        assert.ok(expected.length > 0, `${args.join(' ')} matches something`)
        assert.deepEqual(sids(body.result.rows), sids(expected), args.join(' '))
      }
    }
    const started = Date.now()
    const since = await home.json(['cdr', 'query', '--since', '30d', '--limit', '1000'])
    assert.deepEqual(sids(since.body.result.rows), sids(expectedQuery(RECORDS, {sinceMs: started - 30 * 86_400_000}, 'newest', 1000)), 'durations count back from now')
  })

  it('stats: tenant (default), trunk, UTC day and hour, local day, in every format', async () => {
    for (const [args, groupBy, timeZone, env] of [
      [[], 'tenant', 'UTC', {}],
      [['--group-by', 'trunk', '--status', 'completed'], 'trunk', 'UTC', {}],
      [['--group-by', 'day'], 'day', 'UTC', NEW_YORK],
      [['--group-by', 'hour', '--utc'], 'hour', 'UTC', NEW_YORK],
      [['--group-by', 'day', '--local'], 'day', 'America/New_York', NEW_YORK],
      [['--group-by', 'hour', '--local'], 'hour', KOLKATA, {TZ: 'Asia/Kolkata'}],
    ] as const) {
      const {code, body} = await home.json(['cdr', 'stats', ...args], env)
      assert.equal(code, 0, JSON.stringify(body.error))
      assert.equal(body.result.group_by, groupBy)
      assert.equal(body.result.time_zone, timeZone)
      const filter: CdrFilter = (args as readonly string[]).includes('completed') ? {statuses: ['completed']} : {}
      const expected = expectedStats(RECORDS, filter, groupBy, timeZone)
      assert.equal(body.result.rows.length, expected.length, args.join(' '))
      body.result.rows.forEach((row: Record<string, number | string | null>, index: number) => {
        const want = expected[index] as unknown as Record<string, number | string | null>
        for (const [key, value] of Object.entries(want)) {
          if (typeof value === 'number') assert.ok(Math.abs((row[key] as number) - value) < 1e-9, `${args.join(' ')} ${key}: ${row[key]} vs ${value}`)
          else assert.equal(row[key], value, `${args.join(' ')} ${key}`)
        }
      })
    }

    const table = await home.run(['cdr', 'stats', '--group-by', 'day'])
    assert.equal(table.code, 0)
    assert.match(table.stdout, /│ day \(UTC\)\s+│ calls │ answered │ ASR % │\s+ACD │ minutes │ MOS calls │ mean MOS │ MOS < 3\.5 % │/)
    assert.match(table.stdout, /│ 2026-03-07 \s*│/)
    const csv = await home.run(['cdr', 'stats', '--group-by', 'trunk', '--format', 'csv'])
    assert.equal(csv.stdout.split('\r\n')[0], 'trunk_id,calls,answered,asr,acd_seconds,minutes,mos_calls,mean_mos,below_3_5_share')
    assert.match(csv.stdout, /\r\nnone,\d+,/)
    const ndjson = await home.run(['cdr', 'stats', '--format', 'ndjson'])
    assert.deepEqual(
      ndjson.stdout.trimEnd().split('\n').map((line) => (JSON.parse(line) as {tenant_id: string}).tenant_id),
      ['acme', 'globex', "o'hare"],
    )
    const json = await home.run(['cdr', 'stats', '--group-by', 'hour', '--format', 'json', '--since', '2026-03-07T10:00:00Z', '--until', '2026-03-07T12:00:00Z'])
    const hours = expectedStats(RECORDS, {sinceMs: Date.UTC(2026, 2, 7, 10), untilMs: Date.UTC(2026, 2, 7, 12)}, 'hour', 'UTC').map((row) => row.hour)
    assert.deepEqual((JSON.parse(json.stdout) as Array<{hour: string}>).map((row) => row.hour), hours)
  })

  it('--from / --to take any SIP user part, as a literal prefix', async () => {
    for (const [args, filter] of [
      [['--from', '+1415'], {fromPrefix: '+1415'}],
      [['--from', 'alice'], {fromPrefix: 'alice'}],
      [['--to', "o'brien;ext=(2)"], {toPrefix: "o'brien;ext=(2)"}],
      [['--from', '%2B1415'], {fromPrefix: '%2B1415'}],
    ] as Array<[string[], CdrFilter]>) {
      const {code, body} = await home.json(['cdr', 'query', ...args, '--limit', '1000'])
      assert.equal(code, 0, `${args.join(' ')}: ${JSON.stringify(body.error)}`)
      assert.deepEqual(sids(body.result.rows), sids(expectedQuery(RECORDS, filter, 'newest', 1000)), args.join(' '))
    }
    // Quotes and semicolons are user-part characters: an injection made of them is a literal that matches nothing.
    const injection = await home.json(['cdr', 'query', '--from', "+1';DROP_TABLE_telephony_cdrs;--", '--to', "x'or'1'='1"])
    assert.equal(injection.code, 0, JSON.stringify(injection.body.error))
    assert.deepEqual(injection.body.result.rows, [])
    assert.equal(readFileSync(home.path('cdr-spool', segmentName(2)), 'utf8'), spoolBytes)
  })

  it('paging: --after the printed cursor walks every row once, in both orders', async () => {
    for (const order of ['newest', 'oldest'] as const) {
      const seen: string[] = []
      let cursor: string | null = null
      for (let page = 0; page < 10; page++) {
        const {code, body} = await home.json(['cdr', 'query', '--order', order, '--limit', '100', ...(cursor === null ? [] : ['--after', cursor])])
        assert.equal(code, 0)
        const result = body.result as {rows: CdrRecord[]; next_cursor: string | null}
        seen.push(...sids(result.rows))
        cursor = result.next_cursor
        if (cursor === null) break
        const last = result.rows.at(-1)
        assert.equal(cursor, `${last?.start_timestamp_ms}-${last?.call_sid}`)
      }
      assert.equal(cursor, null, 'the last page says so')
      assert.deepEqual(seen, sids(expectedQuery(RECORDS, {}, order, 1000)), order)
    }
    const text = await home.run(['cdr', 'query', '--limit', '5', '--format', 'ndjson'])
    const lastRow = JSON.parse(text.stdout.trimEnd().split('\n').at(-1) ?? '{}') as CdrRecord
    assert.match(text.stderr, new RegExp(`Next page: --after ${lastRow.start_timestamp_ms}-${lastRow.call_sid}`))
  })

  it('hostile values in the free-form filters are literals: no rows, exit 0, the spool untouched', async () => {
    for (const flag of ['--tenant', '--trunk', '--agent']) {
      for (const value of [INJECTION, "') OR 1=1 --", '{p_tenant:String}', '\\', "x' UNION SELECT * FROM system.tables --"]) {
        const query = await home.json(['cdr', 'query', flag, value])
        assert.equal(query.code, 0, `${flag} ${value}: ${JSON.stringify(query.body.error)}`)
        assert.deepEqual(query.body.result.rows, [], `${flag} ${value}`)
        const stats = await home.json(['cdr', 'stats', flag, value, '--group-by', 'day'])
        assert.equal(stats.code, 0)
        assert.deepEqual(stats.body.result.rows, [], `${flag} ${value} (stats)`)
      }
    }
    assert.equal(readFileSync(home.path('cdr-spool', segmentName(2)), 'utf8'), spoolBytes)
    const all = await home.json(['cdr', 'query', '--limit', '1000000'])
    assert.equal(all.body.result.rows.length, RECORDS.length)
  })

  it('hostile or impossible values in checked filters are usage errors (exit 2) that say what is accepted', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--from', "+1' OR 1=1 --"], /--from .*SIP user part.*no spaces/],
      [['--to', '49%'], /--to .*SIP user part/],
      [['--to', '+1 (415)'], /--to "\+1 \(415\)" is not valid: .*no spaces or @/],
      [['--from', 'alice@example.com'], /--from .*no spaces or @/],
      [['--from', 'a'.repeat(129)], /--from .*1 to 128 characters/],
      [['--after', 'yesterday'], /--after "yesterday" is not valid: use the cursor a previous `cdr query` printed/],
      [['--after', `1772756400000-CA${'0'.repeat(32)}' OR 1=1`], /--after .*cursor/],
      [['--call-sid', `CA${'0'.repeat(32)}' OR 1=1`], /--call-sid .*CA followed by 32 lowercase hex/],
      [['--status', "completed' OR 1=1"], /--status .*completed, busy, no-answer, canceled, failed/],
      [['--status', 'answered'], /--status "answered" is not valid: use one of completed, busy, no-answer, canceled, failed/],
      [['--direction', "inbound' --"], /--direction .*inbound or outbound/],
      [['--since', '2026-02-30'], /--since "2026-02-30" is not valid: 2026-02 has no day 30/],
      [['--until', '2026-13-01'], /--until "2026-13-01" is not valid: month 13 does not exist/],
      [['--since', "1d' OR 1=1"], /--since .*duration ago/],
      [['--since', '1d', '--until', '2d'], /--since "1d" is not before --until "2d"/],
      [['--min-mos', '6'], /--min-mos "6" is not valid: use a MOS from 1 to 5/],
      [['--min-mos', '4', '--max-mos', '3'], /--min-mos 4 is above --max-mos 3/],
      [['--limit', '0'], /--limit "0" is not valid: use a whole number of rows from 1 to 1,000,000/],
      [['--limit', '10; DROP TABLE x'], /--limit/],
      [['--order', 'random'], /--order "random" is not valid: use one of newest, oldest/],
      [['--format', 'xml'], /--format "xml" is not valid: use one of table, json, ndjson, csv/],
    ]
    for (const [args, message] of cases) {
      const {code, body} = await home.json(['cdr', 'query', ...args])
      assert.equal(code, 2, args.join(' '))
      assert.equal(body.status, 2)
      assert.equal(body.error?.code, 'CC_ERR_USAGE', args.join(' '))
      assert.match(body.error?.message ?? '', message, args.join(' '))
      assert.equal(body.result, undefined)
    }
    const human = await home.run(['cdr', 'query', '--status', 'answered'])
    assert.equal(human.code, 2)
    assert.equal(human.stdout, '')
    assert.match(human.stderr, /^Error \(CC_ERR_USAGE\): --status "answered" is not valid: use one of completed, busy, no-answer, canceled, failed/m)
    const stats = await home.json(['cdr', 'stats', '--group-by', 'week'])
    assert.equal(stats.code, 2)
    assert.match(stats.body.error?.message ?? '', /--group-by "week" is not valid: use one of tenant, trunk, day, hour/)
    const both = await home.json(['cdr', 'stats', '--utc', '--local'])
    assert.equal(both.code, 2)
  })

  it('cdr migrate without cdr.clickhouse: CC_ERR_CDR_NO_CLICKHOUSE (exit 2)', async () => {
    const {code, body} = await home.json(['cdr', 'migrate'])
    assert.equal(code, 2)
    assert.equal(body.error?.code, 'CC_ERR_CDR_NO_CLICKHOUSE')
  })

  it('an empty embedded store says so', async () => {
    const empty = new TestHome()
    try {
      const query = await empty.run(['cdr', 'query'])
      assert.equal(query.code, 0)
      assert.match(query.stderr, /No CDRs yet: the embedded store \(.*cdr-spool\) has no spool files\./)
      const stats = await empty.json(['cdr', 'stats'])
      assert.deepEqual(stats.body.result.rows, [])
    } finally {
      await empty.cleanup()
    }
  })

  it('every cdr command has --json and examples in its help', async () => {
    for (const command of ['migrate', 'query', 'stats']) {
      const {code, stdout} = await home.run(['cdr', command, '--help'])
      assert.equal(code, 0, command)
      assert.match(stdout, /--json/, command)
      assert.match(stdout, /EXAMPLES/, command)
    }
  })
})

describe('cdr migrate and cdr query against ClickHouse 18.16', () => {
  const clickhouse = new TestClickHouse()
  const home = new TestHome()

  before(async () => {
    await clickhouse.start()
    home.writeConfig(`cdr:\n  clickhouse:\n    url: ${clickhouse.url}\n    database: cc_e2e\n    table: cdrs\n`)
  })
  after(async () => {
    await clickhouse.cleanup()
    await home.cleanup()
  })

  const databases = async () => (await clickhouse.query("SELECT name FROM system.databases WHERE name = 'cc_e2e'")).trim()

  it('--dry-run detects the server, prints the DateTime fallback and runs nothing', async () => {
    const {code, body} = await home.json(['cdr', 'migrate', '--dry-run'])
    assert.equal(code, 0, JSON.stringify(body.error))
    assert.equal(body.result.dry_run, true)
    assert.match(body.result.server.version, /^18\.16\./)
    assert.equal(body.result.server.dateTime64, false)
    assert.equal(body.result.statements.length, 2)
    assert.match(body.result.statements[1].sql, /start_timestamp_ms DateTime,/)
    assert.deepEqual(body.result.statements[1].settings, {allow_experimental_low_cardinality_type: 1})
    assert.match(body.warnings.join('\n'), /ClickHouse 18\.16\.\S+ has no DateTime64: .*milliseconds are truncated to seconds/)
    const human = await home.run(['cdr', 'migrate', '--dry-run'])
    assert.match(human.stdout, /^SET allow_experimental_low_cardinality_type = 1;\n\nCREATE DATABASE IF NOT EXISTS `cc_e2e`;\n\nCREATE TABLE IF NOT EXISTS `cc_e2e`\.`cdrs`\n\(/)
    assert.match(human.stderr, /milliseconds are truncated to seconds/)
    assert.equal(await databases(), '', 'nothing was created')
  })

  it('--cluster --dry-run shows ON CLUSTER, ReplicatedMergeTree and Distributed', async () => {
    const {code, stdout} = await home.run(['cdr', 'migrate', '--cluster', 'telco', '--dry-run'])
    assert.equal(code, 0)
    assert.match(stdout, /CREATE DATABASE IF NOT EXISTS `cc_e2e` ON CLUSTER `telco`;/)
    assert.match(stdout, /CREATE TABLE IF NOT EXISTS `cc_e2e`\.`cdrs_local` ON CLUSTER `telco`[\s\S]*ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/cc_e2e\/cdrs_local', '\{replica\}'\)/)
    assert.match(stdout, /CREATE TABLE IF NOT EXISTS `cc_e2e`\.`cdrs` ON CLUSTER `telco`[\s\S]*ENGINE = Distributed\(`telco`, `cc_e2e`, `cdrs_local`, cityHash64\(call_sid\)\);/)
    assert.equal(await databases(), '')
    const bad = await home.json(['cdr', 'migrate', '--cluster', "telco'; DROP DATABASE system; --", '--dry-run'])
    assert.equal(bad.code, 2)
    assert.match(bad.body.error?.message ?? '', /--cluster .* is not a plain ClickHouse identifier/)
  })

  it('migrate creates the table with DateTime columns, warns, and is idempotent', async () => {
    const {code, stdout, stderr} = await home.run(['cdr', 'migrate'])
    assert.equal(code, 0, stderr)
    assert.match(stderr, /^Warning: ClickHouse 18\.16\.\S+ has no DateTime64: .*milliseconds are truncated to seconds/m)
    assert.match(stdout, /ClickHouse 18\.16\.\S+ at http:\/\/127\.0\.0\.1:\d+: cc_e2e\.cdrs is ready for CDRs\./)
    const columns = await clickhouse.rows<{name: string; type: string}>("SELECT name, type FROM system.columns WHERE database = 'cc_e2e' AND table = 'cdrs'")
    const types = Object.fromEntries(columns.map((column) => [column.name, column.type]))
    assert.deepEqual(Object.keys(types), [...CDR_COLUMNS])
    assert.equal(types.start_timestamp_ms, 'DateTime')
    assert.equal(types.answer_timestamp_ms, 'Nullable(DateTime)')
    assert.equal(types.end_timestamp_ms, 'DateTime')
    assert.equal(types.tenant_id, 'LowCardinality(String)')
    assert.equal(types.direction, "Enum8('outbound' = 1, 'inbound' = 2)")
    assert.equal(types.bytes_sent, 'UInt64')
    assert.equal(types.estimated_mos, 'Float32')
    const [table] = await clickhouse.rows<{engine: string; partition_key: string; sorting_key: string}>(
      "SELECT engine, partition_key, sorting_key FROM system.tables WHERE database = 'cc_e2e' AND name = 'cdrs'",
    )
    assert.deepEqual(table, {engine: 'MergeTree', partition_key: 'toYYYYMM(start_timestamp_ms)', sorting_key: 'tenant_id, start_timestamp_ms'})
    // The writer's insert (ISO timestamps, best_effort) lands, truncated to the second.
    await clickhouse.query(`INSERT INTO cc_e2e.cdrs FORMAT JSONEachRow\n${cdrLine(QUOTED)}`, {date_time_input_format: 'best_effort'})
    assert.equal((await clickhouse.query('SELECT toUnixTimestamp(start_timestamp_ms) FROM cc_e2e.cdrs')).trim(), String(Math.floor(QUOTED.start_timestamp_ms / 1000)))

    const again = await home.json(['cdr', 'migrate'])
    assert.equal(again.code, 0)
    assert.deepEqual(
      again.body.warnings.filter((warning) => !/no DateTime64/.test(warning)),
      [],
      'no column differs from what the writer expects',
    )
  })

  it('cdr query and cdr stats work without query parameters: filters, paging and stats right, hostile values stay literals', async () => {
    // A table of its own, so this test runs alone; 18.16 keeps whole seconds (DateTime), so the expectations do too.
    const own = new TestHome()
    own.writeConfig(`cdr:\n  clickhouse:\n    url: ${clickhouse.url}\n    database: cc_e2e_literals\n    table: cdrs\n`)
    try {
      assert.equal((await own.run(['cdr', 'migrate'])).code, 0)
      const second = (ms: number) => Math.floor(ms / 1000) * 1000
      const stored = RECORDS.map((record) => ({
        ...record,
        start_timestamp_ms: second(record.start_timestamp_ms),
        answer_timestamp_ms: record.answer_timestamp_ms === null ? null : second(record.answer_timestamp_ms),
        end_timestamp_ms: second(record.end_timestamp_ms),
      }))
      await clickhouse.query(`INSERT INTO cc_e2e_literals.cdrs FORMAT JSONEachRow\n${stored.map(cdrLine).join('')}`, {date_time_input_format: 'best_effort'})

      const cases: Array<[string[], CdrFilter]> = [
        [['--tenant', "o'hare"], {tenant: "o'hare"}],
        [['--status', 'busy', '--status', 'no-answer,failed'], {statuses: ['busy', 'no-answer', 'failed']}],
        [['--status', 'completed'], {statuses: ['completed']}],
        [['--from', '+1415', '--direction', 'inbound'], {fromPrefix: '+1415', direction: 'inbound'}],
        [['--to', '0044', '--agent', 'bot-2'], {toPrefix: '0044', agent: 'bot-2'}],
        [['--min-mos', '3', '--max-mos', '4'], {minMos: 3, maxMos: 4}],
        [['--since', '2026-03-07T00:00:00Z', '--until', '2026-03-08T12:00:00Z'], {sinceMs: Date.UTC(2026, 2, 7), untilMs: Date.UTC(2026, 2, 8, 12)}],
        [['--call-sid', QUOTED.call_sid], {callSid: QUOTED.call_sid}],
      ]
      for (const [args, filter] of cases) {
        const {code, body} = await own.json(['cdr', 'query', ...args, '--limit', '1000'])
        assert.equal(code, 0, `${args.join(' ')}: ${JSON.stringify(body.error)}`)
        const expected = expectedQuery(stored, filter, 'newest', 1000)
        assert.ok(expected.length > 0, `${args.join(' ')} matches something`)
        assert.deepEqual(sids(body.result.rows), sids(expected), args.join(' '))
      }
      const quoted = await own.json(['cdr', 'query', '--call-sid', QUOTED.call_sid])
      assert.deepEqual(quoted.body.result.rows, [stored.at(-1)], 'every column comes back as stored')

      const seen: string[] = []
      let cursor: string | null = null
      for (let page = 0; page < 10; page++) {
        const {body} = await own.json(['cdr', 'query', '--order', 'oldest', '--limit', '70', ...(cursor === null ? [] : ['--after', cursor])])
        seen.push(...sids(body.result.rows as CdrRecord[]))
        cursor = body.result.next_cursor as string | null
        if (cursor === null) break
      }
      assert.deepEqual(seen, sids(expectedQuery(stored, {}, 'oldest', 1000)), 'paging walks every row once')

      for (const [args, groupBy, timeZone] of [
        [[], 'tenant', 'UTC'],
        [['--group-by', 'day', '--utc'], 'day', 'UTC'],
        [['--group-by', 'hour', '--local'], 'hour', KOLKATA],
      ] as const) {
        const {code, body} = await own.json(['cdr', 'stats', ...args], {TZ: 'Asia/Kolkata'})
        assert.equal(code, 0, JSON.stringify(body.error))
        const expected = expectedStats(stored, {}, groupBy, timeZone)
        assert.equal(body.result.rows.length, expected.length, args.join(' '))
        body.result.rows.forEach((row: Record<string, number | string | null>, index: number) => {
          for (const [key, value] of Object.entries(expected[index] as unknown as Record<string, number | string | null>)) {
            if (typeof value === 'number') assert.ok(Math.abs((row[key] as number) - value) < 1e-6, `${args.join(' ')} ${key}: ${row[key]} vs ${value}`)
            else assert.equal(row[key], value, `${args.join(' ')} ${key}`)
          }
        })
      }

      for (const flag of ['--tenant', '--trunk', '--agent']) {
        for (const value of [INJECTION, "') OR 1=1 --", '{p_tenant:String}', '\\', "\\' OR 1=1 --", "x' UNION SELECT * FROM system.tables --", "x'); SELECT 1; --"]) {
          const query = await own.json(['cdr', 'query', flag, value])
          assert.equal(query.code, 0, `${flag} ${value}: ${JSON.stringify(query.body.error)}`)
          assert.deepEqual(query.body.result.rows, [], `${flag} ${value}`)
          const stats = await own.json(['cdr', 'stats', flag, value, '--group-by', 'day'])
          assert.equal(stats.code, 0, `${flag} ${value} (stats): ${JSON.stringify(stats.body.error)}`)
          assert.deepEqual(stats.body.result.rows, [], `${flag} ${value} (stats)`)
        }
      }
      assert.equal((await clickhouse.query('SELECT count() FROM cc_e2e_literals.cdrs')).trim(), String(RECORDS.length), 'the table is untouched')
      const human = await own.run(['cdr', 'query', '--tenant', 'acme', '--limit', '3'])
      assert.equal(human.code, 0, human.stderr)
      assert.match(human.stdout, /acme/)
    } finally {
      await own.cleanup()
    }
  })

  it('ClickHouse down: CC_ERR_CLICKHOUSE_UNREACHABLE (exit 1); a dry run still shows the current DDL', async () => {
    await clickhouse.stop()
    for (const args of [['cdr', 'query'], ['cdr', 'stats'], ['cdr', 'migrate']]) {
      const {code, body} = await home.json(args)
      assert.equal(code, 1, args.join(' '))
      assert.equal(body.error?.code, 'CC_ERR_CLICKHOUSE_UNREACHABLE', args.join(' '))
      assert.match(body.error?.message ?? '', new RegExp(`Cannot reach ClickHouse at ${clickhouse.url.replace(/\./g, '\\.')}`))
    }
    const dry = await home.json(['cdr', 'migrate', '--dry-run'])
    assert.equal(dry.code, 0)
    assert.equal(dry.body.result.server, null)
    assert.match(dry.body.result.statements[1].sql, /start_timestamp_ms DateTime64\(3\)/)
    assert.match(dry.body.result.statements[1].sql, /SETTINGS non_replicated_deduplication_window = 1000$/)
    assert.match(dry.body.warnings.join('\n'), /Cannot reach ClickHouse .*showing the DDL for a current ClickHouse/)
  })
})
