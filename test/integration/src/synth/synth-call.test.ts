// `clutchcall synth call` (the built CLI) against real peers: the gateway's
// echo dialplan over UDP and TCP, with digest auth; a SIPp callee echoing RTP;
// a SIPp callee that is busy; and the gateway behind a lossy relay written
// here, whose known impairment the reported loss and jitter must match.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway} from '../../../helpers/gateway.js'
import {expectedJitterMs, LossyRelay, type Impairment} from '../../../helpers/lossy-relay.js'
import {runSipp, uasAnswering, uasBusy} from '../../../helpers/peers.js'
import {findAll, parseXml} from '../../../helpers/xml.js'

const gw = new TestGateway()

const config = `tenants:
  - { id: echo, dialplan: default }
trunks:
  - id: open
    tenant: echo
    inbound: { cidrs: [127.0.0.1/32], numbers: ["*"] }
  - id: authed
    tenant: echo
    inbound: { cidrs: [127.0.0.3/32], numbers: ["+1666*"], auth: { username: alice, password: wonderland } }
`

before(() => gw.start(config))
after(() => gw.stop())

const synth = (args: readonly string[], env: NodeJS.ProcessEnv = {}) => gw.home.json(['synth', 'call', ...args], env)

describe('synth call against the echo dialplan', () => {
  it('measures a call over UDP: PDD, 200, codec, packets, loss, jitter, RTT and MOS both ways, agreeing with the gateway', async () => {
    const run = await synth([`sip:+15550000001@${gw.sip}`, '--duration', '3'])
    assert.equal(run.code, 0, JSON.stringify(run.body))
    const {result} = run.body
    assert.equal(result.summary.calls, 1)
    assert.equal(result.summary.passed, 1)
    const call = result.calls[0]
    assert.equal(call.sipStatus, 200)
    assert.equal(call.result, 'completed')
    assert.equal(call.codec, 'PCMU')
    assert.equal(call.endedBy, 'local')
    assert.ok(call.pddMs > 0 && call.pddMs < 1000, `PDD ${call.pddMs}`)
    assert.ok(call.answerMs >= call.pddMs, `answer ${call.answerMs} after the 180 at ${call.pddMs}`)
    assert.ok(call.durationS >= 2.9 && call.durationS < 4, `duration ${call.durationS}`)
    assert.ok(call.inbound.packetsReceived >= 140, `received ${call.inbound.packetsReceived}`)
    assert.equal(call.inbound.packetsLost, 0)
    assert.ok(call.inbound.mos >= 4.3, `inbound MOS ${call.inbound.mos}`)
    // The gateway's final RTCP report (with its BYE) says what it received of our stream.
    assert.equal(call.outbound.source, 'rtcp')
    assert.equal(call.outbound.packetsLost, 0)
    assert.ok(call.outbound.mos >= 4.3, `outbound MOS ${call.outbound.mos}`)
    assert.ok(call.rttMs !== null && call.rttMs < 50, `RTT ${call.rttMs}`)
    assert.ok(call.audioDelayMs !== null && call.audioDelayMs < 100, `the echo of the test signal came back after ${call.audioDelayMs} ms`)
    const cdr = await gw.hangupOf('+15550000001')
    assert.equal(cdr.status, 'completed')
    assert.equal(cdr.codec, 'PCMU')
    assert.ok(Math.abs(cdr.packets_received - call.outbound.packetsSent) <= 2, `gateway received ${cdr.packets_received}, we sent ${call.outbound.packetsSent}`)
    assert.ok(Math.abs(cdr.packets_sent - call.inbound.packetsReceived) <= 2, `gateway echoed ${cdr.packets_sent}, we received ${call.inbound.packetsReceived}`)
  })

  it('places several calls at once over TCP with PCMA and an extra header, and writes one JUnit test case per call', async () => {
    const junit = gw.home.path('reports', 'tcp.xml')
    const before = gw.events.filter((event) => event.type === 'CHANNEL_CREATE').length
    const run = await synth([`sip:+15550000002@${gw.sipAddress('tcp')};transport=tcp`, '--codec', 'PCMA', '--count', '3', '--concurrency', '3', '--rate', '20', '--duration', '1', '--header', 'X-Synth: yes', '--junit', junit])
    assert.equal(run.code, 0, JSON.stringify(run.body))
    assert.equal(run.body.result.transport, 'tcp')
    assert.equal(run.body.result.calls.length, 3)
    for (const call of run.body.result.calls) {
      assert.equal(call.sipStatus, 200)
      assert.equal(call.codec, 'PCMA')
      assert.ok(call.inbound.packetsReceived >= 40, `received ${call.inbound.packetsReceived}`)
    }
    assert.deepEqual(run.body.result.calls.map((call: {index: number}) => call.index), [1, 2, 3])
    assert.equal(new Set(run.body.result.calls.map((call: {callId: string}) => call.callId)).size, 3)
    const creates = gw.events.filter((event) => event.type === 'CHANNEL_CREATE').length
    assert.ok(creates - before >= 3, `the gateway saw ${creates - before} calls`)
    const root = parseXml(readFileSync(junit, 'utf8'))
    assert.equal(root.name, 'testsuites')
    const [suite] = findAll(root, 'testsuite')
    assert.ok(suite)
    assert.equal(suite.attributes.tests, '3')
    assert.equal(suite.attributes.failures, '0')
    const cases = findAll(root, 'testcase')
    assert.equal(cases.length, 3)
    assert.deepEqual(cases.map((test) => findAll(test, 'failure').length), [0, 0, 0])
    assert.match(cases[0]?.attributes.name ?? '', /^call 1 \(/)
    assert.match(findAll(cases[0] as never, 'system-out')[0]?.text ?? '', /codec=PCMA/)
  })

  it('answers a digest challenge with --user and the password from the environment; a wrong password fails with 401', async () => {
    const target = `sip:+16660000001@${gw.sip}`
    const ok = await synth([target, '--duration', '1', '--local-address', '127.0.0.3', '--user', 'alice'], {CLUTCHCALL_SYNTH_PASSWORD: 'wonderland'})
    assert.equal(ok.code, 0, JSON.stringify(ok.body))
    assert.equal(ok.body.result.calls[0].sipStatus, 200)
    assert.equal((await gw.hangupOf('+16660000001')).trunk_id, 'authed')
    const wrong = await synth([`sip:+16660000002@${gw.sip}`, '--duration', '1', '--local-address', '127.0.0.3', '--user', 'alice', '--password', 'looking-glass'])
    assert.equal(wrong.code, 1)
    assert.equal(wrong.body.error?.code, 'CC_ERR_SYNTH_THRESHOLDS')
    assert.ok([401, 403].includes(wrong.body.error?.data.calls[0].sipStatus), JSON.stringify(wrong.body.error?.data.calls[0]))
  })
})

describe('synth call against SIPp', () => {
  it('measures a SIPp callee that echoes RTP (-rtp_echo): no RTCP from it, so outbound is unknown, the audio round trip is measured', async () => {
    const port = await freePort()
    const callee = await runSipp({scenarioXml: uasAnswering(), port, extraArgs: ['-rtp_echo']})
    const run = await synth([`sip:echo@127.0.0.1:${port}`, '--duration', '3'])
    const sipp = await callee.done
    assert.equal(run.code, 0, JSON.stringify(run.body))
    assert.equal(sipp.code, 0, sipp.output)
    const call = run.body.result.calls[0]
    assert.equal(call.sipStatus, 200)
    // SIPp answers with its own payload order (8 0 101): the first G.711 of the answer is used.
    assert.equal(call.codec, 'PCMA')
    assert.ok(call.pddMs !== null, 'SIPp rang (180)')
    assert.ok(call.inbound.packetsReceived >= 140, `echoed back ${call.inbound.packetsReceived}`)
    assert.equal(call.inbound.packetsLost, 0)
    assert.ok(call.inbound.mos >= 4.3)
    assert.equal(call.outbound.source, 'none')
    assert.equal(call.outbound.mos, null)
    assert.equal(call.rttMs, null)
    assert.ok(call.audioDelayMs !== null && call.audioDelayMs < 100, `audio round trip ${call.audioDelayMs}`)
  })

  it('a busy callee (486) fails the call with exit 1, status 486 and result busy; --expect-status 486 passes it', async () => {
    const port = await freePort()
    const callee = await runSipp({scenarioXml: uasBusy(), port})
    const run = await synth([`sip:busy@127.0.0.1:${port}`, '--duration', '1'])
    assert.equal((await callee.done).code, 0)
    assert.equal(run.code, 1, JSON.stringify(run.body))
    assert.equal(run.body.status, 1)
    assert.equal(run.body.error?.code, 'CC_ERR_SYNTH_THRESHOLDS')
    const call = run.body.error?.data.calls[0]
    assert.equal(call.sipStatus, 486)
    assert.equal(call.result, 'busy')
    assert.equal(call.q850Cause, 17)
    assert.equal(call.passed, false)
    assert.deepEqual(call.failures.map((failure: {threshold: string}) => failure.threshold), ['status'])
    assert.match(call.failures[0].message, /486.*expected 200/)

    const callee2 = await runSipp({scenarioXml: uasBusy(), port})
    const expected = await synth([`sip:busy@127.0.0.1:${port}`, '--expect-status', '486'])
    assert.equal((await callee2.done).code, 0)
    assert.equal(expected.code, 0, JSON.stringify(expected.body))
    assert.equal(expected.body.result.calls[0].sipStatus, 486)
  })

  it('human output: a table row per call and the summary; the failing threshold on stderr', async () => {
    const port = await freePort()
    const callee = await runSipp({scenarioXml: uasBusy(), port})
    const run = await gw.home.run(['synth', 'call', `sip:busy@127.0.0.1:${port}`])
    await callee.done
    assert.equal(run.code, 1)
    assert.match(run.stdout, /486 Busy Here/)
    assert.match(run.stdout, /Calls\s+1: 0 passed, 1 failed/)
    assert.match(run.stdout, /#1 status: final status 486 Busy Here, expected 200/)
    assert.match(run.stderr, /Error \(CC_ERR_SYNTH_THRESHOLDS\): 1 of 1 synthetic call\(s\) to sip:busy@127\.0\.0\.1:\d+ did not pass\n/)
  })
})

describe('synth call through a lossy relay', () => {
  // 5 % of RTP dropped in each direction; half of the rest delayed by 0-18 ms (one leg never reorders at 20 ms packets).
  const impairment: Impairment = {dropShare: 0.05, delayShare: 0.5, maxDelayMs: 18, seed: 7}

  it('reports the loss the relay caused (per direction, to within 3 packets) and its jitter (within 35 % + 1.5 ms + its own lateness); MOS drops and the thresholds fail', async () => {
    const [host, port] = gw.sip.split(':') as [string, string]
    const relay = await LossyRelay.start({address: host, port: Number(port)}, impairment)
    const junit = gw.home.path('reports', 'lossy.xml')
    let run
    try {
      run = await synth([`sip:+15550000003@127.0.0.1:${relay.sipPort}`, '--duration', '10', '--min-mos', '4.2', '--max-loss', '2', '--junit', junit])
    } finally {
      relay.close()
    }
    assert.equal(run.code, 1, JSON.stringify(run.body))
    assert.equal(run.body.error?.code, 'CC_ERR_SYNTH_THRESHOLDS')
    const call = run.body.error?.data.calls[0]
    assert.equal(call.sipStatus, 200)
    const sent = call.outbound.packetsSent
    assert.ok(sent >= 480, `sent ${sent}`)
    // Outbound: the gateway's RTCP counts what the relay dropped on the way to it.
    assert.equal(call.outbound.source, 'rtcp')
    assert.ok(Math.abs(call.outbound.packetsLost - relay.toCallee.rtpDropped) <= 3, `outbound lost ${call.outbound.packetsLost}, relay dropped ${relay.toCallee.rtpDropped}`)
    // Inbound: the gateway's echo renumbers what it got, so our loss is the return leg's drops.
    assert.ok(Math.abs(call.inbound.packetsLost - relay.toCaller.rtpDropped) <= 3, `inbound lost ${call.inbound.packetsLost}, relay dropped ${relay.toCaller.rtpDropped}`)
    assert.ok(Math.abs(call.outbound.lossPercent - 100 * impairment.dropShare) < 3, `outbound loss ${call.outbound.lossPercent} %`)
    assert.ok(Math.abs(call.inbound.lossPercent - 100 * impairment.dropShare) < 3, `inbound loss ${call.inbound.lossPercent} %`)
    // Jitter: one relay leg on the way out; both legs on the echo (it keeps our timestamp spacing).
    // The synth timestamps packets when its event loop gets to them: the lateness it reports is allowed on top.
    const lateness = run.body.error?.data.summary.loopDelayMs.p99 as number
    const oneLeg = expectedJitterMs(impairment, 1)
    const twoLegs = expectedJitterMs(impairment, 2)
    assert.ok(Math.abs(call.outbound.jitterMs - oneLeg) <= 0.35 * oneLeg + 1.5 + lateness, `outbound jitter ${call.outbound.jitterMs} ms, expected ${oneLeg.toFixed(2)} (synth lateness p99 ${lateness} ms)`)
    assert.ok(Math.abs(call.inbound.jitterMs - twoLegs) <= 0.35 * twoLegs + 1.5 + lateness, `inbound jitter ${call.inbound.jitterMs} ms, expected ${twoLegs.toFixed(2)} (synth lateness p99 ${lateness} ms)`)
    assert.ok(call.inbound.mos < 4.2 && call.outbound.mos < 4.2, `MOS ${call.inbound.mos} / ${call.outbound.mos}`)
    const thresholds = call.failures.map((failure: {threshold: string}) => failure.threshold)
    assert.ok(thresholds.includes('min-mos'), thresholds.join(','))
    assert.ok(thresholds.includes('max-loss'), thresholds.join(','))
    const root = parseXml(readFileSync(junit, 'utf8'))
    const cases = findAll(root, 'testcase')
    assert.equal(cases.length, 1)
    const [failure] = findAll(cases[0] as never, 'failure')
    assert.ok(failure, 'the test case failed')
    assert.match(failure.attributes.message ?? '', /MOS/)
    assert.match(failure.text, /max-loss: /)
    assert.equal(findAll(root, 'testsuite')[0]?.attributes.failures, '1')
  })
})
