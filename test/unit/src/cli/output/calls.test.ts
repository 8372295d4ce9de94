import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CallEvent} from '../../../../../src/calls/events.js'
import {alignColumns, callDuration, callsTable, formatClock, formatEventLine, liveCallRows, ndjsonLine} from '../../../../../src/cli/output/index.js'
import {answer, create, hangup, quality, sid, summary, T0} from '../events.fixture.js'

const CLOCK = /^\d{2}:\d{2}:\d{2}$/

describe('formatEventLine', () => {
  it('CHANNEL_CREATE: time, type, sid, direction, tenant/trunk and the numbers', () => {
    const line = formatEventLine(create(1))
    assert.equal(line, `${formatClock(T0)}  CHANNEL_CREATE           ${sid(1)}  inbound acme/carrier-a +14155550100 → +14155550191`)
    assert.match(formatClock(T0), CLOCK)
  })

  it('CHANNEL_ANSWER: the codec', () => {
    assert.equal(formatEventLine(answer(1)), `${formatClock(T0 + 2000)}  CHANNEL_ANSWER           ${sid(1)}  answered, codec PCMU`)
  })

  it('CHANNEL_QUALITY: codec, jitter, loss and MOS', () => {
    assert.match(formatEventLine(quality(1)), new RegExp(`CHANNEL_QUALITY {10}${sid(1)}  codec PCMU, jitter 3\\.3 ms, loss 2\\.0%, MOS 4\\.21$`))
    const beforeAudio = {...quality(2), packets_received: 0, estimated_mos: null}
    assert.match(formatEventLine(beforeAudio), /, MOS -$/, 'no packet yet: no MOS')
  })

  it('CHANNEL_HANGUP_COMPLETE: final status, cause, duration and MOS', () => {
    assert.match(formatEventLine(hangup(1)), new RegExp(`CHANNEL_HANGUP_COMPLETE  ${sid(1)}  completed, cause 16, duration 1m 5s, codec PCMU, MOS 4\\.18$`))
    const busy = {...hangup(2), status: 'busy', q850_cause: 17, duration_seconds: 0, answer_timestamp_ms: null, codec: '', estimated_mos: 1} as const
    assert.match(formatEventLine(busy), /  busy, cause 17, duration 0s$/, 'no codec or MOS for a call that never had media')
    const silent = {...hangup(3), packets_received: 0, estimated_mos: 0} as const
    assert.match(formatEventLine(silent), /codec PCMU, MOS -$/, 'an answered call that received nothing has no MOS, not 0')
  })

  it('an unknown event type still gets its time, type and sid', () => {
    const future = {type: 'CHANNEL_PARK', call_sid: sid(3), timestamp_ms: T0} as unknown as CallEvent
    assert.equal(formatEventLine(future), `${formatClock(T0)}  CHANNEL_PARK             ${sid(3)}`)
  })
})

describe('call rows', () => {
  it('duration is talk time once answered, ringing time before', () => {
    assert.equal(callDuration(summary(1, {answer_timestamp_ms: T0}), T0 + 125_400), '2m 5s')
    assert.equal(callDuration(summary(1, {state: 'ringing', start_timestamp_ms: T0, answer_timestamp_ms: null}), T0 + 7000), '7s')
  })

  it('quality shows - until it is measured', () => {
    const [ringing] = liveCallRows([summary(1, {state: 'ringing', codec: '', estimated_mos: null, answer_timestamp_ms: null, start_timestamp_ms: T0})], T0 + 3000)
    assert.deepEqual(ringing, ['acme', 'carrier-a', '+14155550111', '+4930123456', 'ringing', '3s', '-', '-', '-', '-'])
    const [measured] = liveCallRows([summary(1, {loss_ratio: 0.015, jitter_ms: 12.345})], T0)
    assert.deepEqual(measured?.slice(6), ['PCMA', '12.3', '1.5', '4.40'])
  })

  it('calls list table has every column and the call sid', () => {
    const text = callsTable([summary(1)], T0)
    for (const title of ['call sid', 'tenant', 'trunk', 'direction', 'from', 'to', 'state', 'duration', 'codec', 'jitter ms', 'loss %', 'MOS']) assert.ok(text.includes(title), title)
    assert.ok(text.includes(sid(1)))
    assert.ok(text.includes('55s'))
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
