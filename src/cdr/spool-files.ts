// The layout of the CDR spool directory, shared by the daemon (which writes it)
// and the CLI (which queries it as the embedded store, and reads its depth when
// the daemon is down).
//
//   cdr-spool/seg-000000000001.ndjson   JSONEachRow lines (src/cdr/columns.ts), appended, rotated
//   cdr-spool/state.json                 what ClickHouse has acknowledged (ClickHouse mode only)
import {readdirSync} from 'node:fs'
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
