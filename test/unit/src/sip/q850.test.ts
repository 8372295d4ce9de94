import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {CALL_STATUSES, classifyCall, q850FromReason, q850ToSipStatus, sipStatusToQ850} from '../../../../src/sip/q850.js'

describe('SIP status → Q.850 (RFC 3398 §8.2.6.1)', () => {
  it('follows the table', () => {
    const table: Array<[number, number]> = [[400, 41], [401, 21], [402, 21], [403, 21], [404, 1], [405, 63], [406, 79], [407, 21], [408, 102], [410, 22], [413, 127], [414, 127], [415, 79],
      [416, 127], [420, 127], [421, 127], [423, 127], [480, 18], [481, 41], [482, 25], [483, 25], [484, 28], [485, 1], [486, 17], [487, 127], [488, 127], [500, 41], [501, 79], [502, 38],
      [503, 41], [504, 102], [505, 127], [513, 127], [600, 17], [603, 21], [604, 1], [606, 58]]
    for (const [status, cause] of table) assert.equal(sipStatusToQ850(status), cause, String(status))
  })

  it('falls back per class', () => {
    assert.deepEqual([200, 202, 302, 422, 499, 580, 599, 607].map(sipStatusToQ850), [16, 16, 127, 127, 127, 41, 41, 127])
  })
})

describe('Q.850 → SIP status (RFC 3398 §7.2.4.1)', () => {
  it('follows the table', () => {
    const table: Array<[number, number]> = [[1, 404], [2, 404], [3, 404], [17, 486], [18, 408], [19, 480], [20, 480], [21, 403], [22, 410], [26, 404], [27, 502], [28, 484], [29, 501], [31, 480],
      [34, 503], [38, 503], [41, 503], [42, 503], [47, 503], [55, 403], [57, 403], [58, 503], [65, 488], [69, 501], [70, 488], [79, 501], [87, 403], [88, 503], [102, 504], [111, 500], [127, 500]]
    for (const [cause, status] of table) assert.equal(q850ToSipStatus(cause), status, String(cause))
  })

  it('has no status for normal clearing and falls back per class', () => {
    assert.equal(q850ToSipStatus(16), undefined)
    assert.deepEqual([6, 35, 50, 66, 95, 100, 0].map(q850ToSipStatus), [480, 503, 503, 501, 500, 500, 500])
  })
})

describe('Reason header (RFC 3326 / RFC 6432)', () => {
  it('finds the Q.850 cause among reasons and header lines', () => {
    assert.deepEqual(q850FromReason('Q.850;cause=16;text="Terminated"'), {cause: 16, text: 'Terminated'})
    assert.deepEqual(q850FromReason(['SIP;cause=200;text="Call completed elsewhere"', 'q.850 ; cause=17']), {cause: 17})
    assert.deepEqual(q850FromReason('SIP;cause=486, Q.850;cause=17;text="User busy"'), {cause: 17, text: 'User busy'})
  })

  it('ignores malformed values, out-of-range causes and other protocols', () => {
    assert.equal(q850FromReason('Q.850;cause=x'), undefined)
    assert.equal(q850FromReason('Q.850;cause=300'), undefined)
    assert.equal(q850FromReason('SIP;cause=200'), undefined)
    assert.equal(q850FromReason(undefined), undefined)
    assert.deepEqual(q850FromReason(['garbage;;', 'Q.850;cause=34']), {cause: 34})
  })
})

describe('classifyCall', () => {
  it('classifies answered calls as completed with normal clearing unless told otherwise', () => {
    assert.deepEqual(classifyCall({answered: true}), {status: 'completed', q850Cause: 16})
    assert.deepEqual(classifyCall({answered: true, reason: 'Q.850;cause=31'}), {status: 'completed', q850Cause: 31})
    assert.deepEqual(classifyCall({answered: true, cause: 16, reason: 'Q.850;cause=31'}), {status: 'completed', q850Cause: 16})
  })

  it('classifies busy from 486, 600 or cause 17', () => {
    assert.deepEqual(classifyCall({answered: false, finalStatus: 486}), {status: 'busy', q850Cause: 17})
    assert.deepEqual(classifyCall({answered: false, finalStatus: 600}), {status: 'busy', q850Cause: 17})
    assert.deepEqual(classifyCall({answered: false, finalStatus: 503, reason: 'Q.850;cause=17'}), {status: 'busy', q850Cause: 17})
  })

  it('classifies no-answer from 408, 480, causes 18/19 and ring timeouts', () => {
    assert.deepEqual(classifyCall({answered: false, finalStatus: 480}), {status: 'no-answer', q850Cause: 18})
    assert.deepEqual(classifyCall({answered: false, finalStatus: 408}), {status: 'no-answer', q850Cause: 102})
    assert.deepEqual(classifyCall({answered: false, finalStatus: 404, reason: 'Q.850;cause=19'}), {status: 'no-answer', q850Cause: 19})
    assert.deepEqual(classifyCall({answered: false, ringTimeout: true, finalStatus: 487}), {status: 'no-answer', q850Cause: 19})
  })

  it('classifies 487 and CANCEL before answer as canceled', () => {
    assert.deepEqual(classifyCall({answered: false, finalStatus: 487}), {status: 'canceled', q850Cause: 127})
    assert.deepEqual(classifyCall({answered: false, canceled: true}), {status: 'canceled', q850Cause: 16})
    assert.deepEqual(classifyCall({answered: false, canceled: true, finalStatus: 487, reason: 'Q.850;cause=16'}), {status: 'canceled', q850Cause: 16})
  })

  it('classifies everything else as failed, the Reason cause winning over the status', () => {
    assert.deepEqual(classifyCall({answered: false, finalStatus: 404}), {status: 'failed', q850Cause: 1})
    assert.deepEqual(classifyCall({answered: false, finalStatus: 503, reason: 'Q.850;cause=34;text="No circuit"'}), {status: 'failed', q850Cause: 34})
    assert.deepEqual(classifyCall({answered: false, finalStatus: 403}), {status: 'failed', q850Cause: 21})
    assert.deepEqual(classifyCall({answered: false}), {status: 'failed', q850Cause: 41})
  })

  it('only ever returns a declared status', () => {
    for (const finalStatus of [300, 400, 486, 487, 500, 600, 699]) assert.ok(CALL_STATUSES.includes(classifyCall({answered: false, finalStatus}).status))
  })
})
