import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {cdrMigration, migrationScript, parseClusterName} from '../../../../src/cdr/ddl.js'
import type {CdrFilter} from '../../../../src/cdr/filters.js'
import {buildCdrQuery, buildCdrStats, type CdrSource} from '../../../../src/cdr/query-sql.js'
import {CDR_COLUMNS} from '../../../../src/cdr/record.js'
import {CCError} from '../../../../src/errors.js'

const INJECTION = "x'); DROP TABLE default.telephony_cdrs; --"
const TABLE: CdrSource = {kind: 'table', table: 'default.telephony_cdrs', dateTime64: true}
const OLD_TABLE: CdrSource = {kind: 'table', table: 'default.telephony_cdrs', dateTime64: false}
const FILES: CdrSource = {kind: 'files', glob: "/home/o'brien/cdr-spool/seg-*.ndjson", allowErrors: 3}

/** Every filter, each carrying a value that would break out of a string literal if it were pasted into SQL. */
const HOSTILE: CdrFilter = {
  tenant: INJECTION,
  trunk: `${INJECTION}-trunk`,
  agent: `${INJECTION}-agent`,
  sinceMs: 1_772_323_200_000,
  untilMs: 1_772_409_600_000,
  statuses: ['completed', 'busy'],
  direction: 'inbound',
  fromPrefix: '+1415',
  toPrefix: '0049',
  callSid: `CA${'0123456789abcdef'.repeat(2)}`,
  minMos: 3.25,
  maxMos: 4.5,
}

const sources: Array<[string, CdrSource]> = [
  ['ClickHouse table', TABLE],
  ['old ClickHouse table', OLD_TABLE],
  ['spool files', FILES],
]

const paramValues = (params: Record<string, unknown>): string[] => Object.values(params).flatMap((value) => (Array.isArray(value) ? value.map(String) : [String(value)]))

describe('cdr query SQL', () => {
  for (const [name, source] of sources) {
    it(`${name}: user input only in params, every param referenced`, () => {
      for (const built of [
        buildCdrQuery({filter: HOSTILE, order: 'newest', limit: 100}, source),
        buildCdrQuery({filter: HOSTILE, order: 'oldest', limit: 100, after: {startMs: 1_772_756_400_123, callSid: "CA'; DROP TABLE x; --"}}, source),
        buildCdrStats({filter: HOSTILE, groupBy: 'day', timeZone: 'Europe/Berlin'}, source),
      ]) {
        for (const value of paramValues(built.params)) {
          if (/^\d+(\.\d+)?$/.test(value) || ['completed', 'busy', 'inbound'].includes(value)) continue
          assert.ok(!built.sql.includes(value), `${JSON.stringify(value)} is in the SQL text`)
        }
        assert.ok(!built.sql.includes('DROP'), built.sql)
        assert.ok(!built.sql.includes('o\'brien') && !built.sql.includes('brien'), 'the spool path is a parameter too')
        for (const param of Object.keys(built.params)) assert.match(built.sql, new RegExp(`\\{${param}:[A-Za-z0-9(),]+\\}`), `${param} is used`)
        for (const [, param] of built.sql.matchAll(/\{(p_\w+):/g)) assert.ok(param !== undefined && param in built.params, `${param} is bound`)
      }
    })
  }

  it('the query params carry the filter values', () => {
    const {params} = buildCdrQuery({filter: HOSTILE, order: 'oldest', limit: 7}, FILES)
    assert.deepEqual(params, {
      p_glob: FILES.kind === 'files' ? FILES.glob : '',
      p_tenant: HOSTILE.tenant,
      p_trunk: HOSTILE.trunk,
      p_since: HOSTILE.sinceMs,
      p_until: HOSTILE.untilMs,
      p_statuses: ['completed', 'busy'],
      p_direction: 'inbound',
      p_from: '+1415',
      p_to: '0049',
      p_call_sid: HOSTILE.callSid,
      p_agent: HOSTILE.agent,
      p_min_mos: 3.25,
      p_max_mos: 4.5,
      p_limit: 7,
    })
  })

  it('selects the 21 CDR columns with timestamps as epoch ms, ordered and limited', () => {
    const {sql} = buildCdrQuery({filter: {}, order: 'newest', limit: 100}, TABLE)
    const outer = sql.slice(0, sql.indexOf('FROM'))
    for (const column of CDR_COLUMNS) assert.match(outer, new RegExp(`\\b${column}\\b`), column)
    assert.match(outer, /toUnixTimestamp64Milli\(toDateTime64\(_start_timestamp_ms, 3\)\) AS start_timestamp_ms/)
    assert.match(sql, /ORDER BY start_timestamp_ms DESC, call_sid DESC\s+LIMIT \{p_limit:UInt32\}/)
    assert.match(buildCdrQuery({filter: {}, order: 'oldest', limit: 1}, TABLE).sql, /ORDER BY start_timestamp_ms ASC, call_sid ASC/)
    assert.doesNotMatch(sql, /WHERE/)
    assert.doesNotMatch(sql, /SETTINGS/, 'a server table needs no settings in the text')
  })

  it('prefixes with startsWith, statuses with an array parameter, MOS only over calls with media', () => {
    const {sql} = buildCdrQuery({filter: HOSTILE, order: 'newest', limit: 1}, TABLE)
    assert.match(sql, /startsWith\(from_number, \{p_from:String\}\)/)
    assert.match(sql, /startsWith\(to_number, \{p_to:String\}\)/)
    assert.match(sql, /status IN \{p_statuses:Array\(String\)\}/)
    assert.match(sql, /packets_received > 0/)
    assert.match(sql, /start_timestamp_ms >= fromUnixTimestamp64Milli\(\{p_since:Int64\}\)/)
    assert.match(sql, /start_timestamp_ms < fromUnixTimestamp64Milli\(\{p_until:Int64\}\)/)
  })

  it('servers without DateTime64 get DateTime arithmetic', () => {
    const {sql} = buildCdrQuery({filter: HOSTILE, order: 'newest', limit: 1}, OLD_TABLE)
    assert.doesNotMatch(sql, /64Milli/)
    assert.match(sql, /toUInt64\(toUnixTimestamp\(_start_timestamp_ms\)\) \* 1000 AS start_timestamp_ms/)
    assert.match(sql, /start_timestamp_ms >= toDateTime\(intDiv\(\{p_since:Int64\}, 1000\)\)/)
  })

  it('the spool files: file() with the CDR structure, ISO parsing, UTC, torn lines tolerated', () => {
    const {sql} = buildCdrQuery({filter: {}, order: 'newest', limit: 1}, FILES)
    assert.match(sql, /FROM file\(\{p_glob:String\}, 'JSONEachRow', 'call_sid String, tenant_id LowCardinality\(String\), .*direction Enum8\(\\'outbound\\' = 1, \\'inbound\\' = 2\)/)
    assert.match(sql, /SETTINGS date_time_input_format = 'best_effort', session_timezone = 'UTC', output_format_json_quote_64bit_integers = 0, input_format_allow_errors_num = 3$/)
  })

  it('stats: carrier figures per group, buckets in a bound time zone', () => {
    const tenant = buildCdrStats({filter: {}, groupBy: 'tenant', timeZone: 'UTC'}, TABLE)
    assert.match(tenant.sql, /GROUP BY tenant_id\nORDER BY tenant_id ASC/)
    assert.deepEqual(tenant.params, {})
    for (const figure of ['calls', 'answered', 'asr', 'acd_seconds', 'minutes', 'mos_calls', 'mean_mos', 'below_3_5_share']) assert.match(tenant.sql, new RegExp(`AS ${figure}\\b`))
    assert.match(tenant.sql, /estimated_mos < 3\.5/)
    assert.match(buildCdrStats({filter: {}, groupBy: 'trunk', timeZone: 'UTC'}, TABLE).sql, /GROUP BY trunk_id/)
    const day = buildCdrStats({filter: {}, groupBy: 'day', timeZone: 'America/New_York'}, TABLE)
    assert.match(day.sql, /toStartOfDay\(start_timestamp_ms, \{p_tz:String\}\)/)
    assert.deepEqual(day.params, {p_tz: 'America/New_York'})
    assert.ok(!day.sql.includes('New_York'))
    assert.match(buildCdrStats({filter: {}, groupBy: 'hour', timeZone: 'UTC'}, TABLE).sql, /toStartOfHour\(start_timestamp_ms, \{p_tz:String\}\), '%Y-%m-%d %H:00'/)
  })
})

describe('cdr migrate DDL', () => {
  const target = {database: 'telephony', table: 'telephony_cdrs'}

  it('a current server: the exact DESIGN types, MergeTree by month, dedup window', () => {
    const plan = cdrMigration(target)
    assert.deepEqual(plan.warnings, [])
    assert.equal(plan.statements.length, 2)
    assert.equal(plan.statements[0]?.sql, 'CREATE DATABASE IF NOT EXISTS `telephony`')
    const create = plan.statements[1]?.sql ?? ''
    assert.match(create, /^CREATE TABLE IF NOT EXISTS `telephony`\.`telephony_cdrs`\n\(/)
    assert.match(create, /start_timestamp_ms DateTime64\(3\),\n {4}answer_timestamp_ms Nullable\(DateTime64\(3\)\)/)
    assert.match(create, /direction Enum8\('outbound' = 1, 'inbound' = 2\)/)
    assert.match(create, /ENGINE = MergeTree\nPARTITION BY toYYYYMM\(start_timestamp_ms\)\nORDER BY \(tenant_id, start_timestamp_ms\)\nSETTINGS non_replicated_deduplication_window = 1000$/)
    assert.equal((create.match(/^ {4}\w+ /gm) ?? []).length, 21)
    assert.deepEqual(plan.statements[1]?.settings, {})
    assert.equal(plan.insertTable, 'telephony.telephony_cdrs')
  })

  it('18.16: DateTime instead of DateTime64, LowCardinality allowed, no dedup window, and a warning naming the version', () => {
    const plan = cdrMigration(target, {version: '18.16.1', dateTime64: false, dedupToken: false})
    const create = plan.statements[1]?.sql ?? ''
    assert.doesNotMatch(create, /DateTime64/)
    assert.match(create, /start_timestamp_ms DateTime,\n {4}answer_timestamp_ms Nullable\(DateTime\),\n {4}end_timestamp_ms DateTime,/)
    assert.doesNotMatch(create, /deduplication/)
    assert.deepEqual(plan.statements[1]?.settings, {allow_experimental_low_cardinality_type: 1})
    assert.equal(plan.warnings.length, 1)
    assert.match(plan.warnings[0] ?? '', /18\.16\.1.*milliseconds are truncated to seconds/)
    assert.match(migrationScript(plan), /^SET allow_experimental_low_cardinality_type = 1;\n\nCREATE DATABASE/)
  })

  it('--cluster: ON CLUSTER everywhere, ReplicatedMergeTree _local and a Distributed table', () => {
    const plan = cdrMigration({...target, cluster: 'telco'})
    assert.equal(plan.statements.length, 3)
    for (const statement of plan.statements) assert.match(statement.sql, /ON CLUSTER `telco`/)
    assert.match(plan.statements[1]?.sql ?? '', /`telephony`\.`telephony_cdrs_local` ON CLUSTER `telco`[\s\S]*ENGINE = ReplicatedMergeTree\('\/clickhouse\/tables\/\{shard\}\/telephony\/telephony_cdrs_local', '\{replica\}'\)\nPARTITION BY/)
    assert.match(plan.statements[2]?.sql ?? '', /`telephony`\.`telephony_cdrs` ON CLUSTER `telco`[\s\S]*ENGINE = Distributed\(`telco`, `telephony`, `telephony_cdrs_local`, cityHash64\(call_sid\)\)$/)
    assert.doesNotMatch(migrationScript(plan), /non_replicated/)
    assert.equal(plan.insertTable, 'telephony.telephony_cdrs')
  })

  it('a cluster name must be a plain identifier', () => {
    assert.equal(parseClusterName('telco_1'), 'telco_1')
    for (const bad of ['', '1telco', 'tel-co', 'telco`; DROP', 'a b', "x'"]) {
      assert.throws(
        () => parseClusterName(bad),
        (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_USAGE' && error.message.includes('--cluster') && error.message.includes(JSON.stringify(bad)),
        bad,
      )
      assert.throws(() => cdrMigration({...target, cluster: bad}), CCError)
    }
    assert.throws(() => cdrMigration({database: 'x`y', table: 't'}), CCError)
  })
})
