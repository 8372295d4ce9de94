// `cdr status` and `cdr flush` for a human: one key/value block.
import type {CdrStatus} from '../../admin/protocol.js'
import {keyValues} from './format.js'

const bytesText = (bytes: number): string => (bytes < 1024 ? `${bytes} B` : bytes < 1024 ** 2 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`)

export const cdrStatusBlock = (status: CdrStatus, daemon: 'running' | 'stopped'): string => {
  const pairs: Array<readonly [string, string | number]> = [
    ['Store', status.store === 'clickhouse' ? 'ClickHouse' : status.store === 'embedded' ? 'embedded (spool queried with chDB)' : 'off (cdr.enabled: false)'],
    ['Target', status.target ?? '-'],
    ['Daemon', daemon],
    ['Spool', `${status.spoolDir} (${status.spool.segments} segment(s), ${bytesText(status.spool.bytes)})`],
  ]
  if (status.store === 'clickhouse') {
    pairs.push(['Pending rows', status.pendingRows], ['Oldest pending', status.oldestPendingAt ?? '-'])
    if (daemon === 'running') {
      pairs.push(
        ['Last success', status.lastSuccessAt ?? 'never (since start)'],
        ['Last error', status.lastError ? `${status.lastError.at} ${status.lastError.code}: ${status.lastError.message}` : 'none'],
        ['Next retry', status.nextRetryAt ?? '-'],
        ['Written', `${status.rowsWritten} row(s) in ${status.batchesWritten} batch(es) since start, ${status.failedAttempts} failed attempt(s)`],
        ['Duplicate guard', status.dedup === 'token' ? 'insert_deduplication_token' : status.dedup === 'verify' ? 'check call_sids before a retry' : 'not known until ClickHouse answers'],
      )
    }
  } else if (status.store === 'embedded' && daemon === 'running') {
    pairs.push(['Stored', `${status.rowsWritten} row(s) since start`], ['Last error', status.lastError ? `${status.lastError.at}: ${status.lastError.message}` : 'none'])
  }
  const journal = status.journal
  if (journal) {
    const held = journal.calls === null ? 'unreadable' : daemon === 'running' ? `${journal.calls} call(s) journaled` : `${journal.calls} call(s) for the next start to recover, less any whose row is in the spool`
    const recovered = journal.recoveredAtStart === null ? '' : `; ${journal.recoveredAtStart} CDR(s) recovered at start`
    pairs.push(['Journal', `${journal.path} (${held}, ${bytesText(journal.bytes)}${recovered})`])
  }
  return keyValues(pairs)
}
