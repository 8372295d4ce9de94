// Reading the journal files of a home: the daemon's recovery at start and
// `cdr status` with the daemon stopped ask the same question — which calls
// does the journal still hold?
import {readFileSync} from 'node:fs'
import {CCError} from '../errors.js'
import {compactingPath, decodeJournal, journalPath, replayJournal, type DamagedRange, type JournaledCall} from './journal-format.js'

export interface JournalFile {
  readonly path: string
  readonly bytes: Buffer
}

/** The journal and, after a crash during compaction, its `.compacting` successor; absent files are skipped. */
export const readJournalFiles = (journalDir: string): JournalFile[] => {
  const files: JournalFile[] = []
  for (const path of [journalPath(journalDir), compactingPath(journalDir)]) {
    try {
      files.push({path, bytes: readFileSync(path)})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw new CCError('CC_ERR_CDR_JOURNAL', {path, detail: error instanceof Error ? error.message : String(error)}, {cause: error})
    }
  }
  return files
}

export interface JournalContents {
  /** Calls answered and not ended: each gets a CDR at the next start unless the spool has its row. */
  readonly calls: Map<string, JournaledCall>
  readonly damaged: Array<DamagedRange & {readonly file: string}>
}

/** The calls the files leave connected, merged: a call counts if either file has it and neither ended it. */
export const journalContents = (files: readonly JournalFile[]): JournalContents => {
  const calls = new Map<string, JournaledCall>()
  const ended = new Set<string>()
  const damaged: Array<DamagedRange & {file: string}> = []
  // Both files exist only after a crash during compaction; which one was current is unknown, so the union
  // is taken. That is safe: a call in it that had ended has its row in the spool, which recovery checks.
  for (const file of files) {
    const decoded = decodeJournal(file.bytes)
    damaged.push(...decoded.damaged.map((range) => ({...range, file: file.path})))
    for (const record of decoded.records) if (record.kind === 'end') for (const sid of record.call_sids) ended.add(sid)
    for (const [sid, call] of replayJournal(decoded.records)) {
      const known = calls.get(sid)
      if (!known || known.last_seen_ms < call.last_seen_ms) calls.set(sid, call)
    }
  }
  for (const sid of ended) calls.delete(sid)
  return {calls, damaged}
}
