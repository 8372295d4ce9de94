// Real calls through a real daemon, with SIPp as caller and callee: the echo
// dialplan with audio, a bridge to a SIPp callee, busy, no-answer, CANCEL, BYE
// from either side, a digest-authenticated trunk, 403 and 404. The call events
// (`calls tail --json`) and the metrics are checked against what happened.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway} from '../../../helpers/gateway.js'
import {runSipp, uacAwaitingBye, uacCancelling, uacExpectingRefusal, uacWithAudio, uacWithDigest, uasAnswering, uasBusy, uasRingingUntilCancel} from '../../../helpers/peers.js'

const gw = new TestGateway()
let gateway = ''
let calleePort = 0

const config = (callee: number) => `tenants:
  - { id: echo, dialplan: default }
  - { id: bridger, dialplan: bridge-plan }
trunks:
  - id: local-echo
    tenant: echo
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] }
  - id: local-bridge
    tenant: bridger
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] }
  - id: authed
    tenant: echo
    inbound: { cidrs: [127.0.0.3/32], numbers: ["+1666*"], auth: { username: alice, password: wonderland } }
  - id: callee
    tenant: bridger
    outbound: { uri: "sip:127.0.0.1:${callee}" }
dialplans:
  bridge-plan:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: callee, timeout_s: 2, next: { answered: bye, busy: busy, no-answer: noanswer, failed: failed } }
      busy: { type: hangup, cause: 17 }
      noanswer: { type: hangup, cause: 19 }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }
`

const hangupOf = (to: string) => gw.hangupOf(to)
const eventsOf = (sid: string) => gw.typesOf(sid)
const events = gw.events
const metric = (line: RegExp) => gw.metric(line)

before(async () => {
  calleePort = await freePort()
  await gw.start(config(calleePort))
  gateway = gw.sip
})

after(() => gw.stop())

describe('the echo dialplan', () => {
  it('answers a SIPp caller, echoes its audio, and reports the call in order with its CDR fields', async () => {
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gateway, service: '+15550000001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await hangupOf('+15550000001')
    assert.deepEqual(eventsOf(end.call_sid).filter((type) => type !== 'CHANNEL_QUALITY'), ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_HANGUP_COMPLETE'])
    assert.ok(eventsOf(end.call_sid).includes('CHANNEL_QUALITY'), 'quality updates while the call is up')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.equal(end.direction, 'inbound')
    assert.equal(end.tenant_id, 'echo')
    assert.equal(end.trunk_id, 'local-echo')
    assert.equal(end.from_number, '+15550001111')
    assert.equal(end.codec, 'PCMA')
    assert.ok(end.packets_received >= 200, `received ${end.packets_received}`)
    assert.ok(end.packets_sent >= 200, `echoed ${end.packets_sent}`)
    assert.ok(end.packets_lost <= 2, `lost ${end.packets_lost}`)
    assert.ok(end.estimated_mos >= 4, `MOS ${end.estimated_mos}`)
    assert.ok(end.duration_seconds >= 6 && end.duration_seconds <= 9, `duration ${end.duration_seconds}`)
    assert.ok(end.answer_timestamp_ms !== null && end.answer_timestamp_ms - end.start_timestamp_ms < 1000)
  })

  it('works over TCP too', async () => {
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gw.sipAddress('tcp'), service: '+15550000002', transport: 't1'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    assert.equal((await hangupOf('+15550000002')).status, 'completed')
  })

  it('hangs up from the gateway side with `calls hangup`: the caller gets a BYE', async () => {
    const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gateway, service: '+15550000003'})
    const create = await gw.created('+15550000003')
    await gw.answered(create.call_sid)
    const hangup = await gw.home.json(['calls', 'hangup', create.call_sid, '--cause', '16'])
    assert.equal(hangup.code, 0, JSON.stringify(hangup.body))
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await hangupOf('+15550000003')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
  })

  it('`calls hangup` takes the short sid `calls tail` shows (CA and 8 hex digits)', async () => {
    const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gateway, service: '+15550000004'})
    const create = await gw.created('+15550000004')
    await gw.answered(create.call_sid)
    const short = create.call_sid.slice(0, 10)
    const hangup = await gw.home.json(['calls', 'hangup', short, '--cause', '21'])
    assert.equal(hangup.code, 0, JSON.stringify(hangup.body))
    assert.equal(hangup.body.result.call_sid, create.call_sid)
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    assert.equal((await hangupOf('+15550000004')).q850_cause, 21)
  })
})

describe('bridging to a SIPp callee', () => {
  it('relays audio both ways between the legs and ends both when the caller hangs up', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gateway, service: '+17770000001'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, b.output)
    const end = await hangupOf('+17770000001')
    assert.equal(end.status, 'completed')
    assert.equal(end.trunk_id, 'local-bridge')
    assert.ok(end.packets_received >= 200, `A-leg received ${end.packets_received}`)
    assert.ok(end.packets_sent >= 200, `the callee's echo relayed back: ${end.packets_sent}`)
  })

  it('a busy callee makes the caller busy (486, cause 17)', async () => {
    const callee = await runSipp({scenarioXml: uasBusy(), port: calleePort})
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(486), target: gateway, service: '+17770000002'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, b.output)
    const end = await hangupOf('+17770000002')
    assert.equal(end.status, 'busy')
    assert.equal(end.q850_cause, 17)
    assert.equal(end.answer_timestamp_ms, null)
    assert.equal(end.duration_seconds, 0)
  })

  it('a callee that does not answer in time is cancelled and the caller gets no-answer (480, cause 19)', async () => {
    const callee = await runSipp({scenarioXml: uasRingingUntilCancel(), port: calleePort})
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(480), target: gateway, service: '+17770000003'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, `the callee saw a CANCEL: ${b.output}`)
    const end = await hangupOf('+17770000003')
    assert.equal(end.status, 'no-answer')
    assert.equal(end.q850_cause, 19)
  })

  it('a caller who cancels while the callee rings cancels both legs', async () => {
    const callee = await runSipp({scenarioXml: uasRingingUntilCancel(), port: calleePort})
    const caller = await runSipp({scenarioXml: uacCancelling(), target: gateway, service: '+17770000004'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, `the callee saw a CANCEL: ${b.output}`)
    const end = await hangupOf('+17770000004')
    assert.equal(end.status, 'canceled')
  })
})

describe('trunk admission', () => {
  it('a trunk with credentials challenges, then takes the authenticated call', async () => {
    const caller = await runSipp({scenarioXml: uacWithDigest(), target: gateway, service: '+16660000001', localIp: '127.0.0.3'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await hangupOf('+16660000001')
    assert.equal(end.trunk_id, 'authed')
    assert.equal(end.status, 'completed')
  })

  it('an unknown source gets no answer at all (security.unknown_sources: drop, the default) and no call is created', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(403), target: gateway, service: '+15550000009', localIp: '127.0.0.2', timeoutS: 3})
    const {code, output} = await caller.done
    assert.notEqual(code, 0, `SIPp got an answer: ${output}`)
    assert.equal(events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550000009'), false)
  })

  it('a number no trunk of the source serves gets 404', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(404), target: gateway, service: '+19990000000'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
  })
})

describe('metrics after those calls', () => {
  it('count every call by tenant, trunk, direction and result, and the media they carried', async () => {
    const expectAtLeast = async (pattern: RegExp, minimum: number) => {
      const value = await metric(pattern)
      assert.ok(value >= minimum, `${pattern.source}: ${value} < ${minimum}`)
    }
    // Echo calls: the UDP and TCP ones, the one hung up from the gateway, and the digest one on its own trunk.
    await expectAtLeast(/^clutchcall_calls_total\{tenant="echo",trunk="local-echo",direction="inbound",result="completed"\} (\d+)$/m, 3)
    await expectAtLeast(/^clutchcall_calls_total\{tenant="echo",trunk="authed",direction="inbound",result="completed"\} (\d+)$/m, 1)
    assert.equal(await metric(/^clutchcall_calls_total\{tenant="bridger",trunk="local-bridge",direction="inbound",result="busy"\} (\d+)$/m), 1)
    assert.equal(await metric(/^clutchcall_calls_total\{tenant="bridger",trunk="local-bridge",direction="inbound",result="no-answer"\} (\d+)$/m), 1)
    assert.equal(await metric(/^clutchcall_calls_total\{tenant="bridger",trunk="local-bridge",direction="inbound",result="canceled"\} (\d+)$/m), 1)
    assert.equal(await metric(/^clutchcall_calls_active\{tenant="echo",trunk="local-echo"\} (\d+)$/m), 0)
    // Three calls that played the whole 7 s recording at the gateway, one cut short.
    await expectAtLeast(/^clutchcall_rtp_packets_total\{direction="rx",codec="PCMA"\} (\d+)$/m, 600)
    await expectAtLeast(/^clutchcall_rtp_packets_total\{direction="tx",codec="PCMA"\} (\d+)$/m, 600)
    await expectAtLeast(/^clutchcall_estimated_mos_count\{tenant="echo"\} (\d+)$/m, 3)
    assert.equal(await metric(/^clutchcall_call_duration_seconds_count\{tenant="bridger",trunk="local-bridge",result="busy"\} (\d+)$/m), 1)
    await expectAtLeast(/^clutchcall_codec_engine_lag_us_count\{shard="0"\} (\d+)$/m, 1)
  })
})
