// At start, before any call is taken: every call the journal says was
// connected when the daemon died, and that has no row in the CDR spool, gets
// exactly one CDR (src/cdr/recovered-cdr.ts), appended to the spool and
// fsync'd; ClickHouse gets it through the writer like any other row.
//
// Exactly one, whatever the moment of the crash:
//  - a call leaves the journal (end record) only after its spool row is on
//    disk, so a call without an end record either has no row, or has one that
//    the spool check below finds;
//  - recovered rows are on disk before the journal is replaced (journal.start),
//    so a crash in between finds them in the spool at the next start.
// A damaged or torn journal is read for every whole record; the file is kept
// aside and the log says what was lost.
import {copyFileSync} from 'node:fs'
import type {Logger} from 'pino'
import {cdrLine} from '../../../src/cdr/columns.js'
import {journalContents, readJournalFiles} from '../../../src/cdr/journal-files.js'
import type {DamagedRange} from '../../../src/cdr/journal-format.js'
import type {CdrRecord} from '../../../src/cdr/record.js'
import {recoveredCdr} from '../../../src/cdr/recovered-cdr.js'
import {callSidsInSpool} from '../../../src/cdr/spool-files.js'
import type {CdrSpool} from './spool.js'

/** How far before a call's answer its spool row could sit, in a segment's mtime: wall-clock steps (NTP) included. */
const CLOCK_SLACK_MS = 86_400_000
/** Call sids named in the log line (the rest are counted). */
const LOGGED_SIDS = 100

export interface RecoveryResult {
  /** The CDRs written to the spool. */
  readonly recovered: CdrRecord[]
  /** Calls without an end record whose row the spool already had (the crash came between the two). */
  readonly alreadySpooled: number
  readonly damaged: ReadonlyArray<DamagedRange & {readonly file: string}>
  /** Where a damaged journal was copied, for inspection. */
  readonly keptAside: string[]
}

export const recoverJournal = (options: {readonly journalDir: string; readonly spool: CdrSpool; readonly log: Logger; readonly now?: () => number}): RecoveryResult => {
  const {journalDir, spool, log} = options
  const {calls, damaged} = journalContents(readJournalFiles(journalDir))

  const keptAside: string[] = []
  if (damaged.length > 0) {
    const stamp = new Date(options.now?.() ?? Date.now()).toISOString().replaceAll(':', '-')
    for (const path of new Set(damaged.map((range) => range.file))) {
      const aside = `${path}.damaged-${stamp}`
      try {
        copyFileSync(path, aside)
        keptAside.push(aside)
      } catch (error) {
        log.error({err: error, journal: path}, 'the damaged journal could not be copied aside')
      }
    }
    const lostBytes = damaged.reduce((total, range) => total + range.length, 0)
    const torn = damaged.filter((range) => range.reason === 'torn').length
    log.warn(
      {damagedRecords: damaged.length, tornTail: torn > 0, lostBytes, ranges: damaged.slice(0, 20), keptAside},
      torn === damaged.length
        ? 'the active-call journal ends in a record cut short by a crash; it is ignored, every whole record is recovered'
        : 'the active-call journal has damaged records; they are skipped (a call they alone named gets no recovered CDR), every whole record is recovered',
    )
  }

  if (calls.size === 0) return {recovered: [], alreadySpooled: 0, damaged, keptAside}
  const earliestAnswer = [...calls.values()].reduce((earliest, call) => Math.min(earliest, call.answer_timestamp_ms), Number.POSITIVE_INFINITY)
  const spooled = callSidsInSpool(spool.dir, new Set(calls.keys()), earliestAnswer - CLOCK_SLACK_MS)
  const recovered = [...calls.values()].filter((call) => !spooled.has(call.call_sid)).map(recoveredCdr)
  if (recovered.length > 0) {
    spool.append(recovered.map(cdrLine).join(''))
    spool.syncNow()
  }
  log.warn(
    {recovered: recovered.length, alreadySpooled: spooled.size, callSids: recovered.slice(0, LOGGED_SIDS).map((record) => record.call_sid)},
    `${recovered.length} call(s) connected when the daemon stopped unexpectedly got their CDR from the journal (status failed, cause 41, ending at their last checkpoint)`,
  )
  return {recovered, alreadySpooled: spooled.size, damaged, keptAside}
}
