// The layout of the CDR spool directory, shared by the daemon (which writes it)
// and the CLI (which queries it as the embedded store, and reads its depth when
// the daemon is down).
//
//   cdr-spool/seg-000000000001.ndjson   JSONEachRow lines (src/cdr/columns.ts), appended, rotated
//   cdr-spool/state.json                 what ClickHouse has acknowledged (ClickHouse mode only)
import {closeSync, openSync, readdirSync, readFileSync, readSync, statSync} from 'node:fs'
import {join} from 'node:path'

const SEGMENT_PATTERN = /^seg-(\d{12})\.ndjson$/

export const segmentName = (sequence: number): string => `seg-${String(sequence).padStart(12, '0')}.ndjson`
export const segmentPath = (spoolDir: string, sequence: number): string => join(spoolDir, segmentName(sequence))
export const stateFilePath = (spoolDir: string): string => join(spoolDir, 'state.json')

/** The glob chDB's file() reads for the embedded store: every segment, the active one included. */
export const segmentGlob = (spoolDir: string): string => join(spoolDir, 'seg-*.ndjson')

/** Segment sequence numbers in the spool, oldest first; an absent spool has none. */
export const listSegments = (spoolDir: string): number[] => {
  let names: string[]
  try {
    names = readdirSync(spoolDir)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  }
  return names
    .map((name) => SEGMENT_PATTERN.exec(name)?.[1])
    .filter((digits): digits is string => digits !== undefined)
    .map(Number)
    .sort((a, b) => a - b)
}

/** A byte position in the spool: a segment and an offset in it. */
export interface SpoolPosition {
  readonly segment: number
  readonly offset: number
}

const NEWLINE = 0x0a

const segmentSize = (spoolDir: string, segment: number): number => {
  try {
    return statSync(segmentPath(spoolDir, segment)).size
  } catch {
    return 0
  }
}

/** The first complete line at or after `position`: one small synchronous read. */
export const peekLine = (spoolDir: string, position: SpoolPosition): string | undefined => {
  for (const segment of listSegments(spoolDir)) {
    if (segment < position.segment) continue
    const offset = segment === position.segment ? position.offset : 0
    if (offset >= segmentSize(spoolDir, segment)) continue
    const fd = openSync(segmentPath(spoolDir, segment), 'r')
    try {
      const buffer = Buffer.allocUnsafe(64 * 1024)
      const bytesRead = readSync(fd, buffer, 0, buffer.length, offset)
      const newline = buffer.subarray(0, bytesRead).indexOf(NEWLINE)
      return newline === -1 ? undefined : buffer.toString('utf8', 0, newline)
    } finally {
      closeSync(fd)
    }
  }
  return undefined
}

/** Complete lines from `from` to the end of the spool. */
export const countLines = (spoolDir: string, from: SpoolPosition): number => {
  let count = 0
  for (const segment of listSegments(spoolDir)) {
    if (segment < from.segment) continue
    const fd = openSync(segmentPath(spoolDir, segment), 'r')
    try {
      const buffer = Buffer.allocUnsafe(1024 * 1024)
      let position = segment === from.segment ? from.offset : 0
      for (;;) {
        const bytesRead = readSync(fd, buffer, 0, buffer.length, position)
        if (bytesRead === 0) break
        for (let index = buffer.indexOf(NEWLINE); index !== -1 && index < bytesRead; index = buffer.indexOf(NEWLINE, index + 1)) count += 1
        position += bytesRead
      }
    } finally {
      closeSync(fd)
    }
  }
  return count
}

export interface InflightBatch {
  readonly start: SpoolPosition
  readonly end: SpoolPosition
  readonly rows: number
}

/** What ClickHouse has acknowledged (ClickHouse mode), saved in state.json by the writer. */
export interface SpoolState {
  /** Everything before this position is in ClickHouse. */
  readonly acked: SpoolPosition
  /** A batch that was (or was about to be) sent and not yet acknowledged: it may or may not be in ClickHouse. */
  readonly inflight: InflightBatch | null
}

const isPosition = (value: unknown): value is SpoolPosition =>
  typeof value === 'object' && value !== null && Number.isSafeInteger((value as SpoolPosition).segment) && Number.isSafeInteger((value as SpoolPosition).offset)

/** The saved state, or null for a spool that never sent anything. A corrupt file is an error: guessing could duplicate or skip rows. */
export const readSpoolState = (spoolDir: string): SpoolState | null => {
  let text: string
  try {
    text = readFileSync(stateFilePath(spoolDir), 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
  const parsed = JSON.parse(text) as Partial<SpoolState>
  const inflight = parsed.inflight
  if (!isPosition(parsed.acked) || (inflight !== null && (!inflight || !isPosition(inflight.start) || !isPosition(inflight.end) || !Number.isSafeInteger(inflight.rows)))) {
    throw new Error(`${stateFilePath(spoolDir)} is not a spool state: ${text.slice(0, 200)}`)
  }
  return {acked: parsed.acked, inflight: inflight ?? null}
}

const CALL_SID_PREFIX = Buffer.from('{"call_sid":"')
const CALL_SID_LENGTH = 34

/**
 * Which of `wanted` have a row in the spool segments last written at or after
 * `sinceMs` (a row is appended when its call ends, so older segments cannot
 * hold the row of a call answered later). Every row begins with its call_sid
 * (src/cdr/columns.ts), so this reads line starts only.
 */
export const callSidsInSpool = (spoolDir: string, wanted: ReadonlySet<string>, sinceMs: number): Set<string> => {
  const found = new Set<string>()
  if (wanted.size === 0) return found
  for (const segment of listSegments(spoolDir).reverse()) {
    const path = segmentPath(spoolDir, segment)
    let bytes: Buffer
    try {
      if (statSync(path).mtimeMs < sinceMs) continue
      bytes = readFileSync(path)
    } catch {
      continue
    }
    for (let start = 0; start < bytes.length; ) {
      const sidEnd = start + CALL_SID_PREFIX.length + CALL_SID_LENGTH
      if (sidEnd <= bytes.length && bytes.compare(CALL_SID_PREFIX, 0, CALL_SID_PREFIX.length, start, start + CALL_SID_PREFIX.length) === 0) {
        const sid = bytes.toString('latin1', start + CALL_SID_PREFIX.length, sidEnd)
        if (wanted.has(sid)) found.add(sid)
      }
      const newline = bytes.indexOf(NEWLINE, start)
      if (newline === -1) break
      start = newline + 1
    }
  }
  return found
}
