// SIPp calling our UA: the built-in UAC over UDP and a custom UAC over TCP
// (-t t1) that checks our Contact. Our UA rings and answers; SIPp ACKs and
// hangs up. SIPp exits 0 only if every message matched its scenario.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {uacCall} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

const cases = [
  {name: 'sipp -sn uac over UDP', transport: 'udp', scenario: {builtin: 'uac'}},
  {name: 'custom SIPp UAC over TCP (-t t1)', transport: 'tcp', scenario: {xml: uacCall('transport=tcp')}},
] as const

for (const {name, transport, scenario} of cases) {
  describe(`${name} → our UA`, () => {
    let ours: TestUa
    let sipp: Sipp | undefined
    const calls: SipCall[] = []

    before(async () => {
      ours = await startUa()
      ours.ua.on('invite', (incoming) => {
        incoming.ring()
        incoming.answer(SDP).then((call) => calls.push(call), () => {})
      })
    })
    after(async () => {
      await sipp?.stop()
      await ours.close()
    })

    it('is answered, ACKed and hung up by SIPp, every message as SIPp expects', async () => {
      sipp = await Sipp.start({scenario, port: await freePort(), transport, remote: `127.0.0.1:${ours.port(transport)}`})
      const run = await sipp.exited
      assert.equal(run.code, 0, Sipp.summary(run))
      assert.equal(calls.length, 1)
      const call = calls[0] as SipCall
      const end = await call.ended
      assert.equal(end.by, 'remote')
      assert.equal(end.cause, 'bye')
      assert.equal(call.direction, 'inbound')
      assert.equal(ours.ua.dialogCount, 0)
    })
  })
}
