// Traces of calls that are never answered, with real SIPp peers: a bridge to a
// busy callee (the caller then gets 486) and a caller that cancels while the
// B-leg rings (487 on both legs). The A-leg and B-leg `sip.setup` spans carry
// the final status and outcome, the unanswered B-leg has its `rtp.setup`, its
// log lines carry the call's trace_id, and the call has no codec anywhere.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../../helpers/otlp-receiver.js'
import {runSipp, uacCancelling, uacExpectingRefusal, uasBusy, uasRingingUntilCancel} from '../../../../helpers/peers.js'

const receiver = new OtlpReceiver()
const gw = new TestGateway()
let busyPort = 0
let ringingPort = 0

const config = (endpoint: string) => `tracing:
  endpoint: ${endpoint}
tenants:
  - { id: to-busy, dialplan: bridge-busy }
  - { id: to-ringing, dialplan: bridge-ringing }
trunks:
  - { id: in-busy, tenant: to-busy, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] } }
  - { id: in-ringing, tenant: to-ringing, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1888*"] } }
  - { id: busy-callee, tenant: to-busy, outbound: { uri: "sip:127.0.0.1:${busyPort}" } }
  - { id: ringing-callee, tenant: to-ringing, outbound: { uri: "sip:127.0.0.1:${ringingPort}" } }
dialplans:
  bridge-busy:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: busy-callee, timeout_s: 5, next: { busy: busy, default: bye } }
      busy: { type: hangup, cause: 17 }
      bye: { type: hangup, cause: 16 }
  bridge-ringing:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: ringing-callee, timeout_s: 20, next: { default: bye } }
      bye: { type: hangup, cause: 16 }
`

const byName = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((span) => span.name === name)
const legSpan = (spans: readonly ReceivedSpan[], name: string, leg: 'a' | 'b'): ReceivedSpan | undefined =>
  byName(spans, name).find((span) => (span.attributes['sip.leg'] ?? 'a') === leg)

/** The daemon's log lines of the B-leg of a call. */
const bLegLogLines = (callSid: string): Array<Record<string, unknown>> =>
  readFileSync(gw.home.path('daemon.log'), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.call_sid === callSid && line.leg === 'b')

before(async () => {
  await receiver.start()
  busyPort = await freePort()
  ringingPort = await freePort()
  await gw.start(config(receiver.endpoint))
})

after(async () => {
  await gw.stop()
  await receiver.stop()
})

describe('traces of unanswered calls', () => {
  it('busy callee: the B-leg sip.setup says 486/busy, the A-leg sip.setup says 486, the B-leg has rtp.setup, and the call has no codec', async () => {
    const callee = await runSipp({scenarioXml: uasBusy(), port: busyPort})
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(486), target: gw.sip, service: '+17770000001'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, b.output)
    const end = await gw.hangupOf('+17770000001')
    assert.equal(end.status, 'busy')
    assert.equal(end.q850_cause, 17)
    assert.equal(end.codec, '', 'an unanswered call has no codec')

    const spans = await receiver.traceOf(end.call_sid)
    const root = byName(spans, 'call')[0]
    assert.equal(root?.attributes['call.codec'], '')
    const aSetup = legSpan(spans, 'sip.setup', 'a')
    assert.equal(aSetup?.attributes['sip.status_code'], 486)
    assert.equal(aSetup?.attributes['sip.outcome'], 'busy')
    assert.equal(aSetup?.statusCode, 0, 'busy is an outcome, not an error')
    const bSetup = legSpan(spans, 'sip.setup', 'b')
    assert.equal(bSetup?.attributes['sip.status_code'], 486)
    assert.equal(bSetup?.attributes['sip.outcome'], 'busy')
    const bridge = byName(spans, 'dialplan.node.bridge')[0]
    const bRtp = legSpan(spans, 'rtp.setup', 'b')
    assert.ok(bRtp, `a B-leg rtp.setup in ${JSON.stringify(spans.map((span) => [span.name, span.attributes['sip.leg']]))}`)
    assert.equal(bRtp.parentSpanId, bridge?.spanId)
    assert.equal(bRtp.attributes['sip.call_id'], bSetup?.attributes['sip.call_id'])
    assert.equal(bRtp.attributes['rtp.codec'], undefined, 'no codec: never answered')

    const lines = bLegLogLines(end.call_sid)
    assert.ok(lines.length > 0, 'the B-leg logged')
    for (const line of lines) assert.equal(line.trace_id, root?.traceId, `B-leg log line ${JSON.stringify(line)}`)
  })

  it('caller cancels while the B-leg rings: A-leg sip.setup 487/canceled, B-leg sip.setup 487/canceled after the call ended, B-leg rtp.setup, no codec', async () => {
    const callee = await runSipp({scenarioXml: uasRingingUntilCancel(), port: ringingPort})
    const caller = await runSipp({scenarioXml: uacCancelling(), target: gw.sip, service: '+18880000001'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, b.output)
    const end = await gw.hangupOf('+18880000001')
    assert.equal(end.status, 'canceled')
    assert.equal(end.codec, '', 'an unanswered call has no codec, however long it rang')

    await receiver.traceOf(end.call_sid)
    // The B-leg's 487 comes after the caller's CANCEL ended the call: its span follows the root.
    const bSetup = await waitFor('the B-leg sip.setup', () => legSpan(receiver.spansOf(end.call_sid), 'sip.setup', 'b'))
    const spans = receiver.spansOf(end.call_sid)
    const root = byName(spans, 'call')[0]
    assert.equal(root?.attributes['call.codec'], '')
    const aSetup = legSpan(spans, 'sip.setup', 'a')
    assert.equal(aSetup?.attributes['sip.status_code'], 487)
    assert.equal(aSetup?.attributes['sip.outcome'], 'canceled')
    assert.equal(bSetup.attributes['sip.status_code'], 487)
    assert.equal(bSetup.attributes['sip.outcome'], 'canceled')
    assert.equal(bSetup.traceId, root?.traceId)
    const bridge = byName(spans, 'dialplan.node.bridge')[0]
    assert.equal(bSetup.parentSpanId, bridge?.spanId)
    const bRtp = await waitFor('the B-leg rtp.setup', () => legSpan(receiver.spansOf(end.call_sid), 'rtp.setup', 'b'))
    assert.equal(bRtp.parentSpanId, bridge?.spanId)
    assert.equal(bRtp.statusCode, 0)

    const lines = bLegLogLines(end.call_sid)
    assert.ok(lines.length > 0, 'the B-leg logged')
    for (const line of lines) assert.equal(line.trace_id, root?.traceId, `B-leg log line ${JSON.stringify(line)}`)
  })
})
