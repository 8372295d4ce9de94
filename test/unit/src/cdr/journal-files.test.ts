import assert from 'node:assert/strict'
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {journalContents, readJournalFiles} from '../../../../src/cdr/journal-files.js'
import {compactingPath, encodeRecord, journalPath, type JournaledCall} from '../../../../src/cdr/journal-format.js'
import {offlineCdrStatus} from '../../../../src/cdr/offline-status.js'
import type {Config} from '../../../../src/config/schema.js'

let home = ''
let journalDir = ''
beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'cc-journal-files-'))
  journalDir = join(home, 'journal')
  mkdirSync(journalDir)
})
afterEach(() => rmSync(home, {recursive: true, force: true}))

const call = (n: number, lastSeenMs = 1000): JournaledCall => ({
  call_sid: `CA${String(n).padStart(32, '0')}`, tenant_id: 'acme', trunk_id: 'none', direction: 'inbound', from_number: '1', to_number: String(n),
  start_timestamp_ms: 1, answer_timestamp_ms: 2, codec: 'PCMU', packets_sent: 0, packets_received: 0, packets_lost: 0, bytes_sent: 0, jitter_ms: 0,
  estimated_mos: 0, recording_url: '', agent_id: '', last_seen_ms: lastSeenMs,
})

describe('journal files', () => {
  it('read none when there is no journal, and hold no calls', () => {
    rmSync(journalDir, {recursive: true})
    assert.deepEqual(readJournalFiles(journalDir), [])
    assert.equal(journalContents([]).calls.size, 0)
  })

  it('merge the journal and a cut-short compaction: the union, the freshest figures, minus any ended call', () => {
    writeFileSync(journalPath(journalDir), Buffer.concat([encodeRecord({kind: 'answer', call: call(1)}), encodeRecord({kind: 'answer', call: call(2)}), encodeRecord({kind: 'end', call_sids: [call(3).call_sid]})]))
    writeFileSync(compactingPath(journalDir), encodeRecord({kind: 'checkpoint', at_ms: 5000, calls: [call(2, 5000), call(3), call(4)]}))
    const {calls, damaged} = journalContents(readJournalFiles(journalDir))
    assert.deepEqual([...calls.keys()].sort(), [call(1).call_sid, call(2).call_sid, call(4).call_sid])
    assert.equal(calls.get(call(2).call_sid)?.last_seen_ms, 5000)
    assert.deepEqual(damaged, [])
  })
})

describe('offline cdr status', () => {
  const config = (enabled: boolean): Config['cdr'] => ({enabled: true, batch_size: 1000, flush_interval_ms: 1000, retention_days: 90, journal: {enabled, checkpoint_interval_ms: 5000}})

  it('says how many calls the next start recovers, torn tail and all', () => {
    const bytes = Buffer.concat([encodeRecord({kind: 'answer', call: call(1)}), encodeRecord({kind: 'answer', call: call(2)}), encodeRecord({kind: 'end', call_sids: [call(1).call_sid]}), Buffer.from('0123abcd {"kind":"ans')])
    writeFileSync(journalPath(journalDir), bytes)
    const status = offlineCdrStatus(config(true), join(home, 'cdr-spool'), journalDir)
    assert.deepEqual(status.journal, {path: journalPath(journalDir), bytes: bytes.length, calls: 1, recoveredAtStart: null})
    assert.equal(offlineCdrStatus(config(false), join(home, 'cdr-spool'), journalDir).journal, undefined)
  })
})
