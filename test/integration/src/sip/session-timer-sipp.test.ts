// Session timers (RFC 4028) with SIPp as the peer of our user agent: 422
// with Min-SE and the retry SIPp makes, our BYE (Q.850 102) when SIPp takes
// the refresher role and never refreshes, and our own refresh reaching SIPp
// as an UPDATE (SIPp allows it) or a re-INVITE with the same SDP (it does
// not). SIPp exits 0 only if every message matched its scenario.
import assert from 'node:assert/strict'
import {after, afterEach, before, describe, it} from 'node:test'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {freePort} from '../../../helpers/cli.js'
import {uacAwaitingRefresh, uacNeverRefreshing, uacTooSmallThenRetry} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

const MIN_SE = 2

describe('session timers between SIPp and our UA', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  let calls: Array<{call: SipCall; answeredAt: number}>

  before(async () => {
    ours = await startUa({sessionTimers: {expiresS: 30, minSeS: MIN_SE}})
    ours.ua.on('invite', (incoming) => {
      incoming.answer(SDP).then((call) => calls.push({call, answeredAt: performance.now()}), () => {})
    })
  })
  afterEach(async () => {
    await sipp?.stop()
    sipp = undefined
  })
  after(() => ours.close())

  const run = async (xml: string): Promise<void> => {
    calls = []
    let result
    // Other suites share the machine: a port found free can be taken before SIPp binds it; one more try with another.
    for (let attempt = 0; attempt < 2; attempt++) {
      sipp = await Sipp.start({scenario: {xml}, port: await freePort(), remote: `127.0.0.1:${ours.port('udp')}`})
      result = await sipp.exited
      if (!/Unable to bind main socket/.test(result.diagnostics + result.stdout)) break
      await sipp.stop()
    }
    assert.ok(result)
    assert.equal(result.code, 0, Sipp.summary(result))
  }

  it('answers an interval below the minimum with 422 and Min-SE, and takes the retry that meets it', async () => {
    await run(uacTooSmallThenRetry(1, MIN_SE))
    assert.equal(calls.length, 1, 'only the retry became a call')
    assert.equal(calls[0]?.call.end?.cause, 'bye')
  })

  it('ends the call with BYE and Q.850 102 when SIPp, the refresher, never refreshes: a third of the interval before expiry', async () => {
    const interval = 3
    await run(uacNeverRefreshing(interval))
    const {call} = calls[0] as {call: SipCall}
    const end = await call.ended
    assert.equal(end.cause, 'session-expired')
    assert.equal(end.q850Cause, 102)
    const afterMs = end.at - call.timing.answeredAt
    // §10: BYE at 3 - min(32, 3/3) = 2 s after the 2xx.
    assert.ok(afterMs >= 1900 && afterMs < 2600, `BYE ${afterMs.toFixed(0)} ms after the answer`)
  })

  for (const allowUpdate of [true, false]) {
    it(`refreshes at half the interval with ${allowUpdate ? 'an UPDATE without SDP (SIPp allows UPDATE)' : 'a re-INVITE carrying the same SDP (SIPp allows no UPDATE)'}`, async () => {
      const interval = 4
      const started = performance.now()
      await run(uacAwaitingRefresh(interval, allowUpdate))
      const {call} = calls[0] as {call: SipCall}
      assert.equal(call.sessionTimer?.refreshes, 1)
      assert.equal(call.sessionTimer?.refresher, 'local')
      assert.equal((await call.ended).cause, 'bye')
      const tookMs = performance.now() - started
      assert.ok(tookMs >= interval * 500 - 100, `the refresh came after ${tookMs.toFixed(0)} ms, not before half the interval`)
    })
  }
})
