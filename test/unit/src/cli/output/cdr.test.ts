import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CdrStatsRow} from '../../../../../src/cdr/query-sql.js'
import {CDR_COLUMNS, type CdrRecord} from '../../../../../src/cdr/record.js'
import {CDR_CSV_COLUMNS, cdrStatsTable, cdrTable, cdrTableRow, csvField, formatTimestamp, machineRows, noCdrsMessage, statsCsvColumns} from '../../../../../src/cli/output/index.js'

const START = Date.UTC(2026, 2, 7, 0, 30, 5, 250)
const RECORD: CdrRecord = {
  call_sid: `CA${'ab'.repeat(16)}`,
  tenant_id: 'acme',
  trunk_id: 'carrier-a',
  direction: 'inbound',
  from_number: '+14155550123',
  to_number: '+4930123456',
  start_timestamp_ms: START,
  answer_timestamp_ms: START + 2000,
  end_timestamp_ms: START + 3_727_000,
  duration_seconds: 3725,
  q850_cause: 16,
  status: 'completed',
  codec: 'PCMU',
  packets_sent: 186_000,
  packets_received: 185_000,
  packets_lost: 1850,
  bytes_sent: 31_992_000,
  jitter_ms: 12.25,
  estimated_mos: 4.1234,
  recording_url: 'file:///r/a,"b".wav',
  agent_id: '',
}
const UNANSWERED: CdrRecord = {...RECORD, call_sid: `CA${'cd'.repeat(16)}`, status: 'busy', q850_cause: 17, answer_timestamp_ms: null, duration_seconds: 0, codec: '', packets_received: 0, packets_lost: 0, estimated_mos: 0}

describe('cdr output', () => {
  it('a table row: UTC or local start, short direction, duration, loss of expected packets, jitter, MOS', () => {
    assert.deepEqual(cdrTableRow(RECORD, true), [
      RECORD.call_sid,
      '2026-03-07 00:30:05',
      'acme',
      'carrier-a',
      'in',
      '+14155550123',
      '+4930123456',
      'completed',
      '16',
      '1h 2m 5s',
      'PCMU',
      '1.0',
      '12.3',
      '4.12',
    ])
    assert.equal(cdrTableRow(RECORD, false)[1], formatTimestamp(START, false))
    assert.deepEqual(cdrTableRow(UNANSWERED, true).slice(7), ['busy', '17', '0s', '-', '-', '-', '-'], 'no media, no quality figures')
  })

  it('the tables: one line per row, headings name the time zone', () => {
    const table = cdrTable([RECORD, UNANSWERED], true)
    assert.equal(table.split('\n').length, 6)
    assert.match(table, /│ time \(UTC\)\s+│/)
    assert.doesNotMatch(cdrTable([RECORD], false), /UTC/)
    const stats: CdrStatsRow = {day: '2026-03-07', calls: 4, answered: 3, asr: 0.75, acd_seconds: 90.5, minutes: 4.525, mos_calls: 2, mean_mos: 3.875, below_3_5_share: 0.5}
    const rendered = cdrStatsTable([stats, {...stats, day: '2026-03-08', answered: 0, asr: 0, acd_seconds: null, mos_calls: 0, mean_mos: null, below_3_5_share: null}], 'day', 'Europe/Berlin')
    assert.match(rendered, /│ day \(Europe\/Berlin\) │ calls │ answered │ ASR % │/)
    assert.match(rendered, /│ 2026-03-07\s+│\s+4 │\s+3 │\s+75\.0 │\s+1m 31s │\s+4\.5 │\s+2 │\s+3\.88 │\s+50\.0 │/)
    assert.match(rendered, /│ 2026-03-08\s+│\s+4 │\s+0 │\s+0\.0 │\s+- │\s+4\.5 │\s+0 │\s+- │\s+- │/)
  })

  it('CSV fields are quoted per RFC 4180 only when needed', () => {
    assert.equal(csvField('plain'), 'plain')
    assert.equal(csvField('+1415'), '+1415')
    assert.equal(csvField('a,b'), '"a,b"')
    assert.equal(csvField('say "hi"'), '"say ""hi"""')
    assert.equal(csvField('two\nlines'), '"two\nlines"')
    assert.equal(csvField('cr\r'), '"cr\r"')
    assert.equal(csvField(null), '')
    assert.equal(csvField(0), '0')
  })

  it('machine formats: json array, ndjson lines, csv with a header, in chunks', () => {
    const rows = Array.from({length: 2500}, (_, index) => ({...RECORD, duration_seconds: index}))
    const json = [...machineRows(rows, 'json', CDR_CSV_COLUMNS)]
    assert.ok(json.length > 2, 'more than one chunk')
    assert.deepEqual(JSON.parse(json.join('')), rows)
    assert.deepEqual(
      [...machineRows(rows, 'ndjson', CDR_CSV_COLUMNS)].join('').trimEnd().split('\n').map((line) => JSON.parse(line) as CdrRecord),
      rows,
    )
    const csv = [...machineRows([RECORD, UNANSWERED], 'csv', CDR_CSV_COLUMNS)].join('')
    const lines = csv.split('\r\n')
    assert.equal(lines[0], CDR_COLUMNS.join(','))
    assert.equal(lines[1], `${RECORD.call_sid},acme,carrier-a,inbound,+14155550123,+4930123456,${START},${START + 2000},${START + 3_727_000},3725,16,completed,PCMU,186000,185000,1850,31992000,12.25,4.1234,"file:///r/a,""b"".wav",`)
    assert.match(lines[2] ?? '', new RegExp(`^${UNANSWERED.call_sid},.*,${START},,${START + 3_727_000},0,17,busy,,`))
    assert.equal(lines.at(-1), '')
    assert.equal([...machineRows([], 'json', CDR_CSV_COLUMNS)].join(''), '[]\n')
    assert.equal([...machineRows([], 'ndjson', CDR_CSV_COLUMNS)].join(''), '')
    assert.deepEqual(statsCsvColumns('hour'), ['hour', 'calls', 'answered', 'asr', 'acd_seconds', 'minutes', 'mos_calls', 'mean_mos', 'below_3_5_share'])
  })

  it('an empty answer says why', () => {
    assert.equal(noCdrsMessage({store: 'embedded', source: '/h/cdr-spool'}, ''), 'No CDRs yet: the embedded store (/h/cdr-spool) has no spool files.')
    assert.equal(noCdrsMessage({store: 'embedded', source: '/h/cdr-spool', sql: {}}, 'tenant x'), 'No CDRs match: tenant x.')
    assert.equal(noCdrsMessage({store: 'clickhouse', source: 'u t'}, ''), 'No CDRs.')
  })
})
