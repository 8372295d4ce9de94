import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pino from 'pino'
import {FLOOD_RATIO, isOverloaded, OverloadControl} from '../../../../daemon/security/overload.js'

const LIMITS = {enabled: true, max_event_loop_lag_ms: 200, max_event_loop_utilization: 0.9, max_transactions: 1000, retry_after_s: 7}

describe('overload control', () => {
  it('is overloaded when the event loop lags, is busy nearly all the time for a second, or transactions exceed the cap, and not at the limits themselves', () => {
    const quiet = {admitted: 50, refused: 0}
    const calm = {lagMs: 5, utilization: 0.2, transactions: 10, ...quiet}
    const busy = {...calm, utilization: 0.91}
    assert.equal(isOverloaded(LIMITS, calm, calm), false)
    assert.equal(isOverloaded(LIMITS, {lagMs: 200, utilization: 0.9, transactions: 1000, ...quiet}, {...calm, utilization: 0.9}), false)
    assert.equal(isOverloaded(LIMITS, {...calm, lagMs: 201}, undefined), true)
    assert.equal(isOverloaded(LIMITS, {...calm, transactions: 1001}, undefined), true)
    assert.equal(isOverloaded(LIMITS, busy, busy), true, 'busy for two samples in a row')
    assert.equal(isOverloaded(LIMITS, busy, calm), false, 'half a second of it is a burst')
    assert.equal(isOverloaded(LIMITS, busy, undefined), false)
    assert.equal(isOverloaded({...LIMITS, max_event_loop_utilization: 1}, {...busy, utilization: 1}, {...busy, utilization: 1}), false, '1 switches the utilization off')
  })

  it('does not count a loop kept busy by a flood the guard turns away; the lag and transaction limits still apply', () => {
    const busy = {lagMs: 5, utilization: 1, transactions: 10}
    const callers = {...busy, admitted: 100, refused: 100 * FLOOD_RATIO - 1}
    const flood = {...busy, admitted: 100, refused: 100 * FLOOD_RATIO}
    assert.equal(isOverloaded(LIMITS, callers, callers), true, 'callers enough to shed')
    assert.equal(isOverloaded(LIMITS, flood, flood), false, 'a flood')
    assert.equal(isOverloaded(LIMITS, callers, flood), false, 'a flood the second before')
    assert.equal(isOverloaded(LIMITS, {...busy, admitted: 0, refused: 1}, {...busy, admitted: 0, refused: 1}), false, 'nothing but a flood')
    assert.equal(isOverloaded(LIMITS, {...busy, admitted: 0, refused: 0}, {...busy, admitted: 0, refused: 0}), true, 'busy with no request at all')
    assert.equal(isOverloaded(LIMITS, {...flood, lagMs: 201}, flood), true, 'a flood that stalls the loop')
    assert.equal(isOverloaded(LIMITS, {...flood, utilization: 0.1, transactions: 1001}, flood), true)
  })

  it('goes on and recovers by itself with the samples, logging each change once', (t) => {
    const lines: string[] = []
    const log = pino({level: 'info'}, {write: (line: string) => lines.push(JSON.parse(line).msg as string)})
    const control = new OverloadControl(LIMITS, () => 0, log)
    t.after(() => control.stop())
    assert.equal(control.active, false)
    control.update({lagMs: 900, utilization: 1, transactions: 0, admitted: 0, refused: 0})
    control.update({lagMs: 900, utilization: 1, transactions: 0, admitted: 0, refused: 0})
    assert.equal(control.active, true)
    assert.equal(control.retryAfterS, 7)
    control.update({lagMs: 3, utilization: 0.1, transactions: 0, admitted: 0, refused: 0})
    assert.equal(control.active, false)
    assert.equal(lines.length, 2, lines.join(' | '))
    assert.match(lines[0] ?? '', /overloaded/)
    assert.match(lines[1] ?? '', /over: new INVITEs are taken again/)
  })

  it('measures the real event loop: a 700 ms stall turns it on at the next sample', async (t) => {
    const control = new OverloadControl({...LIMITS, max_transactions: 1_000_000}, () => 0, pino({level: 'silent'}))
    t.after(() => control.stop())
    // Past the first sample, which is start-up's.
    await new Promise((resolve) => setTimeout(resolve, 600))
    const stallUntil = Date.now() + 700
    while (Date.now() < stallUntil) {
      // Busy: the SIP thread falling behind.
    }
    // The sample due during the stall runs right after it.
    const deadline = Date.now() + 400
    while (!control.active && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(control.active, true)
  })

  it('a reload that switches it off takes INVITEs again at once; switched back on it samples again', (t) => {
    const control = new OverloadControl(LIMITS, () => 0, pino({level: 'silent'}))
    t.after(() => control.stop())
    control.update({lagMs: 900, utilization: 1, transactions: 0, admitted: 0, refused: 0})
    assert.equal(control.active, true)
    control.reconfigure({...LIMITS, enabled: false, retry_after_s: 3})
    assert.equal(control.active, false)
    assert.equal(control.retryAfterS, 3)
    control.reconfigure({...LIMITS, max_transactions: 10})
    control.update({lagMs: 1, utilization: 0.1, transactions: 11, admitted: 0, refused: 0})
    assert.equal(control.active, true, 'the new max_transactions applies')
  })

  it('measures the real event loop: busy in short turns (a socket that always has datagrams queued), it turns on with hardly any lag', async (t) => {
    const control = new OverloadControl({...LIMITS, max_event_loop_lag_ms: 60_000, max_transactions: 1_000_000}, () => 0, pino({level: 'silent'}))
    t.after(() => control.stop())
    await new Promise((resolve) => setTimeout(resolve, 600))
    assert.equal(control.active, false)
    // 2 ms of work per turn, as a loop reading a full socket does: timers still fire on time.
    const busyUntil = Date.now() + 2600
    while (Date.now() < busyUntil && !control.active) {
      const turnEnd = Date.now() + 2
      while (Date.now() < turnEnd) {
        // Parsing the next datagrams.
      }
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.equal(control.active, true)
    // Idle again: the next sample under every limit ends it.
    await new Promise((resolve) => setTimeout(resolve, 1100))
    assert.equal(control.active, false)
  })

  it('measures the real event loop: busy in short turns while the guard counts a flood, it stays off', async (t) => {
    const counts = {admitted: 0, refused: 0}
    const control = new OverloadControl({...LIMITS, max_event_loop_lag_ms: 60_000, max_transactions: 1_000_000}, () => 0, pino({level: 'silent'}), () => counts)
    t.after(() => control.stop())
    await new Promise((resolve) => setTimeout(resolve, 600))
    const busyUntil = Date.now() + 1200
    while (Date.now() < busyUntil) {
      const turnEnd = Date.now() + 2
      while (Date.now() < turnEnd) {
        // Dropping a banned source's datagrams: 40 turned away for each caller's request.
      }
      counts.refused += 40
      counts.admitted += 1
      assert.equal(control.active, false)
      await new Promise((resolve) => setImmediate(resolve))
    }
    assert.equal(control.active, false)
  })
})
