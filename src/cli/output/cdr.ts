// How `cdr query` and `cdr stats` print: a cli-table3 table for a person, and
// JSON, NDJSON or CSV for a program. The machine formats carry the values as
// the JSON envelope does (timestamps in epoch milliseconds, ratios from 0 to 1);
// only the table rounds and converts. Each format is produced as a sequence of
// chunks, so a million rows never have to be one string.
import Table, {type HorizontalAlignment} from 'cli-table3'
import type {CdrRecord} from '../../cdr/record.js'
import {CDR_COLUMNS} from '../../cdr/record.js'
import type {CdrFormat, CdrGroupBy} from '../../cdr/filters.js'
import {STATS_FIGURES, STATS_KEYS, type CdrStatsRow} from '../../cdr/query-sql.js'
import {formatDuration} from './format.js'

const two = (value: number): string => String(value).padStart(2, '0')

/** `2026-03-01 09:30:05` in UTC or in this machine's time zone. */
export const formatTimestamp = (timestampMs: number, utc: boolean): string => {
  const at = new Date(timestampMs)
  return utc
    ? `${at.getUTCFullYear()}-${two(at.getUTCMonth() + 1)}-${two(at.getUTCDate())} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}`
    : `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
}

const fixed = (value: number | null, digits: number): string => (value === null || !Number.isFinite(value) ? '-' : value.toFixed(digits))

interface Column {
  readonly head: string
  /** Longest a cell may be before it is cut with …; ids and numbers are rarely longer. */
  readonly max?: number
  readonly align?: HorizontalAlignment
}

/** A table whose columns are as wide as their content, capped where ids can be long. */
const sizedTable = (columns: readonly Column[], rows: ReadonlyArray<readonly string[]>): string => {
  const widths = columns.map((column, index) => {
    const natural = Math.max(column.head.length, ...rows.map((row) => (row[index] ?? '').length))
    return Math.min(natural, column.max ?? natural) + 2
  })
  const rendered = new Table({
    head: columns.map((column) => column.head),
    colWidths: widths,
    colAligns: columns.map((column) => column.align ?? 'left'),
    // No rule between rows: a long list stays one line per call.
    style: {head: [], border: [], compact: true},
  })
  for (const row of rows) rendered.push([...row])
  return rendered.toString()
}

/** Loss as a percentage of the packets expected (received + lost). */
const lossPercent = (record: CdrRecord): number | null =>
  record.packets_received + record.packets_lost === 0 ? null : (record.packets_lost / (record.packets_received + record.packets_lost)) * 100

export const cdrTableColumns = (utc: boolean): Column[] => [
  {head: 'call sid'},
  {head: utc ? 'time (UTC)' : 'time'},
  {head: 'tenant', max: 16},
  {head: 'trunk', max: 16},
  {head: 'dir'},
  {head: 'from', max: 18},
  {head: 'to', max: 18},
  {head: 'status'},
  {head: 'cause', align: 'right'},
  {head: 'duration', align: 'right'},
  {head: 'codec', max: 8},
  {head: 'loss %', align: 'right'},
  {head: 'jitter ms', align: 'right'},
  {head: 'MOS', align: 'right'},
]

/** One table row of a CDR: quality shows `-` for a call that received no media. */
export const cdrTableRow = (record: CdrRecord, utc: boolean): string[] => {
  const media = record.packets_received > 0
  return [
    record.call_sid,
    formatTimestamp(record.start_timestamp_ms, utc),
    record.tenant_id,
    record.trunk_id,
    record.direction === 'inbound' ? 'in' : 'out',
    record.from_number,
    record.to_number,
    record.status,
    String(record.q850_cause),
    formatDuration(record.duration_seconds),
    record.codec === '' ? '-' : record.codec,
    media ? fixed(lossPercent(record), 1) : '-',
    media ? fixed(record.jitter_ms, 1) : '-',
    media ? fixed(record.estimated_mos, 2) : '-',
  ]
}

/** `cdr query` as a table: start time in local time, or UTC with --utc. */
export const cdrTable = (records: readonly CdrRecord[], utc: boolean): string =>
  sizedTable(
    cdrTableColumns(utc),
    records.map((record) => cdrTableRow(record, utc)),
  )

const percent = (ratio: number | null): string => (ratio === null ? '-' : (ratio * 100).toFixed(1))

/** `cdr stats` as a table; day and hour headings name the time zone of the buckets. */
export const cdrStatsTable = (rows: readonly CdrStatsRow[], groupBy: CdrGroupBy, timeZone: string): string => {
  const key = STATS_KEYS[groupBy]
  const columns: Column[] = [
    {head: groupBy === 'day' || groupBy === 'hour' ? `${groupBy} (${timeZone})` : groupBy, max: 24},
    {head: 'calls', align: 'right'},
    {head: 'answered', align: 'right'},
    {head: 'ASR %', align: 'right'},
    {head: 'ACD', align: 'right'},
    {head: 'minutes', align: 'right'},
    {head: 'MOS calls', align: 'right'},
    {head: 'mean MOS', align: 'right'},
    {head: 'MOS < 3.5 %', align: 'right'},
  ]
  return sizedTable(
    columns,
    rows.map((row) => [
      row[key] ?? '',
      String(row.calls),
      String(row.answered),
      percent(row.asr),
      row.acd_seconds === null ? '-' : formatDuration(row.acd_seconds),
      row.minutes.toFixed(1),
      String(row.mos_calls),
      fixed(row.mean_mos, 2),
      percent(row.below_3_5_share),
    ]),
  )
}

/** One CSV field, quoted per RFC 4180 when it holds a comma, a quote, CR or LF. */
export const csvField = (value: unknown): string => {
  if (value === null || value === undefined) return ''
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** RFC 4180 lines end in CRLF. */
const csvLine = (values: readonly unknown[]): string => `${values.map(csvField).join(',')}\r\n`

const ROWS_PER_CHUNK = 1000

/** The rows in a machine format, in chunks: `json` a JSON array (one row per line), `ndjson` one object per line, `csv` a header row and one line per row. */
export function* machineRows<T extends object>(rows: readonly T[], format: Exclude<CdrFormat, 'table'>, columns: readonly string[]): Generator<string> {
  if (format === 'json' && rows.length === 0) {
    yield '[]\n'
    return
  }
  if (format === 'csv') yield csvLine(columns)
  for (let start = 0; start < rows.length; start += ROWS_PER_CHUNK) {
    let chunk = ''
    for (let index = start; index < Math.min(rows.length, start + ROWS_PER_CHUNK); index++) {
      const row = rows[index] as Record<string, unknown>
      if (format === 'csv') chunk += csvLine(columns.map((column) => row[column]))
      else if (format === 'ndjson') chunk += `${JSON.stringify(row)}\n`
      else chunk += `${index === 0 ? '[\n' : ',\n'}${JSON.stringify(row)}`
    }
    yield chunk
  }
  if (format === 'json') yield '\n]\n'
}

/** The CSV header of `cdr query`: the 21 CDR columns in DESIGN order. */
export const CDR_CSV_COLUMNS: readonly string[] = CDR_COLUMNS

/** The CSV header of `cdr stats`: the group's key, then the figures. */
export const statsCsvColumns = (groupBy: CdrGroupBy): string[] => [STATS_KEYS[groupBy], ...STATS_FIGURES]

/** What an empty result says (on stderr): an empty embedded store, or nothing matching the filter. */
export const noCdrsMessage = (answer: {readonly store: string; readonly source: string; readonly sql?: unknown}, describedFilter: string): string => {
  if (answer.store === 'embedded' && answer.sql === undefined) return `No CDRs yet: the embedded store (${answer.source}) has no spool files.`
  return describedFilter === '' ? 'No CDRs.' : `No CDRs match: ${describedFilter}.`
}
