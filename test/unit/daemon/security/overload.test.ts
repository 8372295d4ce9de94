import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pino from 'pino'
import {isOverloaded, OverloadControl} from '../../../../daemon/security/overload.js'

const LIMITS = {enabled: true, max_event_loop_lag_ms: 200, max_event_loop_utilization: 0.9, max_transactions: 1000, retry_after_s: 7}

describe('overload control', () => {
  it('is overloaded when the event loop lags, is busy nearly all the time, or transactions exceed the cap, and not at the limits themselves', () => {
    assert.equal(isOverloaded(LIMITS, {lagMs: 5, utilization: 0.2, transactions: 10}), false)
    assert.equal(isOverloaded(LIMITS, {lagMs: 200, utilization: 0.9, transactions: 1000}), false)
    assert.equal(isOverloaded(LIMITS, {lagMs: 201, utilization: 0.2, transactions: 10}), true)
    assert.equal(isOverloaded(LIMITS, {lagMs: 5, utilization: 0.91, transactions: 10}), true)
    assert.equal(isOverloaded(LIMITS, {lagMs: 1, utilization: 0.2, transactions: 1001}), true)
    assert.equal(isOverloaded({...LIMITS, max_event_loop_utilization: 1}, {lagMs: 1, utilization: 1, transactions: 10}), false, '1 switches the utilization off')
  })

  it('goes on and recovers by itself with the samples, logging each change once', (t) => {
    const lines: string[] = []
    const log = pino({level: 'info'}, {write: (line: string) => lines.push(JSON.parse(line).msg as string)})
    const control = new OverloadControl(LIMITS, () => 0, log)
    t.after(() => control.stop())
    assert.equal(control.active, false)
    control.update({lagMs: 900, utilization: 1, transactions: 0})
    control.update({lagMs: 900, utilization: 1, transactions: 0})
    assert.equal(control.active, true)
    assert.equal(control.retryAfterS, 7)
    control.update({lagMs: 3, utilization: 0.1, transactions: 0})
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
    control.update({lagMs: 900, utilization: 1, transactions: 0})
    assert.equal(control.active, true)
    control.reconfigure({...LIMITS, enabled: false, retry_after_s: 3})
    assert.equal(control.active, false)
    assert.equal(control.retryAfterS, 3)
    control.reconfigure({...LIMITS, max_transactions: 10})
    control.update({lagMs: 1, utilization: 0.1, transactions: 11})
    assert.equal(control.active, true, 'the new max_transactions applies')
  })

  it('measures the real event loop: busy in short turns (a socket that always has datagrams queued), it turns on with hardly any lag', async (t) => {
    const control = new OverloadControl({...LIMITS, max_event_loop_lag_ms: 60_000, max_transactions: 1_000_000}, () => 0, pino({level: 'silent'}))
    t.after(() => control.stop())
    await new Promise((resolve) => setTimeout(resolve, 600))
    assert.equal(control.active, false)
    // 2 ms of work per turn, as a loop reading a full socket does: timers still fire on time.
    const busyUntil = Date.now() + 1600
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
})
