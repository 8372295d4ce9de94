// A gateway's identity in a fleet (docs/fleet.md, "Identity"), against a real
// daemon: node.name is in `status` (and --json), on every daemon log line, the
// `service.instance.id` of every span the OTLP collector receives, and with
// `heplify.capture_id: node` the capture id of every HEP frame (the CRC-32 of
// the name). Each call's sid is CA + 32 hex digits from 128 random bits.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {hepCaptureId} from '../../../src/hep/params.js'
import {TestGateway} from '../../helpers/gateway.js'
import {HepCollector} from '../../helpers/hep.js'
import {OtlpReceiver} from '../../helpers/otlp-receiver.js'
import {runSipp, uacShortCall} from '../../helpers/peers.js'

const NODE = 'gw-test-7.fleet'

const gw = new TestGateway()
const receiver = new OtlpReceiver()
let collector: HepCollector

before(async () => {
  await receiver.start()
  collector = await new HepCollector().start()
  await gw.start(`node: { name: ${NODE} }
tracing: { endpoint: ${receiver.endpoint} }
heplify: { enabled: true, endpoint: ${collector.endpoint}, capture_id: node }
`)
})

after(async () => {
  collector.close()
  await gw.stop()
  await receiver.stop()
})

describe('the node name', () => {
  it('is in status, human and --json', async () => {
    const json = await gw.home.json(['status'])
    assert.equal(json.body.result.nodeName, NODE)
    const human = await gw.home.run(['status'])
    assert.match(human.stdout, new RegExp(`^node name\\s+${NODE.replace(/\./g, '\\.')}$`, 'm'))
  })

  it('is on every span (service.instance.id), every log line (node) and every HEP frame (capture id from the name)', async () => {
    const caller = await runSipp({scenarioXml: uacShortCall(200), target: gw.sip, service: '+15550000001'})
    assert.equal((await caller.done).code, 0)
    const end = await gw.hangupOf('+15550000001')
    assert.match(end.call_sid, /^CA[0-9a-f]{32}$/)

    const spans = await receiver.traceOf(end.call_sid)
    assert.ok(spans.length >= 3)
    for (const span of spans) assert.equal(span.resource['service.instance.id'], NODE, span.name)

    const lines = readFileSync(join(gw.home.dir, 'daemon.log'), 'utf8').split('\n').filter((line) => line.startsWith('{'))
    // From the first line written with the config loaded (the line that says the gateway is ready comes after them all).
    const ready = lines.findIndex((line) => line.includes('"gateway ready"'))
    assert.ok(ready >= 0)
    const withConfig = lines.slice(lines.findIndex((line) => JSON.parse(line).node !== undefined))
    assert.ok(withConfig.length > 3)
    for (const line of withConfig) assert.equal(JSON.parse(line).node, NODE, line)
    assert.ok(lines.some((line) => line.includes(end.call_sid) && JSON.parse(line).node === NODE), 'the call\'s own lines carry it too')

    const status = await gw.home.json(['hep', 'status'])
    assert.equal(status.body.result.captureId, hepCaptureId('node', NODE))
    const frames = collector.ofType(1)
    assert.ok(frames.length >= 4, `SIP frames captured: ${frames.length}`)
    for (const frame of frames) assert.equal(frame.decoded.rcinfo.captureId, hepCaptureId('node', NODE))
  })
})
