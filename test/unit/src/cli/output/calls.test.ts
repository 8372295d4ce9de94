import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CallEvent} from '../../../../../src/calls/events.js'
import {alignColumns, callDuration, callsTable, fitColumns, formatClock, formatEventLine, LIVE_CALLS_HEAD, liveCallRows, ndjsonLine} from '../../../../../src/cli/output/index.js'
import {shortSid} from '../../../../../src/sid-prefix.js'
import {answer, create, hangup, quality, sid, summary, T0} from '../events.fixture.js'

const short = (n: number): string => shortSid(sid(n))

const CLOCK = /^\d{2}:\d{2}:\d{2}$/

describe('formatEventLine', () => {
  it('CHANNEL_CREATE: time, type, sid, direction, tenant/trunk and the numbers', () => {
    const line = formatEventLine(create(1))
    assert.equal(line, `${formatClock(T0)}  CHANNEL_CREATE           ${short(1)}  inbound acme/carrier-a +14155550100 → +14155550191`)
    assert.match(formatClock(T0), CLOCK)
  })

  it('CHANNEL_ANSWER: the codec', () => {
    assert.equal(formatEventLine(answer(1)), `${formatClock(T0 + 2000)}  CHANNEL_ANSWER           ${short(1)}  answered, codec PCMU`)
  })

  it('CHANNEL_QUALITY: codec, jitter, loss and MOS', () => {
    assert.match(formatEventLine(quality(1)), new RegExp(`CHANNEL_QUALITY {10}${short(1)}  codec PCMU, jitter 3\\.3 ms, loss 2\\.0%, MOS 4\\.21$`))
    const beforeAudio = {...quality(2), packets_received: 0, estimated_mos: null}
    assert.match(formatEventLine(beforeAudio), /, MOS -$/, 'no packet yet: no MOS')
  })

  it('CHANNEL_HANGUP_COMPLETE: final status, cause, duration and MOS', () => {
    assert.match(formatEventLine(hangup(1)), new RegExp(`CHANNEL_HANGUP_COMPLETE  ${short(1)}  completed, cause 16, duration 1m 5s, codec PCMU, MOS 4\\.18$`))
    const busy = {...hangup(2), status: 'busy', q850_cause: 17, duration_seconds: 0, answer_timestamp_ms: null, codec: '', estimated_mos: 1} as const
    assert.match(formatEventLine(busy), /  busy, cause 17, duration 0s$/, 'no codec or MOS for a call that never had media')
    const silent = {...hangup(3), packets_received: 0, estimated_mos: 0} as const
    assert.match(formatEventLine(silent), /codec PCMU, MOS -$/, 'an answered call that received nothing has no MOS, not 0')
  })

  it('an unknown event type still gets its time, type and sid', () => {
    const future = {type: 'CHANNEL_PARK', call_sid: sid(3), timestamp_ms: T0} as unknown as CallEvent
    assert.equal(formatEventLine(future), `${formatClock(T0)}  CHANNEL_PARK             ${short(3)}`)
  })
})

describe('call rows', () => {
  it('duration is talk time once answered, ringing time before', () => {
    assert.equal(callDuration(summary(1, {answer_timestamp_ms: T0}), T0 + 125_400), '2m 5s')
    assert.equal(callDuration(summary(1, {state: 'ringing', start_timestamp_ms: T0, answer_timestamp_ms: null}), T0 + 7000), '7s')
  })

  it('quality shows - until it is measured', () => {
    const [ringing] = liveCallRows([summary(1, {state: 'ringing', codec: '', estimated_mos: null, answer_timestamp_ms: null, start_timestamp_ms: T0})], T0 + 3000)
    assert.deepEqual(ringing, [shortSid(sid(1)), 'acme', 'carrier-a', '+14155550111', '+4930123456', 'ringing', '3s', '-', '-', '-', '-'])
    const [measured] = liveCallRows([summary(1, {loss_ratio: 0.015, jitter_ms: 12.345})], T0)
    assert.deepEqual(measured?.slice(7), ['PCMA', '12.3', '1.5', '4.40'])
  })

  it('calls list table has every column and the call sid', () => {
    const text = callsTable([summary(1)], T0)
    for (const title of ['call sid', 'tenant', 'trunk', 'direction', 'from', 'to', 'state', 'duration', 'codec', 'jitter ms', 'loss %', 'MOS']) assert.ok(text.includes(title), title)
    assert.ok(text.includes(sid(1)))
    assert.ok(text.includes('55s'))
  })

  it('fitColumns keeps the sid, numbers, state and quality within 80 columns, dropping trunk, codec and jitter first', () => {
    const rows = liveCallRows([summary(1, {from_number: '+14155550111', to_number: '+4930123456'}), summary(2, {state: 'ringing'})], T0)
    const wide = fitColumns(LIVE_CALLS_HEAD, rows, 200)
    assert.match(wide[0] ?? '', /^sid\s+tenant\s+trunk\s+from\s+to\s+state\s+duration\s+codec\s+jitter ms\s+loss %\s+MOS$/)
    const narrow = fitColumns(LIVE_CALLS_HEAD, rows, 80)
    for (const line of narrow) assert.ok(line.length <= 80, `${line.length}: ${line}`)
    assert.match(narrow[0] ?? '', /^sid\s+tenant\s+from\s+to\s+state\s+duration\s+loss %\s+MOS$/)
    assert.ok(narrow[1]?.startsWith(`${shortSid(sid(1))}  acme`), narrow[1])
    assert.match(narrow[1] ?? '', /\+4930123456\s+answered\s+55s\s+0\.0\s+4\.40$/)
    // Longer numbers cost the tenant column too, never the sid or the MOS.
    const longer = fitColumns(LIVE_CALLS_HEAD, liveCallRows([summary(1, {to_number: '+4930123456789'})], T0), 80)
    assert.match(longer[0] ?? '', /^sid\s+from\s+to\s+state\s+duration\s+loss %\s+MOS$/)
    for (const line of longer) assert.ok(line.length <= 80)
  })

  it('fitColumns clips a long SIP user part instead of widening the table', () => {
    const rows = liveCallRows([summary(1, {from_number: 'a-very-long-sip-user-part-indeed'})], T0)
    const [, line] = fitColumns(LIVE_CALLS_HEAD, rows, 80)
    assert.ok(line?.includes('a-very-long-sip-u…'), line)
    assert.ok((line?.length ?? 0) <= 80)
  })

  it('alignColumns pads every column to its widest cell', () => {
    assert.deepEqual(alignColumns(['a', 'bb', 'c'], [['xxx', 'y', 'z'], ['1', '2', '3']]), ['a    bb  c', 'xxx  y   z', '1    2   3'])
  })
})

describe('ndjsonLine', () => {
  it('one parseable object per line, whatever the strings hold', () => {
    const events: CallEvent[] = [create(1), answer(1), quality(1), {...hangup(1), from_number: 'evil\n{"x":1}\r\n', agent_id: 'bot\u2028'}]
    const stream = events.map(ndjsonLine).join('')
    assert.ok(stream.endsWith('\n'))
    const lines = stream.slice(0, -1).split('\n')
    assert.equal(lines.length, events.length)
    assert.deepEqual(
      lines.map((line) => JSON.parse(line) as unknown),
      events,
    )
  })
})
