// Correctness under load (not a timing test): SIPp's built-in UAC places
// 500 calls at 100 per second; our UA answers each, SIPp hangs up each,
// and every call must succeed on both sides.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

const CALLS = 500

describe('load: sipp -sn uac -r 100 -m 500 → our UA', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  before(async () => {
    ours = await startUa()
  })
  after(async () => {
    await sipp?.stop()
    await ours.close()
  })

  it('answers all 500 calls and every one ends with SIPp\'s BYE', async (t) => {
    let answered = 0
    let ended = 0
    let failed = 0
    ours.ua.on('invite', (incoming) => {
      incoming.answer(SDP).then((call) => {
        answered++
        void call.ended.then(() => ended++)
      }, () => failed++)
    })
    const cpuBefore = process.cpuUsage()
    const startedAt = performance.now()
    sipp = await Sipp.start({scenario: {builtin: 'uac'}, port: await freePort(), remote: `127.0.0.1:${ours.port('udp')}`, calls: CALLS, extra: ['-r', '100']})
    const run = await sipp.exited
    const seconds = (performance.now() - startedAt) / 1000
    const cpu = process.cpuUsage(cpuBefore)
    assert.equal(run.code, 0, Sipp.summary(run))
    assert.match(run.stdout, new RegExp(`Successful call\\s*\\|\\s*\\d+\\s*\\|\\s*${CALLS}\\b`))
    assert.deepEqual({answered, ended, failed}, {answered: CALLS, ended: CALLS, failed: 0})
    assert.equal(ours.ua.dialogCount, 0)
    assert.equal(ours.transport.counters.badMessagesDropped + ours.transport.counters.badRequestsAnswered, 0)
    t.diagnostic(`${CALLS} calls in ${seconds.toFixed(1)} s; UA process CPU ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms (${((cpu.user + cpu.system) / 1000 / CALLS).toFixed(2)} ms per call)`)
  })
})
