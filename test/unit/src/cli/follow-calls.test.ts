// The retry policy of `calls tail`: what happens when a subscription ends or
// cannot be opened, with and without --reconnect. The subscriptions are
// scripted and the clock is the waits the loop asks for, so the backoff, the
// one-notice-per-change rule and the give-up limit are checked exactly.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Backoff, followCalls, RECONNECT_FIRST_DELAY_MS, RECONNECT_MAX_DELAY_MS, type TailNotice, type TailSubscription} from '../../../../src/cli/follow-calls.js'
import {CCError, type ErrorCode} from '../../../../src/errors.js'

type Step = {readonly fail: ErrorCode} | {readonly ends: ErrorCode | 'quit' | 'never'; readonly pid?: number; readonly calls?: number}

interface Script {
  readonly notices: TailNotice[]
  readonly waits: number[]
  readonly closed: number[]
  /** Which subscription was started, and how many notices had been given by then. */
  readonly started: Array<{index: number; notices: number}>
  readonly opened: () => number
  readonly controller: AbortController
  readonly run: Promise<void>
}

/**
 * Runs followCalls over `steps`, one per open(): a failure to open, or a
 * subscription that ends with a reason, by quitting, or never (then the signal
 * is aborted, as SIGINT would). The fake clock advances by each wait.
 */
const script = (steps: readonly Step[], options: {reconnect: boolean; giveUpAfterS?: number}): Script => {
  const notices: TailNotice[] = []
  const waits: number[] = []
  const closed: number[] = []
  const started: Array<{index: number; notices: number}> = []
  const controller = new AbortController()
  let clock = 1_000_000
  let calls = 0
  const open = async (): Promise<TailSubscription> => {
    const index = calls++
    const step = steps[index]
    if (step === undefined) {
      controller.abort()
      return new Promise(() => {})
    }
    if ('fail' in step) throw new CCError(step.fail, {socket: '/run/admin.sock', method: 'calls.subscribe', seconds: 10})
    const {ends} = step
    // A subscription that never ends by itself: the operator stops the tail once it follows.
    if (ends === 'never') setImmediate(() => controller.abort())
    return {
      pid: step.pid ?? 4242,
      activeCalls: step.calls ?? 0,
      start: () => {
        started.push({index, notices: notices.length})
        return ends === 'never' ? new Promise(() => {}) : Promise.resolve(ends === 'quit' ? 'quit' : new CCError(ends, {max_bytes: 16384}))
      },
      close: async () => {
        closed.push(index)
      },
    }
  }
  const run = followCalls({
    open,
    reconnect: options.reconnect,
    giveUpAfterS: options.giveUpAfterS,
    signal: controller.signal,
    notice: (notice) => notices.push(notice),
    now: () => clock,
    wait: async (ms) => {
      waits.push(ms)
      clock += ms
    },
  })
  return {notices, waits, closed, started, opened: () => calls, controller, run}
}

const summary = (notice: TailNotice): string => (notice.kind === 'resumed' ? `resumed after ${notice.attempts}` : `${notice.kind} ${notice.reason.code}`)

describe('Backoff', () => {
  it('doubles from 0.2 s to 5 s, stays there, and starts again after a reset', () => {
    const backoff = new Backoff()
    const delays = Array.from({length: 8}, () => backoff.next())
    assert.deepEqual(delays, [200, 400, 800, 1600, 3200, 5000, 5000, 5000])
    assert.equal(RECONNECT_FIRST_DELAY_MS, 200)
    assert.equal(RECONNECT_MAX_DELAY_MS, 5000)
    backoff.reset()
    assert.equal(backoff.next(), 200)
  })
})

describe('followCalls without --reconnect (unchanged behaviour)', () => {
  it('fails with the reason the stream was cut, says nothing on the way, and closes the subscription', async () => {
    const run = script([{ends: 'CC_ERR_ADMIN_SUBSCRIBER_LAGGING'}], {reconnect: false})
    await assert.rejects(run.run, (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_ADMIN_SUBSCRIBER_LAGGING')
    assert.deepEqual(run.notices, [])
    assert.deepEqual(run.closed, [0])
    assert.equal(run.opened(), 1, 'no second attempt')
  })

  it('fails at once when the daemon is not running', async () => {
    const run = script([{fail: 'CC_ERR_DAEMON_NOT_RUNNING'}], {reconnect: false})
    await assert.rejects(run.run, (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_DAEMON_NOT_RUNNING')
    assert.deepEqual(run.waits, [])
  })

  it('ends normally when stopped while following', async () => {
    const run = script([{ends: 'never'}], {reconnect: false})
    await run.run
    assert.equal(run.controller.signal.aborted, true)
    assert.deepEqual(run.closed, [0])
  })
})

describe('followCalls with --reconnect', () => {
  it('reports a cut, the first failure of each kind and the resumption; backs off 0.2 s doubling to 5 s and resets after a subscription', async () => {
    const steps: Step[] = [
      {ends: 'CC_ERR_ADMIN_CONNECTION_LOST'},
      ...Array.from({length: 6}, (): Step => ({fail: 'CC_ERR_DAEMON_NOT_RUNNING'})),
      {fail: 'CC_ERR_ADMIN_TIMEOUT'},
      {ends: 'CC_ERR_ADMIN_SUBSCRIBER_LAGGING', pid: 5151, calls: 3},
      {ends: 'never', pid: 5151},
    ]
    const run = script(steps, {reconnect: true})
    await run.run
    assert.deepEqual(run.notices.map(summary), [
      'cut CC_ERR_ADMIN_CONNECTION_LOST',
      'unavailable CC_ERR_DAEMON_NOT_RUNNING',
      'unavailable CC_ERR_ADMIN_TIMEOUT',
      'resumed after 8',
      'cut CC_ERR_ADMIN_SUBSCRIBER_LAGGING',
      'resumed after 1',
    ])
    // 0.2 s after the cut, then one wait per failed attempt; after the subscription the backoff is back at 0.2 s.
    assert.deepEqual(run.waits, [200, 400, 800, 1600, 3200, 5000, 5000, 5000, 200])
    const [cut, , , firstResume, , secondResume] = run.notices
    assert.equal(cut?.kind === 'cut' && cut.retryInMs, 200)
    assert.deepEqual(firstResume?.kind === 'resumed' && {pid: firstResume.pid, activeCalls: firstResume.activeCalls, downMs: firstResume.downMs}, {pid: 5151, activeCalls: 3, downMs: 21_200})
    assert.equal(secondResume?.kind === 'resumed' && secondResume.downMs, 200)
    assert.deepEqual(run.closed, [0, 8, 9], 'every subscription is closed, the last one by the stop')
    // Each subscription shows its events only after the line saying the tail follows again (never under a mounted view).
    assert.deepEqual(run.started, [
      {index: 0, notices: 0},
      {index: 8, notices: 4},
      {index: 9, notices: 6},
    ])
  })

  it('waits for a daemon that is not running at start, reporting it once', async () => {
    const run = script([{fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {ends: 'never'}], {reconnect: true})
    await run.run
    assert.deepEqual(run.notices.map(summary), ['unavailable CC_ERR_DAEMON_NOT_RUNNING', 'resumed after 4'])
    assert.deepEqual(run.waits, [200, 400, 800])
  })

  it('stops at an error that retrying would not cure', async () => {
    for (const code of ['CC_ERR_ADMIN_PROTOCOL_MISMATCH', 'CC_ERR_PERMISSION_DENIED', 'CC_ERR_INTERNAL'] as const) {
      const run = script([{ends: 'CC_ERR_ADMIN_CONNECTION_LOST'}, {fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {fail: code}], {reconnect: true})
      await assert.rejects(run.run, (error: unknown) => error instanceof CCError && error.code === code, code)
      assert.equal(run.opened(), 3, code)
    }
    const cut = script([{ends: 'CC_ERR_INTERNAL'}], {reconnect: true})
    await assert.rejects(cut.run, (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_INTERNAL')
    assert.deepEqual(cut.notices, [])
  })

  it('ends normally when the operator quits the live view, without reconnecting', async () => {
    const run = script([{ends: 'quit'}, {ends: 'never'}], {reconnect: true})
    await run.run
    assert.equal(run.opened(), 1)
    assert.deepEqual(run.notices, [])
  })

  it('ends normally when stopped while it waits to retry', async () => {
    const controller = new AbortController()
    const notices: TailNotice[] = []
    const run = followCalls({
      open: () => Promise.reject(new CCError('CC_ERR_DAEMON_NOT_RUNNING', {socket: '/run/admin.sock'})),
      reconnect: true,
      signal: controller.signal,
      notice: (notice) => {
        notices.push(notice)
        setImmediate(() => controller.abort())
      },
    })
    // The real wait (0.2 s here) is cut short by the abort: the loop returns at once.
    const started = Date.now()
    await run
    assert.ok(Date.now() - started < 150, `returned ${Date.now() - started} ms after the stop`)
    assert.deepEqual(notices.map(summary), ['unavailable CC_ERR_DAEMON_NOT_RUNNING'])
  })

  it('closes a subscription that completes after the stop', async () => {
    const controller = new AbortController()
    let finish: (subscription: TailSubscription) => void = () => {}
    let closed = false
    const run = followCalls({
      open: () => new Promise<TailSubscription>((resolve) => (finish = resolve)),
      reconnect: true,
      signal: controller.signal,
      notice: () => assert.fail('no notice'),
    })
    controller.abort()
    await run
    finish({pid: 1, activeCalls: 0, start: () => assert.fail('not started after the stop'), close: async () => void (closed = true)})
    await new Promise((resolve) => setImmediate(resolve))
    assert.ok(closed)
  })

  it('with --give-up-after, fails with CC_ERR_TAIL_GAVE_UP once the stream has been gone that long, the last attempt at the limit', async () => {
    const run = script([{ends: 'CC_ERR_ADMIN_CONNECTION_LOST'}, ...Array.from({length: 20}, (): Step => ({fail: 'CC_ERR_DAEMON_NOT_RUNNING'}))], {reconnect: true, giveUpAfterS: 2})
    await assert.rejects(run.run, (error: unknown) => {
      assert.ok(error instanceof CCError)
      assert.equal(error.code, 'CC_ERR_TAIL_GAVE_UP')
      assert.equal(error.exitCode, 1)
      assert.deepEqual(error.details, {seconds: 2, attempts: 4, code: 'CC_ERR_DAEMON_NOT_RUNNING', reason: 'The gateway daemon is not running (no daemon answers on /run/admin.sock)'})
      assert.match(error.message, /no event stream from the daemon for 2s \(4 attempts; the last failed with CC_ERR_DAEMON_NOT_RUNNING/)
      return true
    })
    // Cut at 0: attempts at 0.2, 0.6, 1.4 and, cut short to the limit, 2.0 s.
    assert.deepEqual(run.waits, [200, 400, 800, 600])
    assert.deepEqual(run.notices.map(summary), ['cut CC_ERR_ADMIN_CONNECTION_LOST', 'unavailable CC_ERR_DAEMON_NOT_RUNNING'])
    const unavailable = run.notices[1]
    assert.equal(unavailable?.kind === 'unavailable' && unavailable.giveUpAfterS, 2)
  })

  it('with --give-up-after, a stream that comes back in time starts the count again', async () => {
    const steps: Step[] = [{fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {ends: 'CC_ERR_ADMIN_CONNECTION_LOST'}, {fail: 'CC_ERR_DAEMON_NOT_RUNNING'}, {ends: 'never'}]
    const run = script(steps, {reconnect: true, giveUpAfterS: 1})
    await run.run
    assert.deepEqual(run.notices.map(summary), ['unavailable CC_ERR_DAEMON_NOT_RUNNING', 'resumed after 3', 'cut CC_ERR_ADMIN_CONNECTION_LOST', 'unavailable CC_ERR_DAEMON_NOT_RUNNING', 'resumed after 2'])
    // The second outage counts from its own cut: its wait is not cut short by the time the first one took.
    assert.deepEqual(run.waits, [200, 400, 200, 400])
  })
})
