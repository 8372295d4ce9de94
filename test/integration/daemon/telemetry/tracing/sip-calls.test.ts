// Traces of real SIP calls (DESIGN §7): a daemon exporting OTLP/HTTP protobuf
// to a receiver in the test that decodes it with the official proto
// definitions. SIPp calls: the echo plan (root span, trunk lookup, SIP setup,
// RTP setup, one span per dialplan node, parent/child and attributes), a
// bridge (the B-leg INVITE carries `traceparent`, the SIPp callee checks it;
// the B-leg's SIP and RTP setup spans under the bridge node),
// an inbound INVITE with `traceparent` (the trace continues it), and a
// collector that is down (calls complete, one warning in the log).
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../../helpers/cli.js'
import {sleep, TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../../helpers/otlp-receiver.js'
import {runSipp, uacAwaitingBye, uacExpectingRefusal, uacShortCall, uacShortCallWithHeaders, uasAnswering} from '../../../../helpers/peers.js'

const receiver = new OtlpReceiver()
const gw = new TestGateway()
let calleePort = 0

const config = (endpoint: string, callee: number) => `tracing:
  endpoint: ${endpoint}
tenants:
  - { id: echo, dialplan: short-echo }
  - { id: bridger, dialplan: bridge-plan }
trunks:
  - id: local-echo
    tenant: echo
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] }
  - id: local-bridge
    tenant: bridger
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] }
  - id: callee
    tenant: bridger
    outbound: { uri: "sip:127.0.0.1:${callee}" }
dialplans:
  short-echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 1, next: bye }
      bye: { type: hangup, cause: 16 }
  bridge-plan:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: callee, timeout_s: 5, next: { answered: bye, default: bye } }
      bye: { type: hangup, cause: 16 }
`

const byName = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan[] => spans.filter((span) => span.name === name)
const one = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan => {
  const found = byName(spans, name)
  assert.equal(found.length, 1, `one ${name} span in ${JSON.stringify(spans.map((span) => span.name))}`)
  return found[0] as ReceivedSpan
}

before(async () => {
  await receiver.start()
  calleePort = await freePort()
  await gw.start(config(receiver.endpoint, calleePort))
})

after(async () => {
  await gw.stop()
  await receiver.stop()
})

describe('traces of SIP calls', () => {
  it('one trace per call: root `call` with tenant.id, call.sid, transport=sip; trunk lookup, SIP setup, RTP setup and each node as children', async () => {
    // The echo node ends after a second, the hangup node sends the BYE: every node of the plan runs.
    const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gw.sip, service: '+15550000001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550000001')
    const spans = await receiver.traceOf(end.call_sid)

    const root = one(spans, 'call')
    assert.equal(root.parentSpanId, '', 'a call without traceparent starts its own trace')
    assert.equal(root.kind, 2, 'SERVER')
    assert.equal(root.resource['service.name'], 'clutchcall-gateway')
    assert.ok(root.resource['service.instance.id'], 'service.instance.id')
    assert.equal(root.attributes['call.status'], 'completed')
    assert.equal(root.attributes['call.q850_cause'], 16)
    for (const span of spans) {
      assert.equal(span.traceId, root.traceId, `${span.name} in the call's trace`)
      assert.equal(span.attributes['tenant.id'], 'echo', `${span.name} tenant.id`)
      assert.equal(span.attributes['call.sid'], end.call_sid, `${span.name} call.sid`)
      assert.equal(span.attributes.transport, 'sip', `${span.name} transport`)
      assert.ok(span.endMs >= span.startMs, `${span.name} ends after it starts`)
      if (span !== root) assert.equal(span.parentSpanId, root.spanId, `${span.name} is a child of the call`)
    }
    assert.equal(one(spans, 'trunk.lookup').attributes['trunk.id'], 'local-echo')
    const setup = one(spans, 'sip.setup')
    assert.equal(setup.attributes['sip.leg'], 'a')
    assert.equal(setup.attributes['sip.status_code'], 200)
    assert.ok(one(spans, 'rtp.setup').attributes['rtp.local_port'])
    const nodes = spans.filter((span) => span.name.startsWith('dialplan.node.')).sort((a, b) => a.startMs - b.startMs)
    assert.deepEqual(nodes.map((span) => span.attributes['dialplan.node.id']), ['answer', 'echo', 'bye'])
    assert.deepEqual(nodes.map((span) => span.name), ['dialplan.node.answer', 'dialplan.node.echo', 'dialplan.node.hangup'])
    assert.deepEqual(nodes.map((span) => span.attributes['dialplan.node.outcome']), ['answered', 'completed', 'hangup'])

    const status = await gw.home.json(['status'])
    assert.equal(status.body.result.telemetry.tracing.state, 'exporting')
    assert.equal(status.body.result.telemetry.tracing.target, receiver.endpoint)
  })

  it('continues the trace of an inbound INVITE that carries traceparent', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
    const parentId = '00f067aa0ba902b7'
    const caller = await runSipp({scenarioXml: uacShortCallWithHeaders(`traceparent: 00-${traceId}-${parentId}-01`), target: gw.sip, service: '+15550000002'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+15550000002')
    const spans = await receiver.traceOf(end.call_sid)
    const root = one(spans, 'call')
    assert.equal(root.traceId, traceId)
    assert.equal(root.parentSpanId, parentId)
    for (const span of spans) assert.equal(span.traceId, traceId, span.name)
  })

  it('puts traceparent on the B-leg INVITE: the SIPp callee gets the context of the B-leg SIP setup span, child of the bridge node, as is the B-leg RTP setup span', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-tp-'))
    const messages = join(dir, 'callee-messages.log')
    try {
      const checking = uasAnswering()
        .replace(
          '<recv request="INVITE" crlf="true"/>',
          '<recv request="INVITE" crlf="true"><action><ereg regexp="00-[0-9a-f]{32}-[0-9a-f]{16}-01" search_in="hdr" header="traceparent:" check_it="true" assign_to="tp"/></action></recv>',
        )
        .replace('Content-Type: application/sdp', 'X-Traceparent-Seen: [$tp]\nContent-Type: application/sdp')
      const callee = await runSipp({scenarioXml: checking, port: calleePort, extraArgs: ['-rtp_echo', '-trace_msg', '-message_file', messages]})
      const caller = await runSipp({scenarioXml: uacShortCall(500), target: gw.sip, service: '+17770000001'})
      const [a, b] = await Promise.all([caller.done, callee.done])
      assert.equal(a.code, 0, a.output)
      assert.equal(b.code, 0, `the callee checks the traceparent header: ${b.output}`)
      const received = /^traceparent:\s*00-([0-9a-f]{32})-([0-9a-f]{16})-01\s*$/im.exec(readFileSync(messages, 'utf8'))
      assert.ok(received, 'traceparent in the INVITE the callee received')

      const end = await gw.hangupOf('+17770000001')
      assert.equal(end.status, 'completed')
      const spans = await receiver.traceOf(end.call_sid)
      const root = one(spans, 'call')
      const bridge = one(spans, 'dialplan.node.bridge')
      assert.equal(bridge.parentSpanId, root.spanId)
      const bLeg = byName(spans, 'sip.setup').find((span) => span.attributes['sip.leg'] === 'b')
      assert.ok(bLeg, 'a B-leg SIP setup span')
      assert.equal(bLeg.kind, 3, 'CLIENT')
      assert.equal(bLeg.parentSpanId, bridge.spanId)
      assert.equal(bLeg.attributes['sip.status_code'], 200)
      assert.equal(bLeg.attributes['trunk.id'], 'callee')
      assert.equal(received[1], root.traceId, 'the callee is in the call trace')
      assert.equal(received[2], bLeg.spanId, 'its parent is the B-leg SIP setup span')

      // The B-leg's RTP setup (stream created … remote set from the 200's SDP): under the bridge node, since it
      // begins before the B-leg INVITE and ends after its final response, around the B-leg SIP setup span.
      const aRtp = byName(spans, 'rtp.setup').find((span) => span.attributes['sip.leg'] === undefined)
      assert.equal(aRtp?.parentSpanId, root.spanId, 'the A-leg RTP setup stays a child of the call')
      const bRtp = byName(spans, 'rtp.setup').find((span) => span.attributes['sip.leg'] === 'b')
      assert.ok(bRtp, `a B-leg RTP setup span in ${JSON.stringify(spans.map((span) => [span.name, span.attributes['sip.leg']]))}`)
      assert.equal(bRtp.traceId, root.traceId)
      assert.equal(bRtp.parentSpanId, bridge.spanId)
      assert.equal(bRtp.kind, 1, 'INTERNAL')
      assert.equal(bRtp.statusCode, 0, 'unset: no error')
      assert.equal(bRtp.attributes['sip.call_id'], bLeg.attributes['sip.call_id'])
      assert.equal(bRtp.attributes['rtp.codec'], 'PCMA', 'the first codec of the callee answer')
      assert.ok(Number(bRtp.attributes['rtp.local_port']) > 0, 'rtp.local_port')
      assert.equal(typeof bRtp.attributes['rtp.shard'], 'number', 'rtp.shard')
      assert.equal(bRtp.attributes['call.sid'], end.call_sid)
      assert.equal(bRtp.attributes['tenant.id'], 'bridger')
      assert.ok(bRtp.startMs <= bLeg.startMs && bRtp.endMs >= bLeg.endMs, 'it spans the B-leg SIP setup')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('a B-leg answer with no usable codec: the B-leg RTP setup span is an error', async () => {
    const g729Only = uasAnswering().replace('RTP/AVP 8 0 101', 'RTP/AVP 18 101').replace('a=rtpmap:8 PCMA/8000\na=rtpmap:0 PCMU/8000', 'a=rtpmap:18 G729/8000')
    assert.match(g729Only, /RTP\/AVP 18 101\na=rtpmap:18 G729\/8000\n/)
    const callee = await runSipp({scenarioXml: g729Only, port: calleePort})
    // The bridge fails (the gateway hangs the B-leg up), the plan's hangup node refuses the caller: 480 for cause 16 before answer.
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(480), target: gw.sip, service: '+17770000002'})
    const [a, b] = await Promise.all([caller.done, callee.done])
    assert.equal(a.code, 0, a.output)
    assert.equal(b.code, 0, b.output)
    const end = await gw.hangupOf('+17770000002')
    const spans = await receiver.traceOf(end.call_sid)
    const bridge = one(spans, 'dialplan.node.bridge')
    const bRtp = byName(spans, 'rtp.setup').find((span) => span.attributes['sip.leg'] === 'b')
    assert.ok(bRtp, 'a B-leg RTP setup span')
    assert.equal(bRtp.parentSpanId, bridge.spanId)
    assert.equal(bRtp.statusCode, 2, 'ERROR')
    assert.equal(bRtp.attributes['rtp.codec'], undefined, 'no codec chosen')
    assert.ok(Number(bRtp.attributes['rtp.local_port']) > 0)
    assert.ok(bRtp.attributes['sip.call_id'])
  })
})

describe('a collector that is down', () => {
  const down = new TestGateway()
  after(() => down.stop())

  it('costs one warning in the log: the calls complete and status says failing', async () => {
    const deadPort = await freePort()
    await down.start(config(`http://127.0.0.1:${deadPort}`, await freePort()))
    const warnings = () => readFileSync(join(down.home.dir, 'daemon.log'), 'utf8').split('\n').filter((line) => line.includes('traces cannot be exported'))
    for (const [index, to] of ['+15550000101', '+15550000102', '+15550000103'].entries()) {
      const caller = await runSipp({scenarioXml: uacShortCall(200), target: down.sip, service: to})
      const {code, output} = await caller.done
      assert.equal(code, 0, output)
      assert.equal((await down.hangupOf(to)).status, 'completed')
      if (index === 0) await waitFor('the warning', () => (warnings().length > 0 ? true : undefined), 20_000)
    }
    // Further failed exports (one per call's batch) inside the minute add no warning.
    await sleep(3000)
    assert.equal(warnings().length, 1, warnings().join('\n'))
    const status = await down.home.json(['status'])
    assert.equal(status.body.result.telemetry.tracing.state, 'failing')
  })
})
