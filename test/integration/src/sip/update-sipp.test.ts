// UPDATE (RFC 3311) from SIPp in an established call: an offer putting the
// call on hold is answered recvonly (SIPp checks it), an UPDATE without a
// body gets 200 without one.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {freePort} from '../../../helpers/cli.js'
import {uacUpdateHold} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

describe('UPDATE from SIPp', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  before(async () => {
    ours = await startUa()
  })
  after(async () => {
    await sipp?.stop()
    await ours.close()
  })

  it('answers an UPDATE offer mid-call like a re-INVITE offer and an UPDATE without SDP with 200', async () => {
    const offers: string[] = []
    const calls: SipCall[] = []
    ours.ua.on('invite', (incoming) => {
      incoming.ring()
      incoming.answer(SDP).then((call) => {
        calls.push(call)
        call.on('remote-sdp', (sdp) => offers.push(/a=(sendrecv|sendonly|recvonly|inactive)/.exec(sdp.toString())?.[1] ?? '?'))
      }, () => {})
    })
    sipp = await Sipp.start({scenario: {xml: uacUpdateHold}, port: await freePort(), remote: `127.0.0.1:${ours.port('udp')}`})
    const run = await sipp.exited
    assert.equal(run.code, 0, Sipp.summary(run))
    assert.deepEqual(offers, ['sendonly'])
    assert.match((calls[0] as SipCall).localSdp.toString(), /a=recvonly/)
  })
})
