// Health for load balancers and the drain behind one (docs/fleet.md), against a
// real daemon: out-of-dialog OPTIONS answer 200 while the gateway takes calls
// and 503 with Retry-After while it is full (security.limits.max_dialogs) or
// draining. A drain with a balancer probing turns the probes 503 at once but
// still takes the INVITEs sent during sip.drain_grace_s (SIPp calls that
// complete), refuses the ones after it, lets the call up finish, and `stop`
// exits 0. (The overloaded case is in ../security/overload.test.ts; a drain
// nobody probes refuses at once, in refused-attempts.test.ts.)
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall} from '../../../helpers/peers.js'
import {UdpSipPeer, type ReceivedSip} from '../../../helpers/sip-udp.js'

const GRACE_S = 4

// Indented: these keys continue the `sip:` section testConfig opens.
const CONFIG = `  drain_grace_s: ${GRACE_S}
security:
  limits: { max_dialogs: 1 }
`

const gw = new TestGateway()
let probe: UdpSipPeer
/** The first call's SIPp run: placed in one test, still up in the drain of the next. */
let talkerDone: Promise<{code: number; output: string}> | undefined
let probes = 0

/** One health probe, as a balancer (Kamailio's dispatcher) sends it: OPTIONS outside any dialog. */
const options = async (): Promise<ReceivedSip> => {
  probes += 1
  const callId = `probe-${probes}@health.test`
  probe.send(
    gw.sip,
    [
      `OPTIONS sip:${gw.sip} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${probe.port};branch=z9hG4bKprobe${probes}`,
      'Max-Forwards: 70',
      `From: <sip:balancer@127.0.0.1:${probe.port}>;tag=lb${probes}`,
      `To: <sip:${gw.sip}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  )
  return probe.next(`the answer to probe ${probes}`, (message) => message.status !== undefined && message.header('Call-ID')[0] === callId)
}

const sipStatus = async (): Promise<{health: string; takingCalls: boolean}> => {
  const status = await gw.home.json(['status'])
  assert.equal(status.code, 0, JSON.stringify(status.body))
  return status.body.result.sip
}

before(async () => {
  await gw.start(CONFIG)
  probe = await UdpSipPeer.open()
})

after(async () => {
  probe.close()
  await gw.stop()
})

describe('health probes (OPTIONS outside a dialog)', () => {
  it('answer 200 while the gateway takes calls', async () => {
    const answer = await options()
    assert.equal(answer.status, 200)
    assert.match(answer.header('Allow')[0] ?? '', /INVITE/)
    const sip = await sipStatus()
    assert.equal(sip.health, 'serving')
    assert.equal(sip.takingCalls, true)
  })

  it('answer 503 Too Many Calls with Retry-After while security.limits.max_dialogs is reached, 200 once a reload raises it', async () => {
    // Up long enough to be in progress when the drain below starts.
    const talker = await runSipp({scenarioXml: uacShortCall(15_000), target: gw.sip, service: '+15550000001'})
    await gw.answered((await gw.created('+15550000001')).call_sid)
    const full = await options()
    assert.equal(full.status, 503)
    assert.match(full.text, /^SIP\/2\.0 503 Too Many Calls\r\n/)
    assert.deepEqual(full.header('Retry-After'), ['5'])
    assert.equal((await sipStatus()).health, 'full')
    // The limit is security: a reload applies it at once, to the probes too.
    const config = readFileSync(join(gw.home.dir, 'clutchcall.yaml'), 'utf8')
    gw.home.writeConfig(config.replace('max_dialogs: 1', 'max_dialogs: 100'))
    const reload = await gw.home.json(['config', 'reload'])
    assert.equal(reload.code, 0, JSON.stringify(reload.body))
    assert.deepEqual(reload.body.result.applied, ['security.limits.max_dialogs'])
    assert.equal((await options()).status, 200)
    // This call stays up into the drain below.
    talkerDone = talker.done
  })

  it('during a drain: 503 Draining at once, new INVITEs still taken for the grace, refused after it; the calls up finish and stop exits 0', async () => {
    const began = Date.now()
    const stopping = gw.home.json(['stop', '--timeout', '40'])
    const draining = await waitFor('the probes turning 503', async () => {
      const answer = await options()
      return answer.status === 503 ? answer : undefined
    })
    assert.match(draining.text, /^SIP\/2\.0 503 Draining\r\n/)
    const retryAfter = Number(draining.header('Retry-After')[0])
    assert.ok(retryAfter >= 1 && retryAfter <= 40, `Retry-After is what is left of the drain timeout: ${retryAfter}`)
    const sip = await sipStatus()
    assert.equal(sip.health, 'draining')
    assert.equal(sip.takingCalls, true, 'within the grace')

    // A call the balancer sent before it saw the 503: taken, and it completes.
    const late = await runSipp({scenarioXml: uacShortCall(500), target: gw.sip, service: '+15550000002'})
    const lateResult = await late.done
    assert.equal(lateResult.code, 0, `the call sent during the grace is answered: ${lateResult.output}`)
    assert.equal((await gw.hangupOf('+15550000002')).status, 'completed')

    // After the grace: refused with 503.
    await waitFor('the end of the grace', async () => ((await sipStatus()).takingCalls ? undefined : true), GRACE_S * 1000 + 5000)
    assert.ok(Date.now() - began >= GRACE_S * 1000 - 200, 'not before the grace is over')
    const refused = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gw.sip, service: '+15550000003'})
    const refusal = await refused.done
    assert.equal(refusal.code, 0, `503 after the grace: ${refusal.output}`)
    assert.equal((await gw.hangupOf('+15550000003')).status, 'failed')
    assert.equal(await gw.metric(/^clutchcall_call_attempts_refused_total\{[^}]*reason="draining"\} (\d+)/m), 1)

    // The call up before the stop hangs up by itself (its 15 s hold), as a caller would: the drain waits for it.
    const kept = await talkerDone
    assert.equal(kept?.code, 0, `the call up before the drain ended with its own BYE: ${kept?.output}`)
    const stopped = await stopping
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    assert.equal(stopped.body.result.drainGraceMs, GRACE_S * 1000)
    assert.equal(stopped.body.result.activeCallsAtStop, 1, 'the first call was up when the drain began')
    assert.equal((await gw.hangupOf('+15550000001')).status, 'completed')
    const log = readFileSync(join(gw.home.dir, 'daemon.log'), 'utf8')
    assert.match(log, /"graceMs":4000[^\n]*draining: health probes \(OPTIONS\) get 503/)
  })
})

