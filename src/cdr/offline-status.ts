// `cdr status` with the daemon stopped: what the spool on disk says. Operators
// ask "is anything stuck?" most often when the gateway is down.
import type {CdrJournalStatus, CdrStatus} from '../admin/protocol.js'
import type {Config} from '../config/schema.js'
import {journalContents, readJournalFiles} from './journal-files.js'
import {journalPath} from './journal-format.js'
import {countLines, listSegments, peekLine, readSpoolState, segmentPath} from './spool-files.js'
import {statSync} from 'node:fs'

/** What the journal on disk holds: the calls the next start recovers unless the spool has their rows. */
const offlineJournalStatus = (journalDir: string): CdrJournalStatus => {
  const path = journalPath(journalDir)
  try {
    const files = readJournalFiles(journalDir)
    return {path, bytes: files.reduce((total, file) => total + file.bytes.length, 0), calls: journalContents(files).calls.size, recoveredAtStart: null}
  } catch {
    return {path, bytes: 0, calls: null, recoveredAtStart: null}
  }
}

export const offlineCdrStatus = (config: Config['cdr'], spoolDir: string, journalDir: string): CdrStatus => {
  const segments = listSegments(spoolDir)
  const bytes = segments.reduce((total, segment) => total + statSync(segmentPath(spoolDir, segment)).size, 0)
  const clickhouse = config.clickhouse
  let pendingRows = 0
  let oldestPendingAt: string | null = null
  if (clickhouse && segments.length > 0) {
    const acked = readSpoolState(spoolDir)?.acked ?? {segment: segments[0] ?? 1, offset: 0}
    pendingRows = countLines(spoolDir, acked)
    const first = pendingRows > 0 ? peekLine(spoolDir, acked) : undefined
    if (first !== undefined) {
      try {
        const end = (JSON.parse(first) as {end_timestamp_ms?: unknown}).end_timestamp_ms
        oldestPendingAt = typeof end === 'string' ? end : null
      } catch {
        oldestPendingAt = null
      }
    }
  }
  return {
    enabled: config.enabled,
    store: !config.enabled ? 'off' : clickhouse ? 'clickhouse' : 'embedded',
    target: !config.enabled ? null : clickhouse ? `${clickhouse.url} ${clickhouse.database}.${clickhouse.table}` : spoolDir,
    spoolDir,
    spool: {segments: segments.length, bytes},
    pendingRows,
    oldestPendingAt,
    lastSuccessAt: null,
    lastError: null,
    nextRetryAt: null,
    rowsWritten: 0,
    batchesWritten: 0,
    failedAttempts: 0,
    dedup: null,
    nodeColumn: null,
    ...(config.enabled && config.journal.enabled ? {journal: offlineJournalStatus(journalDir)} : {}),
  }
}
