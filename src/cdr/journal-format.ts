// The active-call journal on disk: what lets a gateway that died (SIGKILL,
// power loss) still write exactly one CDR for every call that was connected.
//
//   journal/active-calls.log    one record per line: `<crc32, 8 hex> <json>\n`
//
// Records (the JSON):
//   {"kind":"answer","call":{…}}                    a call is connected (written before its 200 OK leaves)
//   {"kind":"checkpoint","at_ms":…,"calls":[{…}]}   every connected call, complete: it replaces what came before
//   {"kind":"end","call_sids":[…]}                  these calls' CDRs are durable in the CDR spool
//
// The CRC covers the JSON bytes, so a write torn by a crash (or a damaged
// block) is detected, skipped, and does not hide the whole lines around it.
// Shared by the daemon (writes and recovers it) and anyone who inspects it.
import {join} from 'node:path'
import {crc32} from '../crc32.js'
import type {CdrRecord} from './record.js'
import {CALL_SID_PATTERN} from './record.js'

export const JOURNAL_FILE = 'active-calls.log'
export const journalPath = (journalDir: string): string => join(journalDir, JOURNAL_FILE)
/** A compaction in progress writes here, then renames it over the journal. */
export const compactingPath = (journalDir: string): string => join(journalDir, `${JOURNAL_FILE}.compacting`)

/** Every CDR field known while a call is up, and when it was last known to be up. */
export type JournaledCall = Pick<
  CdrRecord,
  'call_sid' | 'tenant_id' | 'trunk_id' | 'direction' | 'from_number' | 'to_number' | 'start_timestamp_ms' | 'codec' | 'packets_sent' | 'packets_received' | 'packets_lost' | 'bytes_sent' | 'jitter_ms' | 'estimated_mos' | 'recording_url' | 'agent_id'
> & {
  /** Connected calls only: always set. */
  readonly answer_timestamp_ms: number
  /** The last moment the gateway knew the call to be connected (its answer, then each checkpoint), epoch ms. */
  readonly last_seen_ms: number
}

export type JournalRecord =
  | {readonly kind: 'answer'; readonly call: JournaledCall}
  | {readonly kind: 'checkpoint'; readonly at_ms: number; readonly calls: readonly JournaledCall[]}
  | {readonly kind: 'end'; readonly call_sids: readonly string[]}

const NEWLINE = 0x0a
const SPACE = 0x20
/** The CRC's eight hex digits and a space, before the JSON. */
const PREFIX_LENGTH = 9

/** One record as its line, newline included. */
export const encodeRecord = (record: JournalRecord): Buffer => {
  // One buffer for the whole line (this runs once per answered call): the CRC is filled in over its JSON part.
  const line = Buffer.from(`00000000 ${JSON.stringify(record)}\n`)
  line.write(crc32(line, PREFIX_LENGTH, line.length - 1).toString(16).padStart(8, '0'), 0, 'latin1')
  return line
}

/** Bytes of the file that are not a whole, valid record. */
export interface DamagedRange {
  readonly offset: number
  readonly length: number
  readonly reason: 'torn' | 'crc' | 'format'
}

export interface DecodedJournal {
  readonly records: JournalRecord[]
  readonly damaged: DamagedRange[]
}

const HEX = /^[0-9a-f]{8}$/

/** Every whole record of a journal file; what is not one is reported, never thrown. */
export const decodeJournal = (bytes: Buffer): DecodedJournal => {
  const records: JournalRecord[] = []
  const damaged: DamagedRange[] = []
  let start = 0
  while (start < bytes.length) {
    const newline = bytes.indexOf(NEWLINE, start)
    if (newline === -1) {
      // The last write was cut short (a crash mid-write): no newline, so no record.
      damaged.push({offset: start, length: bytes.length - start, reason: 'torn'})
      break
    }
    const problem = decodeLine(bytes, start, newline, records)
    if (problem !== undefined) damaged.push({offset: start, length: newline + 1 - start, reason: problem})
    start = newline + 1
  }
  return {records, damaged}
}

const decodeLine = (bytes: Buffer, start: number, end: number, records: JournalRecord[]): 'crc' | 'format' | undefined => {
  if (end - start < PREFIX_LENGTH + 2 || bytes[start + 8] !== SPACE) return 'format'
  const stored = bytes.toString('latin1', start, start + 8)
  if (!HEX.test(stored)) return 'format'
  if (Number.parseInt(stored, 16) !== crc32(bytes, start + PREFIX_LENGTH, end)) return 'crc'
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8', start + PREFIX_LENGTH, end))
  } catch {
    return 'format'
  }
  const record = asRecord(value)
  if (record === undefined) return 'format'
  records.push(record)
  return undefined
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)
const STRING_FIELDS = ['tenant_id', 'trunk_id', 'from_number', 'to_number', 'codec', 'recording_url', 'agent_id'] as const
const NUMBER_FIELDS = ['start_timestamp_ms', 'answer_timestamp_ms', 'packets_sent', 'packets_received', 'packets_lost', 'bytes_sent', 'jitter_ms', 'estimated_mos', 'last_seen_ms'] as const

/** A call as a record must carry it; a CRC-valid line of another shape (another version, a hand edit) is refused, not guessed at. */
const isJournaledCall = (value: unknown): value is JournaledCall =>
  isObject(value) &&
  typeof value.call_sid === 'string' &&
  CALL_SID_PATTERN.test(value.call_sid) &&
  (value.direction === 'inbound' || value.direction === 'outbound') &&
  STRING_FIELDS.every((field) => typeof value[field] === 'string') &&
  NUMBER_FIELDS.every((field) => Number.isFinite(value[field]))

const asRecord = (value: unknown): JournalRecord | undefined => {
  if (!isObject(value)) return undefined
  switch (value.kind) {
    case 'answer':
      return isJournaledCall(value.call) ? {kind: 'answer', call: value.call} : undefined
    case 'checkpoint':
      return Number.isFinite(value.at_ms) && Array.isArray(value.calls) && value.calls.every(isJournaledCall)
        ? {kind: 'checkpoint', at_ms: value.at_ms as number, calls: value.calls}
        : undefined
    case 'end':
      return Array.isArray(value.call_sids) && value.call_sids.every((sid) => typeof sid === 'string' && CALL_SID_PATTERN.test(sid))
        ? {kind: 'end', call_sids: value.call_sids as string[]}
        : undefined
    default:
      return undefined
  }
}

/** The calls still connected after these records, in order: answers add, a checkpoint replaces all, ends remove. */
export const replayJournal = (records: Iterable<JournalRecord>, into = new Map<string, JournaledCall>()): Map<string, JournaledCall> => {
  for (const record of records) {
    if (record.kind === 'answer') into.set(record.call.call_sid, record.call)
    else if (record.kind === 'checkpoint') {
      into.clear()
      for (const call of record.calls) into.set(call.call_sid, call)
    } else for (const sid of record.call_sids) into.delete(sid)
  }
  return into
}
