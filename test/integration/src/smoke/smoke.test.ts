// `clutchcall smoke` (the built CLI) against real daemons: a healthy gateway
// with the embedded CDR store exporting traces to an OTLP receiver here (and
// HEP capture switched on at runtime to a collector here), one exporting
// over OTLP/gRPC to a gRPC receiver here, one writing CDRs to
// a real clickhouse-server with tracing off, one whose trace collector is
// down, a target that is not the gateway, and a stopped daemon.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {TestClickHouse} from '../../../helpers/clickhouse.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {HepCollector} from '../../../helpers/hep.js'
import {OtlpGrpcReceiver} from '../../../helpers/otlp-grpc-receiver.js'
import {OtlpReceiver} from '../../../helpers/otlp-receiver.js'
import {runSipp, uasAnswering} from '../../../helpers/peers.js'
import {findAll, parseXml} from '../../../helpers/xml.js'

interface Check {
  name: string
  outcome: 'ok' | 'fail' | 'skip'
  detail: string
}

const byName = (checks: readonly Check[]): Record<string, Check> => Object.fromEntries(checks.map((check) => [check.name, check]))

const CHECKS = ['daemon', 'call', 'metrics', 'cdr', 'hep', 'trace', 'quic']
const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')

describe('smoke against a running gateway (embedded CDR store, traces to an OTLP receiver)', () => {
  const gw = new TestGateway()
  const receiver = new OtlpReceiver()
  before(async () => {
    await receiver.start()
    await gw.start(`tracing:\n  endpoint: "${receiver.endpoint}"\n`)
  })
  after(async () => {
    await gw.stop()
    await receiver.stop()
  })

  it('passes: daemon, call, metrics, CDR in the spool, the trace at the collector; HEP skipped with capture off; a JUnit case per check', async () => {
    const junit = gw.home.path('reports', 'smoke.xml')
    const run = await gw.home.json(['smoke', '--junit', junit])
    assert.equal(run.code, 0, JSON.stringify(run.body, null, 2))
    const {result} = run.body
    assert.equal(result.passed, true)
    assert.deepEqual(result.checks.map((check: Check) => check.name), CHECKS)
    const checks = byName(result.checks)
    assert.equal(checks.daemon?.outcome, 'ok')
    assert.match(checks.daemon?.detail ?? '', /^pid \d+, /)
    assert.equal(checks.call?.outcome, 'ok')
    assert.match(checks.call?.detail ?? '', /^sip:smoke@127\.0\.0\.1:\d+: 200 OK, PDD \d+ ms, 3\.\d s, PCMU, MOS 4\.\d\d in \/ 4\.\d\d out/)
    assert.equal(checks.metrics?.outcome, 'ok')
    assert.match(checks.metrics?.detail ?? '', /valid \(\d+ families, \d+ samples\); clutchcall_calls_total\{tenant="default",trunk="none",direction="inbound",result="completed"\} 0 → 1/)
    assert.equal(checks.cdr?.outcome, 'ok')
    assert.match(checks.cdr?.detail ?? '', new RegExp(`^${result.callSid} in the spool .*seg-\\d{12}\\.ndjson\\)$`))
    assert.deepEqual(checks.hep, {...checks.hep, outcome: 'skip', detail: 'capture off'})
    assert.match(result.callSid, /^CA[0-9a-f]{32}$/)
    const end = await gw.hangupOf('smoke')
    assert.equal(end.call_sid, result.callSid)

    // trace: the smoke chose the trace id, the gateway continued it, and the receiver really has those spans.
    assert.match(result.traceId, /^[0-9a-f]{32}$/)
    assert.equal(checks.trace?.outcome, 'ok', checks.trace?.detail)
    const acknowledged = Number(/^(\d+) span\(s\) of trace /.exec(checks.trace?.detail ?? '')?.[1])
    assert.equal(checks.trace?.detail, `${acknowledged} span(s) of trace ${result.traceId} acknowledged by the collector at ${receiver.endpoint}`)
    assert.ok(acknowledged >= 1, checks.trace?.detail)
    const spans = await receiver.traceOf(result.callSid)
    assert.ok(spans.filter((span) => span.traceId === result.traceId).length >= acknowledged, `the receiver has ${spans.length} span(s) of the call`)
    for (const span of spans) assert.equal(span.traceId, result.traceId, `${span.name} is in another trace`)
    const root = spans.find((span) => span.name === 'call')
    assert.equal(root?.attributes['sip.call_id'], result.call.callId)
    // The root's parent is the span of the smoke's traceparent: not one the gateway sent.
    assert.match(root?.parentSpanId ?? '', /^[0-9a-f]{16}$/)
    assert.equal(spans.some((span) => span.spanId === root?.parentSpanId), false)

    const xml = parseXml(readFileSync(junit, 'utf8'))
    const [suite] = findAll(xml, 'testsuite')
    assert.equal(suite?.attributes.tests, '7')
    assert.equal(suite?.attributes.failures, '0')
    assert.equal(suite?.attributes.skipped, '2')
    const cases = findAll(xml, 'testcase')
    assert.deepEqual(cases.map((test) => test.attributes.name), CHECKS)
    assert.equal(findAll(cases[4] as never, 'skipped')[0]?.attributes.message, 'capture off')
    const property = findAll(xml, 'property').find((candidate) => candidate.attributes.name === 'trace_id')
    assert.equal(property?.attributes.value, result.traceId)
  })

  it('prints one line per check for a human', async () => {
    const run = await gw.home.run(['smoke', '--duration', '1'])
    assert.equal(run.code, 0, run.stdout + run.stderr)
    const lines = run.stdout.trim().split('\n')
    assert.equal(lines.length, 7, run.stdout)
    assert.match(lines[0] ?? '', /^ok {4}daemon {3}pid \d+/)
    assert.match(lines[1] ?? '', /^ok {4}call {5}sip:smoke@/)
    assert.match(lines[2] ?? '', /^ok {4}metrics {2}http:\/\/127\.0\.0\.1:\d+\/metrics: valid/)
    assert.match(lines[3] ?? '', /^ok {4}cdr {6}CA[0-9a-f]{32} in the spool/)
    assert.match(lines[4] ?? '', /^skip {2}hep {6}capture off$/)
    assert.match(lines[5] ?? '', new RegExp(`^ok {4}trace {4}\\d+ span\\(s\\) of trace [0-9a-f]{32} acknowledged by the collector at ${escape(receiver.endpoint)}$`))
    assert.match(lines[6] ?? '', /^skip {2}quic {5}QUIC listener off \(quic\.enabled: false\)$/)
  })

  it('counts HEP frames when capture is on (switched on at runtime)', async () => {
    const collector = await new HepCollector().start()
    try {
      const enabled = await gw.home.json(['hep', 'enable', '--endpoint', `127.0.0.1:${collector.port}`])
      assert.equal(enabled.code, 0, JSON.stringify(enabled.body))
      const run = await gw.home.json(['smoke', '--duration', '1'])
      assert.equal(run.code, 0, JSON.stringify(run.body, null, 2))
      const hep = byName(run.body.result.checks).hep
      assert.equal(hep?.outcome, 'ok')
      const frames = Number(/^(\d+) SIP frame/.exec(hep?.detail ?? '')?.[1])
      assert.ok(frames >= 4, hep?.detail)
      assert.match(hep?.detail ?? '', new RegExp(`to 127\\.0\\.0\\.1:${collector.port} during the call, no send errors`))
      assert.ok(collector.frames.length >= 4, `the collector got ${collector.frames.length} frames`)
    } finally {
      await gw.home.json(['hep', 'disable'])
      collector.close()
    }
  })

  it('fails the metrics and CDR checks when --target is not this gateway (no call with that Call-ID)', async () => {
    const port = await freePort()
    const callee = await runSipp({scenarioXml: uasAnswering(), port, extraArgs: ['-rtp_echo']})
    const run = await gw.home.json(['smoke', '--target', `sip:echo@127.0.0.1:${port}`, '--duration', '1', '--settle', '2'])
    await callee.done
    assert.equal(run.code, 1, JSON.stringify(run.body, null, 2))
    assert.equal(run.body.error?.code, 'CC_ERR_SMOKE_FAILED')
    const checks = byName(run.body.error?.data.checks)
    assert.equal(checks.daemon?.outcome, 'ok')
    // SIPp's echo sends no RTCP: outbound is unknown, which is no failure.
    assert.equal(checks.call?.outcome, 'ok', checks.call?.detail)
    assert.equal(checks.metrics?.outcome, 'fail')
    assert.match(checks.metrics?.detail ?? '', /the gateway saw no call with the synthetic call's Call-ID/)
    assert.equal(checks.cdr?.outcome, 'fail')
    assert.equal(checks.trace?.outcome, 'fail')
    assert.match(checks.trace?.detail ?? '', /the gateway saw no call with the synthetic call's Call-ID/)
    assert.match(run.body.error?.message ?? '', /^Smoke test failed: 3 of 7 check\(s\) failed \(metrics, cdr, trace\)$/)
  })

  it('a failed call fails the smoke test with the threshold it missed', async () => {
    const run = await gw.home.json(['smoke', '--duration', '1', '--max-pdd', '0'])
    assert.equal(run.code, 1)
    const checks = byName(run.body.error?.data.checks)
    assert.equal(checks.call?.outcome, 'fail')
    assert.match(checks.call?.detail ?? '', /post-dial delay \d+ ms > 0 ms/)
    // The call still went through the gateway: the other checks hold.
    assert.equal(checks.metrics?.outcome, 'ok')
    assert.equal(checks.cdr?.outcome, 'ok')
    assert.equal(checks.trace?.outcome, 'ok', checks.trace?.detail)
  })

  it('fails with a clear line when the daemon is stopped', async () => {
    const stopped = await gw.home.json(['stop'])
    assert.equal(stopped.code, 0)
    const junit = gw.home.path('reports', 'down.xml')
    const human = await gw.home.run(['smoke', '--junit', junit])
    assert.equal(human.code, 1)
    const lines = human.stdout.trim().split('\n')
    assert.match(lines[0] ?? '', new RegExp(`^FAIL  daemon   no daemon answers on ${escape(gw.home.path('admin.sock'))}: start it with \`clutchcall start\`$`))
    assert.match(lines[1] ?? '', /^skip  call     needs the daemon's SIP address, or --target$/)
    assert.match(lines[5] ?? '', /^skip  trace    needs the daemon$/)
    assert.match(lines[6] ?? '', /^skip  quic     needs the daemon$/)
    assert.match(human.stderr, /Error \(CC_ERR_SMOKE_FAILED\): Smoke test failed: 1 of 7 check\(s\) failed \(daemon\)/)
    const json = await gw.home.json(['smoke'])
    assert.equal(json.code, 1)
    assert.equal(json.body.error?.code, 'CC_ERR_SMOKE_FAILED')
    assert.deepEqual(json.body.error?.data.checks.map((check: Check) => check.outcome), ['fail', 'skip', 'skip', 'skip', 'skip', 'skip', 'skip'])
    const root = parseXml(readFileSync(junit, 'utf8'))
    assert.equal(findAll(root, 'testsuite')[0]?.attributes.failures, '1')
    assert.equal(findAll(root, 'testsuite')[0]?.attributes.skipped, '6')
  })
})

describe('smoke against a gateway writing CDRs to ClickHouse, tracing off', () => {
  const clickhouse = new TestClickHouse()
  const gw = new TestGateway()
  before(async () => {
    await clickhouse.start()
    await gw.start(`cdr:\n  clickhouse: { url: "${clickhouse.url}" }\n  flush_interval_ms: 60000\ntracing:\n  enabled: false\n`)
    const migrated = await gw.home.json(['cdr', 'migrate'])
    assert.equal(migrated.code, 0, JSON.stringify(migrated.body))
  })
  after(async () => {
    await gw.stop()
    await clickhouse.cleanup()
  })

  it('flushes the spool and finds the call in ClickHouse; the trace check is skipped', async () => {
    const run = await gw.home.json(['smoke', '--duration', '1'])
    assert.equal(run.code, 0, JSON.stringify(run.body, null, 2))
    assert.deepEqual(byName(run.body.result.checks).trace, {...byName(run.body.result.checks).trace, outcome: 'skip', detail: 'tracing off (tracing.enabled: false)'})
    const cdr = byName(run.body.result.checks).cdr
    assert.equal(cdr?.outcome, 'ok')
    assert.equal(cdr?.detail, `${run.body.result.callSid} in ClickHouse ${clickhouse.url} default.telephony_cdrs`)
    const stored = await clickhouse.query(`SELECT count() FROM default.telephony_cdrs WHERE call_sid = '${run.body.result.callSid}'`)
    assert.equal(stored.trim(), '1')
  })
})

describe('smoke against a gateway exporting traces over OTLP/gRPC', () => {
  const gw = new TestGateway()
  const receiver = new OtlpGrpcReceiver()
  before(async () => {
    await receiver.start()
    await gw.start(`tracing:\n  endpoint: "${receiver.endpoint}"\n  protocol: grpc\n`)
  })
  after(async () => {
    await gw.stop()
    await receiver.stop()
  })

  it('passes the trace check: the gRPC collector acknowledged the spans of the smoke call, which it holds', async () => {
    const run = await gw.home.json(['smoke', '--duration', '1'])
    assert.equal(run.code, 0, JSON.stringify(run.body, null, 2))
    const checks = byName(run.body.result.checks)
    assert.equal(checks.trace?.outcome, 'ok', checks.trace?.detail)
    const traceId = run.body.result.traceId as string
    assert.match(traceId, /^[0-9a-f]{32}$/)
    assert.ok(receiver.spans.some((span) => span.traceId === traceId && span.attributes['call.sid'] === run.body.result.callSid), 'the smoke call\'s spans at the gRPC receiver')
  })
})

describe('smoke against a gateway whose trace collector is down', () => {
  const gw = new TestGateway()
  let endpoint = ''
  before(async () => {
    // A port nothing listens on: every export is refused.
    endpoint = `http://127.0.0.1:${await freePort()}`
    await gw.start(`tracing:\n  endpoint: "${endpoint}"\n`)
  })
  after(() => gw.stop())

  it('fails the trace check saying the collector did not acknowledge the trace; the other checks pass', async () => {
    const junit = gw.home.path('reports', 'smoke.xml')
    const run = await gw.home.json(['smoke', '--duration', '1', '--junit', junit])
    assert.equal(run.code, 1, JSON.stringify(run.body, null, 2))
    assert.equal(run.body.error?.code, 'CC_ERR_SMOKE_FAILED')
    const report = run.body.error?.data
    const checks = byName(report.checks)
    assert.deepEqual(report.checks.map((check: Check) => [check.name, check.outcome]), [['daemon', 'ok'], ['call', 'ok'], ['metrics', 'ok'], ['cdr', 'ok'], ['hep', 'skip'], ['trace', 'fail'], ['quic', 'skip']])
    assert.match(checks.trace?.detail ?? '', new RegExp(`^the collector at ${escape(endpoint)} did not acknowledge trace ${report.traceId}: the export of \\d+ of its span\\(s\\) failed \\(tracing failing\\)$|^the collector at ${escape(endpoint)} did not acknowledge trace ${report.traceId} within 10 s \\(tracing (exporting|failing)\\)$`))
    assert.match(run.body.error?.message ?? '', /^Smoke test failed: 1 of 7 check\(s\) failed \(trace\)$/)
    const xml = parseXml(readFileSync(junit, 'utf8'))
    const failure = findAll(findAll(xml, 'testcase')[5] as never, 'failure')[0]
    assert.equal(failure?.attributes.type, 'trace')
    assert.equal(failure?.attributes.message, checks.trace?.detail)
    // The daemon says so too.
    const status = await waitFor('tracing failing', async () => {
      const body = (await gw.home.json(['status'])).body
      return body.result?.telemetry?.tracing?.state === 'failing' ? body : undefined
    })
    assert.equal(status.result.telemetry.tracing.target, endpoint)
  })
})
