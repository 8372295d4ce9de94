// The ClickHouse side of the CDR (DESIGN §8): each column's type, and the
// JSONEachRow line that carries one record. The same line is written to the
// local spool, sent to ClickHouse, and read back by chDB for the embedded
// store, so there is one encoding of a CDR on the wire and on disk.
import {CDR_COLUMNS, type CdrRecord} from './record.js'

type CdrColumn = (typeof CDR_COLUMNS)[number]

/** Column types exactly as DESIGN §8 names them. */
export const CDR_COLUMN_TYPES: Readonly<Record<CdrColumn, string>> = {
  call_sid: 'String',
  tenant_id: 'LowCardinality(String)',
  trunk_id: 'LowCardinality(String)',
  direction: "Enum8('outbound' = 1, 'inbound' = 2)",
  from_number: 'String',
  to_number: 'String',
  start_timestamp_ms: 'DateTime64(3)',
  answer_timestamp_ms: 'Nullable(DateTime64(3))',
  end_timestamp_ms: 'DateTime64(3)',
  duration_seconds: 'UInt32',
  q850_cause: 'UInt16',
  status: 'LowCardinality(String)',
  codec: 'LowCardinality(String)',
  packets_sent: 'UInt32',
  packets_received: 'UInt32',
  packets_lost: 'UInt32',
  bytes_sent: 'UInt64',
  jitter_ms: 'Float32',
  estimated_mos: 'Float32',
  recording_url: 'String',
  agent_id: 'LowCardinality(String)',
}

/** The three timestamp columns: epoch ms in a CdrRecord, ISO-8601 UTC strings on the wire. */
export const CDR_TIMESTAMP_COLUMNS = ['start_timestamp_ms', 'answer_timestamp_ms', 'end_timestamp_ms'] as const

/** `name Type, …`: the structure argument of chDB's file() table function. */
export const cdrStructure = (types: Readonly<Record<CdrColumn, string>> = CDR_COLUMN_TYPES): string =>
  CDR_COLUMNS.map((column) => `${column} ${types[column]}`).join(', ')

/** One CDR as it travels: timestamps as ISO-8601 UTC with milliseconds, which every ClickHouse version parses with best_effort. */
export type CdrRow = Omit<CdrRecord, (typeof CDR_TIMESTAMP_COLUMNS)[number]> & {
  readonly start_timestamp_ms: string
  readonly answer_timestamp_ms: string | null
  readonly end_timestamp_ms: string
}

export const toCdrRow = (record: CdrRecord): CdrRow => {
  const row = {} as Record<CdrColumn, unknown>
  for (const column of CDR_COLUMNS) row[column] = record[column]
  row.start_timestamp_ms = new Date(record.start_timestamp_ms).toISOString()
  row.answer_timestamp_ms = record.answer_timestamp_ms === null ? null : new Date(record.answer_timestamp_ms).toISOString()
  row.end_timestamp_ms = new Date(record.end_timestamp_ms).toISOString()
  return row as CdrRow
}

/** The JSONEachRow line (with its newline) of one record, columns in DESIGN order. */
export const cdrLine = (record: CdrRecord): string => `${JSON.stringify(toCdrRow(record))}\n`

/** Settings every CDR insert carries: ISO timestamps parse on every server version. */
export const CDR_INSERT_SETTINGS = {date_time_input_format: 'best_effort'} as const
