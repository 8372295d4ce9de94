// Reliable provisionals (RFC 3262) with SIPp: SIPp requiring 100rel gets a
// reliable 183 with RSeq, PRACKs it and the call connects; when SIPp
// withholds its PRACK the 183 is retransmitted meanwhile (T1 doubling); and
// our UAC PRACKs SIPp's reliable 183 and takes its SDP as the answer when
// the 2xx carries none.
import assert from 'node:assert/strict'
import {after, afterEach, before, describe, it} from 'node:test'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {freePort} from '../../../helpers/cli.js'
import {uacRequiring100rel, uasReliable183} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

const T1 = 200

describe('SIPp requiring 100rel → our UA', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  let attempts: Array<{incoming: IncomingInvite; call?: SipCall}>
  before(async () => {
    ours = await startUa({timers: {t1: T1}})
    ours.ua.on('invite', (incoming) => {
      const attempt: {incoming: IncomingInvite; call?: SipCall} = {incoming}
      attempts.push(attempt)
      incoming.ring({sdp: SDP})
      incoming.answer(SDP).then((call) => (attempt.call = call), () => {})
    })
  })
  afterEach(async () => {
    await sipp?.stop()
    sipp = undefined
  })
  after(() => ours.close())

  for (const withholdMs of [0, 1000]) {
    it(withholdMs === 0 ? 'sends the 183 reliably, takes the PRACK, and the call connects' : 'retransmits the 183 while SIPp withholds its PRACK, then connects', async () => {
      attempts = []
      sipp = await Sipp.start({scenario: {xml: uacRequiring100rel(withholdMs)}, port: await freePort(), remote: `127.0.0.1:${ours.port('udp')}`})
      const run = await sipp.exited
      assert.equal(run.code, 0, Sipp.summary(run))
      const {incoming, call} = attempts[0] as {incoming: IncomingInvite; call?: SipCall}
      assert.equal(incoming.reliable?.counts.sent, 1)
      assert.equal(incoming.reliable?.counts.acknowledged, 1)
      const retransmissions = incoming.reliable?.counts.retransmissions ?? -1
      // Withheld 1 s at T1 = 200 ms: sent again at 200 and 600 ms (1400 comes after the PRACK).
      if (withholdMs === 0) assert.equal(retransmissions, 0)
      else assert.ok(retransmissions >= 2 && retransmissions <= 3, `${retransmissions} retransmissions`)
      assert.ok(call, 'the call connected')
      assert.equal((await call.ended).cause, 'bye')
    })
  }
})

describe('our UAC → SIPp sending a reliable 183', () => {
  let ours: TestUa
  let sipp: Sipp
  let port = 0
  before(async () => {
    ours = await startUa()
    port = await freePort()
    sipp = await Sipp.start({scenario: {xml: uasReliable183}, port})
  })
  after(async () => {
    await sipp.stop()
    await ours.close()
  })

  it('PRACKs the 183, and takes its SDP as the answer when the 2xx has none', async () => {
    const outgoing = ours.ua.invite({requestUri: `sip:service@127.0.0.1:${port}`, from: 'sip:caller@127.0.0.1', to: `sip:service@127.0.0.1:${port}`, sdp: SDP})
    const early = new Promise<Buffer | undefined>((resolve) => outgoing.once('provisional', (info) => resolve(info.sdp)))
    const result = await outgoing.result
    assert.ok(result.ok, result.ok ? '' : `failed: ${result.failure.status}`)
    assert.equal(outgoing.pracksSent, 1)
    assert.match((await early)?.toString() ?? '', /m=audio \d+ RTP\/AVP 0/)
    assert.equal(result.call.remoteSdp?.toString(), (await early)?.toString())
    assert.deepEqual(await result.call.bye(), {status: 200})
    const run = await sipp.exited
    assert.equal(run.code, 0, Sipp.summary(run))
  })
})
