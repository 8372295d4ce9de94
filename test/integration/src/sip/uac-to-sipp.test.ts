// Our UAC against SIPp's built-in UAS (`-sn uas`) on UDP and TCP: the call
// is set up (180, 200, our ACK), PDD timestamps are set, and our BYE ends
// it; SIPp exits 0 only if every message matched its scenario.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

for (const transport of ['udp', 'tcp'] as const) {
  describe(`our UAC → sipp -sn uas over ${transport.toUpperCase()}`, () => {
    let ours: TestUa
    let sipp: Sipp
    let port = 0

    before(async () => {
      ours = await startUa()
      port = await freePort()
      sipp = await Sipp.start({scenario: {builtin: 'uas'}, port, transport})
    })
    after(async () => {
      await sipp.stop()
      await ours.close()
    })

    it('sets up the call, records PDD, hangs up with BYE', async () => {
      const outgoing = ours.ua.invite({
        requestUri: `sip:service@127.0.0.1:${port}${transport === 'tcp' ? ';transport=tcp' : ''}`,
        from: 'sip:caller@127.0.0.1',
        to: `sip:service@127.0.0.1:${port}`,
        sdp: SDP,
        headers: {traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'},
      })
      const provisional = new Promise<number>((resolve) => outgoing.once('provisional', (info) => resolve(info.status)))
      const result = await outgoing.result
      assert.ok(result.ok, result.ok ? '' : `failed: ${result.failure.status}`)
      assert.equal(await provisional, 180)
      const {inviteSentAt, firstProvisionalAt, answeredAt} = outgoing.timing
      assert.ok(inviteSentAt !== undefined && firstProvisionalAt !== undefined && answeredAt !== undefined)
      assert.ok(inviteSentAt <= firstProvisionalAt && firstProvisionalAt <= answeredAt)
      assert.ok((outgoing.pddMs ?? -1) >= 0)
      assert.match(result.call.remoteSdp?.toString() ?? '', /m=audio \d+ RTP\/AVP 0/)
      assert.deepEqual(await result.call.bye({q850Cause: 16}), {status: 200})
      const run = await sipp.exited
      assert.equal(run.code, 0, Sipp.summary(run))
      if (transport === 'tcp') assert.equal(ours.transport.counters.tcpConnectionsOpened, 1, 'one connection carried the whole call')
    })
  })
}
