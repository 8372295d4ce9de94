// The SQL of `cdr query` and `cdr stats`: the same text for ClickHouse and for
// chDB over the spool files (only the FROM differs). User input never enters
// the text: every value is a `{p_name:Type}` query parameter bound by the
// server (ClickHouse 19.x+, chDB), and the only names in the text are the
// validated identifiers of the config. Servers without binding (18.16) get the
// values as typed, escaped literals (sql-literals.ts), never as raw text.
//
// Timestamps come back as epoch milliseconds (numbers, like CdrRecord), so
// nothing depends on the server's or the machine's time zone; `cdr stats`
// buckets days and hours in an explicit time zone (`UTC` unless asked).
import {cdrStructure} from './columns.js'
import type {CdrCursor, CdrFilter, CdrGroupBy, CdrOrder} from './filters.js'
import {CDR_COLUMNS} from './record.js'
import {stringLiteral} from './sql-literals.js'

export type CdrSource =
  /** A ClickHouse table `db.table` (validated identifiers); `dateTime64` false on servers that lack it (timestamps are DateTime there). */
  | {readonly kind: 'table'; readonly table: string; readonly dateTime64: boolean}
  /** JSONEachRow spool segments read with file() (chDB); `allowErrors` lines may fail to parse (a segment's torn last line). */
  | {readonly kind: 'files'; readonly glob: string; readonly allowErrors?: number}

export type SqlParam = string | number | readonly string[]

export interface BuiltSql {
  readonly sql: string
  readonly params: Readonly<Record<string, SqlParam>>
}

export interface QuerySpec {
  readonly filter: CdrFilter
  readonly order: CdrOrder
  readonly limit: number
  /** Continue after this row, in `order`: the next page of a previous query. */
  readonly after?: CdrCursor
}

export interface StatsSpec {
  readonly filter: CdrFilter
  readonly groupBy: CdrGroupBy
  /** IANA name for the day and hour buckets (`UTC`, or this machine's zone with --local). */
  readonly timeZone: string
}

/** A stats row: the group's key under the name of its grouping, then the carrier figures. */
export interface CdrStatsRow {
  readonly tenant_id?: string
  readonly trunk_id?: string
  /** `YYYY-MM-DD` in the bucket time zone. */
  readonly day?: string
  /** `YYYY-MM-DD HH:00` in the bucket time zone. */
  readonly hour?: string
  readonly calls: number
  readonly answered: number
  /** Answer-seizure ratio: answered / calls (0 to 1). */
  readonly asr: number
  /** Average call duration: mean duration_seconds of answered calls; null with none answered. */
  readonly acd_seconds: number | null
  /** Billable minutes: sum(duration_seconds) / 60. */
  readonly minutes: number
  /** Answered calls that carried media (packets_received > 0): the MOS figures are over these. */
  readonly mos_calls: number
  readonly mean_mos: number | null
  /** Share (0 to 1) of mos_calls with an estimated MOS below 3.5. */
  readonly below_3_5_share: number | null
}

export const STATS_KEYS: Readonly<Record<CdrGroupBy, 'tenant_id' | 'trunk_id' | 'day' | 'hour'>> = {tenant: 'tenant_id', trunk: 'trunk_id', day: 'day', hour: 'hour'}
export const STATS_FIGURES = ['calls', 'answered', 'asr', 'acd_seconds', 'minutes', 'mos_calls', 'mean_mos', 'below_3_5_share'] as const

/** MOS below this is a poor call (ITU-T G.107: "many users dissatisfied" starts at 3.6). */
export const POOR_MOS = 3.5

const TIMESTAMPS = ['start_timestamp_ms', 'answer_timestamp_ms', 'end_timestamp_ms'] as const
type TimestampColumn = (typeof TIMESTAMPS)[number]
const isTimestamp = (column: string): column is TimestampColumn => (TIMESTAMPS as readonly string[]).includes(column)


const usesDateTime64 = (source: CdrSource): boolean => source.kind === 'files' || source.dateTime64

const fromClause = (source: CdrSource): string =>
  source.kind === 'table' ? source.table : `file({p_glob:String}, 'JSONEachRow', ${stringLiteral(cdrStructure())})`

const sourceParams = (source: CdrSource): Record<string, SqlParam> => (source.kind === 'files' ? {p_glob: source.glob} : {})

/** Settings in the text: only for the files, whose ISO timestamps need best_effort parsing; all constants. */
const settingsClause = (source: CdrSource): string => {
  if (source.kind === 'table') return ''
  const settings = ["date_time_input_format = 'best_effort'", "session_timezone = 'UTC'", 'output_format_json_quote_64bit_integers = 0']
  if (source.allowErrors !== undefined && source.allowErrors > 0) settings.push(`input_format_allow_errors_num = ${Math.floor(source.allowErrors)}`)
  return `\nSETTINGS ${settings.join(', ')}`
}

/** Epoch ms of a timestamp column, whatever its type (DateTime64(3), or DateTime on old servers). */
const epochMs = (source: CdrSource, expression: string): string =>
  usesDateTime64(source) ? `toUnixTimestamp64Milli(toDateTime64(${expression}, 3))` : `toUInt64(toUnixTimestamp(${expression})) * 1000`

/** The instant of an epoch-ms parameter, comparable with a timestamp column. */
const instant = (source: CdrSource, param: string): string =>
  usesDateTime64(source) ? `fromUnixTimestamp64Milli({${param}:Int64})` : `toDateTime(intDiv({${param}:Int64}, 1000))`

const MEDIA = 'answer_timestamp_ms IS NOT NULL AND packets_received > 0'

/** The WHERE conditions of a filter, with their parameters. */
export const whereClause = (
  filter: CdrFilter,
  source: CdrSource,
  extra: {readonly conditions: readonly string[]; readonly params: Readonly<Record<string, SqlParam>>} = {conditions: [], params: {}},
): {readonly sql: string; readonly params: Record<string, SqlParam>} => {
  const conditions: string[] = [...extra.conditions]
  const params: Record<string, SqlParam> = {...extra.params}
  const add = (condition: string, name: string, value: SqlParam) => {
    conditions.push(condition)
    params[name] = value
  }
  if (filter.tenant !== undefined) add('tenant_id = {p_tenant:String}', 'p_tenant', filter.tenant)
  if (filter.trunk !== undefined) add('trunk_id = {p_trunk:String}', 'p_trunk', filter.trunk)
  if (filter.sinceMs !== undefined) add(`start_timestamp_ms >= ${instant(source, 'p_since')}`, 'p_since', filter.sinceMs)
  if (filter.untilMs !== undefined) add(`start_timestamp_ms < ${instant(source, 'p_until')}`, 'p_until', filter.untilMs)
  if (filter.statuses !== undefined && filter.statuses.length > 0) add('status IN {p_statuses:Array(String)}', 'p_statuses', [...filter.statuses])
  if (filter.direction !== undefined) add('direction = {p_direction:String}', 'p_direction', filter.direction)
  if (filter.fromPrefix !== undefined) add('startsWith(from_number, {p_from:String})', 'p_from', filter.fromPrefix)
  if (filter.toPrefix !== undefined) add('startsWith(to_number, {p_to:String})', 'p_to', filter.toPrefix)
  if (filter.callSid !== undefined) add('call_sid = {p_call_sid:String}', 'p_call_sid', filter.callSid)
  if (filter.agent !== undefined) add('agent_id = {p_agent:String}', 'p_agent', filter.agent)
  // A call without media has MOS 0, which is no measurement: MOS bounds look at calls that carried media only.
  // The bounds are compared as Float32, the column's type, so `--min-mos 3.3` keeps a call whose MOS reads 3.3.
  if (filter.minMos !== undefined || filter.maxMos !== undefined) conditions.push('packets_received > 0')
  if (filter.minMos !== undefined) add('estimated_mos >= toFloat32({p_min_mos:Float64})', 'p_min_mos', filter.minMos)
  if (filter.maxMos !== undefined) add('estimated_mos <= toFloat32({p_max_mos:Float64})', 'p_max_mos', filter.maxMos)
  return {sql: conditions.length === 0 ? '' : `\nWHERE ${conditions.join('\n  AND ')}`, params}
}

/**
 * `cdr query`: the 21 CDR columns of the newest (or oldest) matching calls,
 * timestamps as epoch ms. The inner query picks the rows (top-N by start time,
 * call_sid breaking ties, past `after` when paging); the outer one converts the timestamps under their
 * own names, which an alias in the same SELECT could not do without shadowing
 * the columns the WHERE reads.
 */
export const buildCdrQuery = (spec: QuerySpec, source: CdrSource): BuiltSql => {
  const direction = spec.order === 'newest' ? 'DESC' : 'ASC'
  // Keyset paging: rows strictly past the cursor in the same (start time, call sid) order, so a page never repeats or skips a row.
  const past = direction === 'DESC' ? '<' : '>'
  const after = spec.after === undefined
    ? undefined
    : {
        conditions: [`(start_timestamp_ms ${past} ${instant(source, 'p_after_ms')} OR (start_timestamp_ms = ${instant(source, 'p_after_ms')} AND call_sid ${past} {p_after_sid:String}))`],
        params: {p_after_ms: spec.after.startMs, p_after_sid: spec.after.callSid},
      }
  const where = whereClause(spec.filter, source, after)
  const inner = CDR_COLUMNS.map((column) => (isTimestamp(column) ? `${column} AS _${column}` : column)).join(', ')
  const outer = CDR_COLUMNS.map((column) => (isTimestamp(column) ? `${epochMs(source, `_${column}`)} AS ${column}` : column)).join(',\n  ')
  const sql = `SELECT
  ${outer}
FROM
(
  SELECT ${inner}
  FROM ${fromClause(source)}${where.sql.replace(/\n/g, '\n  ')}
  ORDER BY start_timestamp_ms ${direction}, call_sid ${direction}
  LIMIT {p_limit:UInt32}
)
ORDER BY start_timestamp_ms ${direction}, call_sid ${direction}${settingsClause(source)}`
  return {sql, params: {...sourceParams(source), ...where.params, p_limit: spec.limit}}
}

const groupKey = (groupBy: CdrGroupBy): string => {
  switch (groupBy) {
    case 'tenant':
      return 'tenant_id'
    case 'trunk':
      return 'trunk_id'
    case 'day':
      return "formatDateTime(toStartOfDay(start_timestamp_ms, {p_tz:String}), '%Y-%m-%d', {p_tz:String}) AS day"
    case 'hour':
      return "formatDateTime(toStartOfHour(start_timestamp_ms, {p_tz:String}), '%Y-%m-%d %H:00', {p_tz:String}) AS hour"
  }
}

/**
 * `cdr stats`: one row per tenant, trunk, day or hour (ascending), with the
 * carrier figures of CdrStatsRow. ASR counts a call as answered when it has an
 * answer time; ACD, mean MOS and the share below 3.5 are null for a group with
 * nothing to average.
 */
export const buildCdrStats = (spec: StatsSpec, source: CdrSource): BuiltSql => {
  const where = whereClause(spec.filter, source)
  const key = STATS_KEYS[spec.groupBy]
  const sql = `SELECT
  ${groupKey(spec.groupBy)},
  count() AS calls,
  countIf(answer_timestamp_ms IS NOT NULL) AS answered,
  answered / calls AS asr,
  if(answered > 0, sumIf(duration_seconds, answer_timestamp_ms IS NOT NULL) / answered, NULL) AS acd_seconds,
  sum(duration_seconds) / 60 AS minutes,
  countIf(${MEDIA}) AS mos_calls,
  if(mos_calls > 0, sumIf(toFloat64(estimated_mos), ${MEDIA}) / mos_calls, NULL) AS mean_mos,
  if(mos_calls > 0, countIf(${MEDIA} AND estimated_mos < ${POOR_MOS}) / mos_calls, NULL) AS below_3_5_share
FROM ${fromClause(source)}${where.sql}
GROUP BY ${key}
ORDER BY ${key} ASC${settingsClause(source)}`
  const tz: Record<string, SqlParam> = spec.groupBy === 'day' || spec.groupBy === 'hour' ? {p_tz: spec.timeZone} : {}
  return {sql, params: {...sourceParams(source), ...where.params, ...tz}}
}
