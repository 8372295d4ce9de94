// `cdr status` with the daemon stopped: what the spool on disk says. Operators
// ask "is anything stuck?" most often when the gateway is down.
import type {CdrStatus} from '../admin/protocol.js'
import type {Config} from '../config/schema.js'
import {countLines, listSegments, peekLine, readSpoolState, segmentPath} from './spool-files.js'
import {statSync} from 'node:fs'

export const offlineCdrStatus = (config: Config['cdr'], spoolDir: string): CdrStatus => {
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
  }
}
