import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  DEFAULT_LIMIT,
  describeCdrFilter,
  parseCdrFilter,
  parseFormat,
  parseGroupBy,
  parseLimit,
  parseOrder,
  parseStatuses,
  parseTime,
  type CdrFilterFlags,
} from '../../../../src/cdr/filters.js'
import {CCError} from '../../../../src/errors.js'

const NOW = Date.UTC(2026, 2, 15, 12, 0, 0)
const SID = `CA${'0123456789abcdef'.repeat(2)}`

/** A usage error (exit 2) whose message names the flag and the value. */
const usageError = (flag: string, value: string) => (error: unknown) => {
  assert.ok(error instanceof CCError, String(error))
  assert.equal(error.code, 'CC_ERR_USAGE')
  assert.equal(error.exitCode, 2)
  assert.match(error.message, new RegExp(`--${flag}`))
  if (value !== '') assert.ok(error.message.includes(JSON.stringify(value)), `${error.message} names ${value}`)
  return true
}

const filter = (flags: CdrFilterFlags, zone: 'utc' | 'local' = 'utc') => parseCdrFilter(flags, {now: NOW, zone})

describe('cdr filters', () => {
  it('durations mean "ago"', () => {
    assert.equal(parseTime('since', '90s', NOW, 'utc'), NOW - 90_000)
    assert.equal(parseTime('since', '15m', NOW, 'utc'), NOW - 15 * 60_000)
    assert.equal(parseTime('since', '1h', NOW, 'utc'), NOW - 3_600_000)
    assert.equal(parseTime('since', '7d', NOW, 'utc'), NOW - 7 * 86_400_000)
    assert.equal(parseTime('since', '2w', NOW, 'utc'), NOW - 14 * 86_400_000)
    assert.equal(parseTime('since', '0s', NOW, 'utc'), NOW)
  })

  it('ISO dates and times: with an offset as given, without one in the zone asked for', () => {
    assert.equal(parseTime('since', '2026-03-01', NOW, 'utc'), Date.UTC(2026, 2, 1))
    assert.equal(parseTime('since', '2026-03-01T09:30', NOW, 'utc'), Date.UTC(2026, 2, 1, 9, 30))
    assert.equal(parseTime('since', '2026-03-01 09:30:15', NOW, 'utc'), Date.UTC(2026, 2, 1, 9, 30, 15))
    assert.equal(parseTime('since', '2026-03-01T09:30:15.25Z', NOW, 'local'), Date.UTC(2026, 2, 1, 9, 30, 15, 250))
    assert.equal(parseTime('since', '2026-03-01T09:30:00+01:00', NOW, 'utc'), Date.UTC(2026, 2, 1, 8, 30))
    assert.equal(parseTime('since', '2026-03-01T09:30:00-0530', NOW, 'utc'), Date.UTC(2026, 2, 1, 15, 0))
    assert.equal(parseTime('since', '2026-03-01T09:30', NOW, 'local'), new Date(2026, 2, 1, 9, 30).getTime())
    assert.equal(parseTime('since', '2024-02-29', NOW, 'utc'), Date.UTC(2024, 1, 29))
  })

  it('impossible dates and times are refused, not rolled over', () => {
    for (const bad of ['2026-02-30', '2026-02-29', '2026-13-01', '2026-00-10', '2026-04-31', '2026-01-00', '2026-03-01T24:00', '2026-03-01T12:60', '2026-03-01T12:00:60', '2026-03-01T12:00+15:00', '0099-01-01', '9999-01-01']) {
      assert.throws(() => parseTime('since', bad, NOW, 'utc'), usageError('since', bad), bad)
    }
  })

  it('garbage times are refused with the accepted forms', () => {
    for (const bad of ['yesterday', '', '1y', '-1h', '1.5h', '2026/03/01', '2026-3-1', "1h' OR 1=1", '1767225600000']) {
      assert.throws(
        () => parseTime('until', bad, NOW, 'utc'),
        (error: unknown) => usageError('until', bad)(error) && /90s, 15m, 1h, 7d, 2w/.test((error as Error).message),
        bad,
      )
    }
  })

  it('since must be before until', () => {
    assert.deepEqual(filter({since: '2026-03-01', until: '2026-03-02'}), {sinceMs: Date.UTC(2026, 2, 1), untilMs: Date.UTC(2026, 2, 2)})
    assert.throws(() => filter({since: '2026-03-02', until: '2026-03-01'}), usageError('since', '2026-03-02'))
    assert.throws(() => filter({since: '1h', until: '2h'}), usageError('until', '2h'))
    assert.throws(() => filter({since: '2026-03-01', until: '2026-03-01'}), usageError('since', '2026-03-01'))
  })

  it('status: known values, repeated or comma-separated, duplicates dropped; unknown ones list the valid ones', () => {
    assert.deepEqual(parseStatuses(['completed']), ['completed'])
    assert.deepEqual(parseStatuses(['busy,failed', 'no-answer', 'busy']), ['busy', 'failed', 'no-answer'])
    assert.deepEqual(filter({status: ['canceled, failed']}).statuses, ['canceled', 'failed'])
    for (const bad of ['answered', 'COMPLETED', '', "completed' OR '1'='1"]) {
      assert.throws(
        () => parseStatuses([bad]),
        (error: unknown) => usageError('status', bad)(error) && /completed, busy, no-answer, canceled, failed/.test((error as Error).message),
        bad,
      )
    }
    assert.equal(filter({status: []}).statuses, undefined)
  })

  it('direction, SIP user part prefixes, call sid', () => {
    assert.equal(filter({direction: 'inbound'}).direction, 'inbound')
    assert.throws(() => filter({direction: 'in'}), usageError('direction', 'in'))
    for (const good of ['+1415', '0049', '+', '1415-555', 'abc', 'alice.smith', "o'brien", 'a;b=c', '%2B1', "-_.!~*'()&=+$,;?/", '1'.repeat(128)]) {
      assert.equal(filter({from: good}).fromPrefix, good, good)
      assert.equal(filter({to: good}).toPrefix, good, good)
    }
    for (const bad of ['', '+1 415', "+1' OR 1=1 --", '%', '%zz', 'alice@example.com', 'a"b', 'a\tb', 'ä', '1'.repeat(129)]) {
      assert.throws(() => filter({from: bad}), usageError('from', bad), bad)
      assert.throws(() => filter({to: bad}), usageError('to', bad), bad)
    }
    assert.equal(filter({'call-sid': SID}).callSid, SID)
    for (const bad of [SID.toUpperCase(), SID.slice(0, -1), `${SID}'--`]) assert.throws(() => filter({'call-sid': bad}), usageError('call-sid', bad))
  })

  it('--after: the cursor a page printed, `<epoch ms>-<sid>`', async () => {
    const {formatCursor, parseCursor} = await import('../../../../src/cdr/filters.js')
    const cursor = formatCursor({start_timestamp_ms: 1_772_756_400_123, call_sid: SID})
    assert.equal(cursor, `1772756400123-${SID}`)
    assert.deepEqual(parseCursor(cursor), {startMs: 1_772_756_400_123, callSid: SID})
    for (const bad of ['', 'yesterday', SID, `-${SID}`, `1.5-${SID}`, `1772756400123-${SID.toUpperCase()}`, `1772756400123-${SID}' OR 1=1`]) {
      assert.throws(() => parseCursor(bad), usageError('after', bad), bad)
    }
  })

  it('free-form ids pass as they are (they only ever become query parameters)', () => {
    const nasty = "acme'; DROP TABLE telephony_cdrs; --"
    assert.deepEqual(filter({tenant: nasty, trunk: 'carrier-a', agent: 'bot-1'}), {tenant: nasty, trunk: 'carrier-a', agent: 'bot-1'})
    assert.throws(() => filter({tenant: ''}), usageError('tenant', ''))
    assert.throws(() => filter({agent: 'a\nb'}), usageError('agent', 'a\nb'))
    assert.throws(() => filter({trunk: 'x'.repeat(257)}), usageError('trunk', ''))
  })

  it('MOS bounds: 1 to 5, min at most max', () => {
    assert.deepEqual(filter({'min-mos': '3.5', 'max-mos': '4'}), {minMos: 3.5, maxMos: 4})
    assert.deepEqual(filter({'min-mos': '4', 'max-mos': '4'}), {minMos: 4, maxMos: 4})
    for (const bad of ['0', '0.9', '5.1', 'abc', '-3', '3,5', 'NaN', 'Infinity', '1e0']) assert.throws(() => filter({'min-mos': bad}), usageError('min-mos', bad), bad)
    assert.throws(() => filter({'min-mos': '4', 'max-mos': '3'}), usageError('min-mos', ''))
  })

  it('limit, order, format, group-by', () => {
    assert.equal(parseLimit(undefined), DEFAULT_LIMIT)
    assert.equal(parseLimit('1'), 1)
    assert.equal(parseLimit('1000000'), 1_000_000)
    for (const bad of ['0', '1000001', '-5', '1.5', 'ten', '', '10; DROP']) assert.throws(() => parseLimit(bad), usageError('limit', bad), bad)
    assert.equal(parseOrder(undefined), 'newest')
    assert.equal(parseOrder('oldest'), 'oldest')
    assert.throws(() => parseOrder('asc'), usageError('order', 'asc'))
    assert.equal(parseFormat(undefined), 'table')
    for (const format of ['table', 'json', 'ndjson', 'csv']) assert.equal(parseFormat(format), format)
    assert.throws(() => parseFormat('xml'), (error: unknown) => usageError('format', 'xml')(error) && /table, json, ndjson, csv/.test((error as Error).message))
    assert.equal(parseGroupBy(undefined), 'tenant')
    assert.equal(parseGroupBy('hour'), 'hour')
    assert.throws(() => parseGroupBy('week'), usageError('group-by', 'week'))
  })

  it('an empty filter is empty; a described one reads', () => {
    assert.deepEqual(filter({}), {})
    assert.equal(describeCdrFilter({}), '')
    assert.equal(describeCdrFilter(filter({tenant: 'acme', status: ['busy'], 'min-mos': '3'})), 'tenant acme, status busy, MOS ≥ 3')
  })
})
