// Call failures and CANCEL against SIPp: a 486 maps to cause 17 unless a
// `Reason: Q.850` header says otherwise; our cancel() against a UAS that
// only rings; a SIPp UAC cancelling our ringing call.
import assert from 'node:assert/strict'
import {after, afterEach, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {uacCancel, uasReject, uasRingUntilCancel} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

describe('failures and CANCEL against SIPp', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  before(async () => {
    ours = await startUa()
  })
  afterEach(async () => {
    await sipp?.stop()
    sipp = undefined
    ours.ua.removeAllListeners('invite')
  })
  after(() => ours.close())

  const callSipp = async (xml: string) => {
    const port = await freePort()
    sipp = await Sipp.start({scenario: {xml}, port})
    return ours.ua.invite({requestUri: `sip:service@127.0.0.1:${port}`, from: 'sip:caller@127.0.0.1', to: 'sip:service@127.0.0.1', sdp: SDP})
  }

  it('reports 486 Busy Here as failed with status 486 and cause 17', async () => {
    const result = await (await callSipp(uasReject('486 Busy Here'))).result
    assert.ok(!result.ok)
    assert.deepEqual({status: result.failure.status, cause: result.failure.q850Cause, source: result.failure.source}, {status: 486, cause: 17, source: 'response'})
    const run = await (sipp as Sipp).exited
    assert.equal(run.code, 0, Sipp.summary(run))
  })

  it('takes the cause from a Reason: Q.850 header over the status mapping', async () => {
    const result = await (await callSipp(uasReject('486 Busy Here', ['Reason: Q.850;cause=17;text="User busy"']))).result
    assert.ok(!result.ok)
    assert.equal(result.failure.q850Cause, 17)
    const rejected = await (await callSipp(uasReject('486 Busy Here', ['Reason: Q.850;cause=21']))).result
    assert.ok(!rejected.ok)
    assert.equal(rejected.failure.status, 486)
    assert.equal(rejected.failure.q850Cause, 21, 'the header wins over 486 → 17')
  })

  it('cancels a call that only rings: CANCEL after the 180, then the 487 ends it', async () => {
    const outgoing = await callSipp(uasRingUntilCancel)
    outgoing.once('provisional', () => outgoing.cancel({q850Cause: 16}))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.deepEqual({status: result.failure.status, canceled: result.failure.canceled}, {status: 487, canceled: true})
    const run = await (sipp as Sipp).exited
    assert.equal(run.code, 0, Sipp.summary(run))
  })

  it('answers a CANCEL from SIPp with 200 and the INVITE with 487, and tells the application', async () => {
    const cancelled = new Promise<{state: string; cause: number | undefined}>((resolve) => {
      ours.ua.on('invite', (incoming: IncomingInvite) => {
        incoming.ring()
        incoming.on('cancelled', (_request, cause) => resolve({state: incoming.state, cause}))
      })
    })
    sipp = await Sipp.start({scenario: {xml: uacCancel}, port: await freePort(), remote: `127.0.0.1:${ours.port('udp')}`})
    assert.deepEqual(await cancelled, {state: 'cancelled', cause: 31})
    const run = await sipp.exited
    assert.equal(run.code, 0, Sipp.summary(run))
  })
})
