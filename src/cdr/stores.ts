// Where `cdr query` and `cdr stats` read CDRs, and how:
//
//  - embedded (no cdr.clickhouse): the spool segments themselves, read by chDB
//    with file(); no segment files means no CDRs, and chDB is not even loaded;
//  - ClickHouse (cdr.clickhouse set): @clickhouse/client with query_params
//    (19.x+), or the same values as typed, escaped literals on a server
//    without them (Debian's 18.16; src/cdr/sql-literals.ts).
//
// The same SQL (src/cdr/query-sql.ts) runs in both. chDB and the ClickHouse
// client are imported dynamically, so a command loads only the one it uses;
// the commands import this module dynamically too, so no other command pays
// for either.
import {CCError} from '../errors.js'
import {inlineParameters} from './sql-literals.js'
import type {CdrRecord} from './record.js'
import type {ClickHouseTarget} from './clickhouse.js'
import {buildCdrQuery, buildCdrStats, type BuiltSql, type CdrSource, type CdrStatsRow, type QuerySpec, type StatsSpec} from './query-sql.js'
import {listSegments, segmentGlob} from './spool-files.js'

export interface StoreTarget {
  /** cdr.clickhouse from the config; absent means the embedded store. */
  readonly clickhouse?: ClickHouseTarget | undefined
  readonly spoolDir: string
  /** The command, for messages (`cdr query`, `cdr stats`). */
  readonly command: string
}

export interface StoreAnswer<T> {
  readonly store: 'embedded' | 'clickhouse'
  /** The spool directory, or `URL db.table`. */
  readonly source: string
  readonly rows: T[]
  /** What was sent (absent when the embedded store had no files to read). */
  readonly sql?: BuiltSql
}

type RawRow = Record<string, unknown>

export const runCdrQuery = async (target: StoreTarget, spec: QuerySpec): Promise<StoreAnswer<CdrRecord>> => {
  const answer = await run(target, (source) => buildCdrQuery(spec, source))
  return {...answer, rows: answer.rows.map(toCdrRecord)}
}

export const runCdrStats = async (target: StoreTarget, spec: StatsSpec): Promise<StoreAnswer<CdrStatsRow>> => {
  const answer = await run(target, (source) => buildCdrStats(spec, source))
  return {...answer, rows: answer.rows.map(toStatsRow)}
}

const run = (target: StoreTarget, build: (source: CdrSource) => BuiltSql): Promise<StoreAnswer<RawRow>> =>
  target.clickhouse === undefined ? runEmbedded(target.spoolDir, build) : runClickHouse(target.clickhouse, target.command, build)

/** ClickHouse's file() globs: a spool path with these characters would match other files. */
const GLOB_CHARACTERS = /[*?{}]/

const runEmbedded = async (spoolDir: string, build: (source: CdrSource) => BuiltSql): Promise<StoreAnswer<RawRow>> => {
  const segments = listSegments(spoolDir)
  if (segments.length === 0) return {store: 'embedded', source: spoolDir, rows: []}
  if (GLOB_CHARACTERS.test(spoolDir)) {
    throw new CCError('CC_ERR_CDR_SPOOL', {path: spoolDir, detail: 'the path contains *, ?, { or }, which chDB would read as a file pattern; use a CLUTCHCALL_HOME without them'})
  }
  // Each segment may end in a line the daemon is still writing (or one a crash cut short): skip at most one per segment.
  const sql = build({kind: 'files', glob: segmentGlob(spoolDir), allowErrors: segments.length})
  const {loadChdb} = await import('./chdb.js')
  const chdb = await loadChdb()
  let text: string
  try {
    text = (await chdb.queryBindAsync(sql.sql, sql.params, {format: 'JSONEachRow'})).text()
  } catch (error) {
    const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0]?.trim() ?? ''
    throw new CCError('CC_ERR_CDR_QUERY_FAILED', {detail}, {cause: error, data: {store: 'embedded', params: sql.params}})
  }
  return {store: 'embedded', source: spoolDir, rows: parseJsonEachRow(text), sql}
}

const runClickHouse = async (target: ClickHouseTarget, command: string, build: (source: CdrSource) => BuiltSql): Promise<StoreAnswer<RawRow>> => {
  const {clickHouseError, openClickHouse, serverCapabilities} = await import('./clickhouse.js')
  // Connected to `system` and naming the table in full, so a database that does not exist yet is
  // reported as the missing table it is, after the version check, not as a failed connection.
  const connection = openClickHouse({...target, database: 'system'}, {keepAlive: false})
  const table = `${target.database}.${target.table}`
  const source = `${target.url} ${table}`
  try {
    const capabilities = await serverCapabilities(connection).catch((error: unknown) => {
      throw clickHouseError(connection, 'the version check', error)
    })
    const sql = build({kind: 'table', table, dateTime64: capabilities.dateTime64})
    // Before 19.x (Debian's 18.16) there is no parameter binding: the values go into the text as typed, escaped literals.
    const query = capabilities.queryParameters ? {query: sql.sql, query_params: sql.params} : {query: inlineParameters(sql)}
    try {
      const result = await connection.client.query({
        ...query,
        format: 'JSONEachRow',
        clickhouse_settings: {output_format_json_quote_64bit_integers: 0},
      })
      return {store: 'clickhouse', source, rows: await result.json<RawRow>(), sql}
    } catch (error) {
      throw clickHouseError(connection, `the ${command} SQL`, error)
    }
  } finally {
    await connection.client.close().catch(() => undefined)
  }
}

const parseJsonEachRow = (text: string): RawRow[] =>
  text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as RawRow)

const number = (value: unknown): number => (typeof value === 'number' ? value : Number(value))
const nullableNumber = (value: unknown): number | null => (value === null || value === undefined ? null : number(value))
const string = (value: unknown): string => (typeof value === 'string' ? value : String(value ?? ''))

/** A result row as a CdrRecord: 64-bit integers may arrive as strings, timestamps are epoch ms. */
export const toCdrRecord = (row: RawRow): CdrRecord => ({
  call_sid: string(row.call_sid),
  tenant_id: string(row.tenant_id),
  trunk_id: string(row.trunk_id),
  direction: string(row.direction) as CdrRecord['direction'],
  from_number: string(row.from_number),
  to_number: string(row.to_number),
  start_timestamp_ms: number(row.start_timestamp_ms),
  answer_timestamp_ms: nullableNumber(row.answer_timestamp_ms),
  end_timestamp_ms: number(row.end_timestamp_ms),
  duration_seconds: number(row.duration_seconds),
  q850_cause: number(row.q850_cause),
  status: string(row.status) as CdrRecord['status'],
  codec: string(row.codec),
  packets_sent: number(row.packets_sent),
  packets_received: number(row.packets_received),
  packets_lost: number(row.packets_lost),
  bytes_sent: number(row.bytes_sent),
  jitter_ms: number(row.jitter_ms),
  estimated_mos: number(row.estimated_mos),
  recording_url: string(row.recording_url),
  agent_id: string(row.agent_id),
})

export const toStatsRow = (row: RawRow): CdrStatsRow => {
  const key = Object.fromEntries((['tenant_id', 'trunk_id', 'day', 'hour'] as const).filter((name) => name in row).map((name) => [name, string(row[name])]))
  return {
    ...key,
    calls: number(row.calls),
    answered: number(row.answered),
    asr: number(row.asr),
    acd_seconds: nullableNumber(row.acd_seconds),
    minutes: number(row.minutes),
    mos_calls: number(row.mos_calls),
    mean_mos: nullableNumber(row.mean_mos),
    below_3_5_share: nullableNumber(row.below_3_5_share),
  }
}
