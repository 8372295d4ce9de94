import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CallEvent} from '../../../../src/calls/events.js'
import {createEventFeed, initialTailState, reduceTail, type TailState} from '../../../../src/cli/calls-state.js'
import {answer, create, hangup, quality, sid, summary, T0} from './events.fixture.js'

const run = (state: TailState, events: readonly CallEvent[]): TailState => events.reduce(reduceTail, state)

describe('reduceTail', () => {
  it('follows a call from create through answer and quality to hangup', () => {
    let state = initialTailState([])
    state = reduceTail(state, create(1))
    assert.deepEqual([...state.calls.keys()], [sid(1)])
    const created = state.calls.get(sid(1))
    assert.equal(created?.state, 'ringing')
    assert.equal(created?.start_timestamp_ms, T0)
    assert.equal(created?.answer_timestamp_ms, null)
    assert.equal(created?.estimated_mos, null)
    assert.equal(created?.from_number, '+14155550100')

    state = reduceTail(state, answer(1))
    assert.equal(state.calls.get(sid(1))?.state, 'answered')
    assert.equal(state.calls.get(sid(1))?.answer_timestamp_ms, T0 + 2000)
    assert.equal(state.calls.get(sid(1))?.codec, 'PCMU')

    state = reduceTail(state, quality(1))
    const measured = state.calls.get(sid(1))
    assert.equal(measured?.jitter_ms, 3.25)
    assert.equal(measured?.loss_ratio, 0.02)
    assert.equal(measured?.estimated_mos, 4.21)

    state = reduceTail(state, hangup(1))
    assert.equal(state.calls.size, 0)
    assert.deepEqual(
      state.log.map((event) => event.type),
      ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE'],
      'quality updates refresh the table but stay out of the log',
    )
  })

  it('starts from the calls already up, oldest first, and updates them', () => {
    const state = run(initialTailState([summary(2, {start_timestamp_ms: T0}), summary(1)]), [quality(2, T0 + 1000, 3.1), hangup(1)])
    assert.deepEqual([...state.calls.keys()], [sid(2)])
    assert.equal(state.calls.get(sid(2))?.estimated_mos, 3.1)
    assert.equal(state.calls.get(sid(2))?.node, 'agent', 'fields the events do not carry are kept')
  })

  it('ignores events for unknown calls and late events for ended ones without breaking', () => {
    const start = run(initialTailState([]), [create(1), answer(1)])
    const after = run(start, [answer(9), quality(9), hangup(9), hangup(1), quality(1), answer(1)])
    assert.equal(after.calls.size, 0, 'a late quality or answer never brings an ended call back')
    const again = reduceTail(start, create(1, T0 + 5000))
    assert.equal(again.calls.get(sid(1))?.state, 'answered', 'a duplicate create does not reset a known call')
    assert.equal(again.calls.get(sid(1))?.start_timestamp_ms, T0)
    const beforeCreate = run(initialTailState([]), [answer(3), create(3)])
    assert.equal(beforeCreate.calls.get(sid(3))?.state, 'ringing', 'an answer before its create is dropped, not invented')
  })

  it('does not mutate the previous state and returns it unchanged for no-ops', () => {
    const before = run(initialTailState([]), [create(1)])
    const snapshot = [...before.calls.entries()]
    const after = reduceTail(before, answer(1))
    assert.deepEqual([...before.calls.entries()], snapshot)
    assert.notEqual(after, before)
    assert.equal(reduceTail(before, quality(7)), before)
  })

  it('keeps only the latest events', () => {
    let state = initialTailState([], 4)
    for (let n = 1; n <= 10; n += 1) state = reduceTail(state, create(n))
    assert.deepEqual(
      state.log.map((event) => event.call_sid),
      [sid(7), sid(8), sid(9), sid(10)],
    )
    assert.equal(state.calls.size, 10)
  })

  it('passes over an event type it does not know', () => {
    const state = run(initialTailState([]), [create(1)])
    const future = {type: 'CHANNEL_PARK', call_sid: sid(1), timestamp_ms: T0} as unknown as CallEvent
    const after = reduceTail(state, future)
    assert.equal(after.calls.get(sid(1))?.state, 'ringing')
  })
})

describe('createEventFeed', () => {
  it('replays events pushed before the view subscribed, then passes them straight through', () => {
    const feed = createEventFeed()
    feed.push(create(1))
    feed.push(answer(1))
    const seen: string[] = []
    const unsubscribe = feed.subscribe((event) => seen.push(event.type))
    assert.deepEqual(seen, ['CHANNEL_CREATE', 'CHANNEL_ANSWER'])
    feed.push(hangup(1))
    assert.deepEqual(seen, ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE'])
    unsubscribe()
    feed.push(create(2))
    assert.equal(seen.length, 3)
  })
})
