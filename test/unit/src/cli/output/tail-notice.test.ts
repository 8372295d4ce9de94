import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {tailNoticeJson, tailNoticeLine, tailNoticeText} from '../../../../../src/cli/output/index.js'
import type {TailNotice} from '../../../../../src/cli/follow-calls.js'
import {CCError} from '../../../../../src/errors.js'

const AT = Date.UTC(2026, 0, 15, 9, 30, 0)
const cut: TailNotice = {kind: 'cut', reason: new CCError('CC_ERR_ADMIN_SUBSCRIBER_LAGGING', {max_bytes: 16384}), retryInMs: 200, atMs: AT}
const unavailable: TailNotice = {kind: 'unavailable', reason: new CCError('CC_ERR_DAEMON_NOT_RUNNING', {socket: '/run/cc/admin.sock'}), giveUpAfterS: undefined, atMs: AT + 200}
const resumed: TailNotice = {kind: 'resumed', pid: 4242, activeCalls: 1, attempts: 3, downMs: 2600, atMs: AT + 2600}

describe('calls tail --reconnect notices', () => {
  it('say why the stream was cut, that events may have been missed, and when it follows again', () => {
    assert.equal(
      tailNoticeText(cut),
      'Event stream cut (CC_ERR_ADMIN_SUBSCRIBER_LAGGING): The daemon closed this event stream: it fell behind by more than 16384 bytes of unread events. Events may have been missed (calls that ended meanwhile are in `clutchcall cdr query`); reconnecting in 0.2 s.',
    )
    assert.equal(
      tailNoticeText(unavailable),
      'Cannot reconnect yet (CC_ERR_DAEMON_NOT_RUNNING): The gateway daemon is not running (no daemon answers on /run/cc/admin.sock). Retrying, at most 5.0 s apart, for as long as it takes.',
    )
    assert.match(tailNoticeText({...unavailable, giveUpAfterS: 30}), /at most 5\.0 s apart, for up to 30 s\.$/)
    assert.equal(tailNoticeText(resumed), 'Reconnected to the daemon (pid 4242) after 2.6 s and 3 attempts; following again, 1 call up now.')
    assert.match(tailNoticeText({...resumed, attempts: 1, activeCalls: 0}), /after 2\.6 s and 1 attempt; following again, 0 calls up now\.$/)
  })

  it('with --json: one object per line carrying `diagnostic`, never `type`, and the error as the envelope carries it', () => {
    const line = tailNoticeLine(cut, true)
    assert.ok(line.endsWith('}\n'))
    assert.equal(line.indexOf('\n'), line.length - 1, 'one line')
    const parsed = JSON.parse(line) as Record<string, unknown>
    assert.deepEqual(parsed, {
      diagnostic: 'stream_cut',
      message: tailNoticeText(cut),
      timestamp_ms: AT,
      error: {code: 'CC_ERR_ADMIN_SUBSCRIBER_LAGGING', message: cut.reason.message, hint: cut.reason.hint, exitCode: 1, details: {max_bytes: 16384}},
      events_may_be_missed: true,
      retry_in_ms: 200,
    })
    assert.deepEqual(tailNoticeJson(unavailable), {
      diagnostic: 'daemon_unavailable',
      message: tailNoticeText(unavailable),
      timestamp_ms: AT + 200,
      error: unavailable.reason.toJSON(),
      retry_max_interval_ms: 5000,
      give_up_after_s: null,
    })
    assert.deepEqual(tailNoticeJson(resumed), {diagnostic: 'stream_resumed', message: tailNoticeText(resumed), timestamp_ms: AT + 2600, pid: 4242, active_calls: 1, attempts: 3, down_ms: 2600})
    for (const notice of [cut, unavailable, resumed]) assert.equal('type' in tailNoticeJson(notice), false)
  })

  it('without --json: the sentence and a newline', () => {
    assert.equal(tailNoticeLine(resumed, false), `${tailNoticeText(resumed)}\n`)
  })
})
