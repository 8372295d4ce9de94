// The gateway with session timers (short intervals: sip.session_timers
// with the minimum lowered for the test) and reliable provisionals, SIPp as
// the caller: 422 with Min-SE, the BYE with Q.850 102 and its CDR when the
// caller takes the refresher role and never refreshes, the gateway's own
// refresh reaching the caller, and a caller requiring 100rel.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {TestGateway} from '../../../helpers/gateway.js'
import {runSipp} from '../../../helpers/peers.js'
import {uacAwaitingRefresh, uacNeverRefreshing, uacRequiring100relRinging, uacTooSmallThenRetry} from '../../src/sip/scenarios.js'

const MIN_SE = 2
const gw = new TestGateway()

before(() =>
  // Continues the `sip:` section testConfig opens.
  gw.start(`  session_timers: { enabled: true, expires_s: 30, min_se_s: ${MIN_SE} }
  reliable_provisionals: supported
`),
)
after(() => gw.stop())

describe('session timers at the gateway (RFC 4028)', () => {
  it('answers an interval below sip.session_timers.min_se_s with 422 and Min-SE; the retry is the one call', async () => {
    const caller = await runSipp({scenarioXml: uacTooSmallThenRetry(1, MIN_SE), target: gw.sip, service: '+15550004220'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004220')
    assert.equal(end.status, 'completed')
    assert.equal(gw.events.filter((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550004220').length, 1, 'the 422 is no call')
  })

  it('ends the call with BYE (Q.850 102) when the caller, the refresher, never refreshes; the CDR says completed, cause 102', async () => {
    const interval = 3
    const caller = await runSipp({scenarioXml: uacNeverRefreshing(interval), target: gw.sip, service: '+15550004221'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004221')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 102)
    assert.ok(end.answer_timestamp_ms !== null)
    const heldMs = end.end_timestamp_ms - end.answer_timestamp_ms
    assert.ok(heldMs >= 1800 && heldMs < 3000, `ended ${heldMs} ms after the answer (BYE due at 2 s)`)
  })

  it('refreshes the call itself with an UPDATE when the caller leaves it the refresher role', async () => {
    const caller = await runSipp({scenarioXml: uacAwaitingRefresh(4, true), target: gw.sip, service: '+15550004222'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004222')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
  })
})

describe('reliable provisionals at the gateway (RFC 3262)', () => {
  it('rings a caller requiring 100rel with a reliable 180, takes its PRACK, and connects', async () => {
    const caller = await runSipp({scenarioXml: uacRequiring100relRinging, target: gw.sip, service: '+15550004230'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550004230')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
  })
})
