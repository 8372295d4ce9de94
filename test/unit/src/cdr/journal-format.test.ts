import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {decodeJournal, encodeRecord, replayJournal, type JournaledCall, type JournalRecord} from '../../../../src/cdr/journal-format.js'
import {CDR_COLUMNS} from '../../../../src/cdr/record.js'
import {recoveredCdr} from '../../../../src/cdr/recovered-cdr.js'

const sid = (n: number) => `CA${n.toString(16).padStart(32, '0')}`
const call = (n: number, lastSeenMs = Date.UTC(2026, 11, 5, 1, 0, 10)): JournaledCall => ({
  call_sid: sid(n), tenant_id: 'acme', trunk_id: 'carrier-a', direction: 'inbound', from_number: '+15550001111', to_number: `+1555000${n}`,
  start_timestamp_ms: Date.UTC(2026, 11, 5, 1, 0, 0), answer_timestamp_ms: Date.UTC(2026, 11, 5, 1, 0, 1, 500), codec: 'PCMA',
  packets_sent: 400, packets_received: 398, packets_lost: 2, bytes_sent: 68_800, jitter_ms: 1.25, estimated_mos: 4.38, recording_url: '', agent_id: 'bot',
  last_seen_ms: lastSeenMs,
})

const file = (...records: JournalRecord[]) => Buffer.concat(records.map(encodeRecord))

describe('journal records', () => {
  it('round-trip every kind, one CRC-prefixed line each', () => {
    const records: JournalRecord[] = [
      {kind: 'answer', call: call(1)},
      {kind: 'checkpoint', at_ms: 1_000, calls: [call(1), call(2)]},
      {kind: 'end', call_sids: [sid(1)]},
      {kind: 'checkpoint', at_ms: 2_000, calls: []},
    ]
    const bytes = file(...records)
    const lines = bytes.toString().split('\n')
    assert.equal(lines.length, 5, 'four lines and the empty rest after the last newline')
    for (const line of lines.slice(0, 4)) assert.match(line, /^[0-9a-f]{8} \{"kind":/)
    const decoded = decodeJournal(bytes)
    assert.deepEqual(decoded.records, records)
    assert.deepEqual(decoded.damaged, [])
  })

  it('skips a torn last record (a crash mid-write) and keeps every whole one', () => {
    const whole = file({kind: 'answer', call: call(1)}, {kind: 'answer', call: call(2)})
    const last = encodeRecord({kind: 'answer', call: call(3)})
    for (const cut of [1, 9, 40, last.length - 1]) {
      const decoded = decodeJournal(Buffer.concat([whole, last.subarray(0, cut)]))
      assert.deepEqual(decoded.records.map((record) => record.kind === 'answer' && record.call.call_sid), [sid(1), sid(2)], `cut at ${cut}`)
      assert.deepEqual(decoded.damaged, [{offset: whole.length, length: cut, reason: 'torn'}])
    }
  })

  it('detects a damaged record by its CRC and still reads the records after it', () => {
    const first = encodeRecord({kind: 'answer', call: call(1)})
    const second = encodeRecord({kind: 'answer', call: call(2)})
    const third = encodeRecord({kind: 'end', call_sids: [sid(1)]})
    const damaged = Buffer.from(second)
    // A digit of a counter changes: still valid JSON, so only the CRC can tell.
    const at = damaged.indexOf('398')
    damaged[at] = '7'.charCodeAt(0)
    const decoded = decodeJournal(Buffer.concat([first, damaged, third]))
    assert.deepEqual(decoded.records.map((record) => record.kind), ['answer', 'end'])
    assert.deepEqual(decoded.damaged, [{offset: first.length, length: second.length, reason: 'crc'}])
  })

  it('refuses lines that are not records: no prefix, zeros from a power loss, or a CRC-valid line of another shape', () => {
    const good = encodeRecord({kind: 'answer', call: call(1)})
    const foreign = encodeRecord({kind: 'answer', call: {...call(2), call_sid: 'not-a-sid'}})
    const unknownKind = encodeRecord({kind: 'rewind'} as unknown as JournalRecord)
    const zeros = Buffer.concat([Buffer.alloc(32), Buffer.from('\n')])
    const decoded = decodeJournal(Buffer.concat([Buffer.from('garbage\n'), zeros, foreign, unknownKind, good]))
    assert.equal(decoded.records.length, 1)
    assert.deepEqual(decoded.damaged.map((range) => range.reason), ['format', 'format', 'format', 'format'])
  })

  it('replays to the calls still connected: answers add, a checkpoint replaces everything, ends remove', () => {
    const connected = replayJournal([
      {kind: 'answer', call: call(1)},
      {kind: 'answer', call: call(2)},
      {kind: 'checkpoint', at_ms: 5, calls: [call(2, 99), call(3)]},
      {kind: 'answer', call: call(4)},
      {kind: 'end', call_sids: [sid(3)]},
    ])
    assert.deepEqual([...connected.keys()], [sid(2), sid(4)])
    assert.equal(connected.get(sid(2))?.last_seen_ms, 99, 'the checkpoint figures win')
  })
})

describe('recoveredCdr', () => {
  it('is a complete CDR: failed, cause 41, ending at the last checkpoint, billed from answer to it', () => {
    const record = recoveredCdr(call(7))
    for (const column of CDR_COLUMNS) assert.ok(column in record, column)
    assert.equal(record.status, 'failed')
    assert.equal(record.q850_cause, 41)
    assert.equal(record.end_timestamp_ms, Date.UTC(2026, 11, 5, 1, 0, 10))
    assert.equal(record.duration_seconds, 9, '8.5 s from answer to the last checkpoint, rounded like every CDR')
    assert.equal(record.answer_timestamp_ms, Date.UTC(2026, 11, 5, 1, 0, 1, 500))
    assert.equal(record.packets_received, 398)
    assert.equal(record.agent_id, 'bot')
  })

  it('never ends before the answer', () => {
    const record = recoveredCdr({...call(8), last_seen_ms: 0})
    assert.equal(record.end_timestamp_ms, record.answer_timestamp_ms)
    assert.equal(record.duration_seconds, 0)
  })
})
