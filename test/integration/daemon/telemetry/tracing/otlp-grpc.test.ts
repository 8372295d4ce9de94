// Traces of real SIP calls over OTLP/gRPC: daemons exporting to a gRPC OTLP
// receiver in the test (@grpc/grpc-js serving TraceService/Export from the
// official opentelemetry-proto files, decoding with them), SIPp calls.
// - The same call through a daemon exporting over gRPC and one exporting over
//   HTTP (the OTLP/HTTP receiver of the other tests) gives the same spans with
//   the same attributes.
// - UNAVAILABLE answers are retried until the collector takes the batch;
//   INVALID_ARGUMENT is final: the batch is dropped, counted (tracing.trace,
//   the warning's failed_spans) and logged.
// - A collector that never answers (chosen over gRPC by
//   OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, which wins over the file): calls
//   complete, and `clutchcall stop` does not wait for it.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {AdminClient} from '../../../../../src/admin/client.js'
import type {TracingTraceResult} from '../../../../../src/admin/protocol.js'
import {sleep, TestGateway, waitFor} from '../../../../helpers/gateway.js'
import {OtlpGrpcReceiver} from '../../../../helpers/otlp-grpc-receiver.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../../helpers/otlp-receiver.js'
import {runSipp, uacAwaitingBye, uacShortCall, uacShortCallWithHeaders} from '../../../../helpers/peers.js'

const grpcReceiver = new OtlpGrpcReceiver()
const httpReceiver = new OtlpReceiver()
const overGrpc = new TestGateway()
const overHttp = new TestGateway()

const plan = (tracing: string) => `${tracing}
tenants:
  - { id: echo, dialplan: short-echo }
trunks:
  - id: local-echo
    tenant: echo
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] }
dialplans:
  short-echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 1, next: bye }
      bye: { type: hangup, cause: 16 }
`

const logLines = (gw: TestGateway, text: string): string[] => readFileSync(gw.home.path('daemon.log'), 'utf8').split('\n').filter((line) => line.includes(text))

const traceCounts = async (gw: TestGateway, traceId: string): Promise<TracingTraceResult> => {
  const client = await AdminClient.connect(gw.home.path('admin.sock'), {client: 'test'})
  try {
    return (await client.call('tracing.trace', {trace_id: traceId})) as TracingTraceResult
  } finally {
    client.close()
  }
}

/** A call with a traceparent of our own, so its trace id is known. */
const tracedCall = async (gw: TestGateway, to: string, traceId: string): Promise<void> => {
  const caller = await runSipp({scenarioXml: uacShortCallWithHeaders(`traceparent: 00-${traceId}-00f067aa0ba902b7-01`, 200), target: gw.sip, service: to})
  const {code, output} = await caller.done
  assert.equal(code, 0, output)
  assert.equal((await gw.hangupOf(to)).status, 'completed')
}

/** What must be equal between two exports of the same call: per span (in a stable order), all but the ids, times, and what differs per call or daemon. */
const VARYING = new Set(['call.sid', 'sip.call_id', 'rtp.local_port', 'rtp.shard', 'call.duration_seconds', 'call.estimated_mos'])
const comparable = (spans: readonly ReceivedSpan[]) => {
  const byId = new Map(spans.map((span) => [span.spanId, span]))
  return spans
    .map((span) => ({
      name: span.name,
      kind: span.kind,
      parent: span.parentSpanId === '' ? '' : (byId.get(span.parentSpanId)?.name ?? 'remote'),
      status: [span.statusCode, span.statusMessage],
      scope: span.scope,
      attributeKeys: Object.keys(span.attributes).sort(),
      attributes: Object.fromEntries(Object.entries(span.attributes).filter(([key]) => !VARYING.has(key))),
      resource: {'service.name': span.resource['service.name'], 'service.version': span.resource['service.version']},
    }))
    .sort((a, b) => `${a.name}/${String(a.attributes['dialplan.node.id'])}`.localeCompare(`${b.name}/${String(b.attributes['dialplan.node.id'])}`))
}

before(async () => {
  await Promise.all([grpcReceiver.start(), httpReceiver.start()])
  await overGrpc.start(plan(`tracing:\n  endpoint: ${grpcReceiver.endpoint}\n  protocol: grpc`))
  await overHttp.start(plan(`tracing:\n  endpoint: ${httpReceiver.endpoint}`))
})

after(async () => {
  await Promise.all([overGrpc.stop(), overHttp.stop()])
  await Promise.all([grpcReceiver.stop(), httpReceiver.stop()])
})

describe('traces over OTLP/gRPC', () => {
  it('the same call gives the same spans and attributes over gRPC as over HTTP; status shows the protocol and target', async () => {
    const sids: string[] = []
    for (const gw of [overGrpc, overHttp]) {
      const to = '+15550000001'
      const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gw.sip, service: to})
      const {code, output} = await caller.done
      assert.equal(code, 0, output)
      sids.push((await gw.hangupOf(to)).call_sid)
    }
    const [grpcSid, httpSid] = sids as [string, string]
    const viaGrpc = await grpcReceiver.traceOf(grpcSid)
    const viaHttp = await httpReceiver.traceOf(httpSid)
    assert.equal(httpReceiver.spansOf(grpcSid).length, 0, 'the gRPC daemon sends nothing over HTTP')
    assert.equal(grpcReceiver.spansOf(httpSid).length, 0)
    assert.deepEqual(
      viaGrpc.map((span) => span.name).sort(),
      ['call', 'dialplan.node.answer', 'dialplan.node.echo', 'dialplan.node.hangup', 'rtp.setup', 'sip.setup', 'trunk.lookup'],
    )
    assert.deepEqual(comparable(viaGrpc), comparable(viaHttp))
    for (const span of viaGrpc) {
      assert.equal(span.attributes['call.sid'], grpcSid)
      assert.equal(span.attributes['tenant.id'], 'echo')
    }
    assert.equal(viaGrpc.find((span) => span.name === 'call')?.attributes['call.status'], 'completed')

    const status = await overGrpc.home.json(['status'])
    assert.deepEqual(
      {...status.body.result.telemetry.tracing},
      {enabled: true, target: grpcReceiver.endpoint, state: 'exporting', reason: null, configuredBy: 'tracing.endpoint', protocol: 'grpc', protocolSetBy: 'tracing.protocol'},
    )
    const text = await overGrpc.home.run(['status'])
    assert.match(text.stdout, new RegExp(`tracing\\s+│\\s+exporting\\s+│\\s+${grpcReceiver.endpoint.replace(/[.]/g, '\\.')} over grpc \\(set by tracing\\.endpoint, protocol by tracing\\.protocol\\)`))
    assert.equal((await overHttp.home.json(['status'])).body.result.telemetry.tracing.protocol, 'http/protobuf')
    assert.equal(logLines(overGrpc, '"tracing on"').filter((line) => line.includes('"protocol":"grpc"')).length, 1, 'the daemon log says which protocol')
  })

  it('UNAVAILABLE is retried: the batch arrives once the collector takes it, and counts as exported', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c'
    const attemptsBefore = grpcReceiver.attempts.length
    grpcReceiver.answerNext(2, {code: grpc.status.UNAVAILABLE, details: 'collector restarting'})
    await tracedCall(overGrpc, '+15550000003', traceId)
    await waitFor('the retried trace', () => (grpcReceiver.spans.some((span) => span.traceId === traceId && span.name === 'call') ? true : undefined), 20_000)
    // The two refused requests (a batch can hold part of a trace; batches may interleave) were each sent again, byte for byte, and taken.
    const refused = grpcReceiver.attempts.slice(attemptsBefore, attemptsBefore + 2)
    assert.equal(refused.length, 2)
    assert.ok(refused.some((bytes) => bytes.includes(Buffer.from(traceId, 'hex'))), 'the trace was in a refused request')
    for (const bytes of refused) assert.ok(grpcReceiver.bodies.some((body) => body.equals(bytes)), 'a refused request was retried and taken')
    const counts = await waitFor('the acknowledged spans', async () => {
      const answer = await traceCounts(overGrpc, traceId)
      return answer.exportedSpans === grpcReceiver.spans.filter((span) => span.traceId === traceId).length ? answer : undefined
    })
    assert.equal(counts.failedSpans, 0)
    assert.equal(counts.state, 'exporting')
  })

  it('INVALID_ARGUMENT is final: not retried, the spans are dropped, counted and logged; later batches go through', async () => {
    const traceId = '5b8efff798038103d269b633813fc60c'
    const attemptsBefore = grpcReceiver.attempts.length
    const refusalsBefore = grpcReceiver.refusals.length
    grpcReceiver.answerNext(1, {code: grpc.status.INVALID_ARGUMENT, details: 'span rejected by policy'})
    await tracedCall(overGrpc, '+15550000004', traceId)
    const counts = await waitFor('the failed export', async () => {
      const answer = await traceCounts(overGrpc, traceId)
      return answer.failedSpans > 0 ? answer : undefined
    })
    assert.deepEqual(grpcReceiver.refusals.slice(refusalsBefore), [grpc.status.INVALID_ARGUMENT])
    const refused = grpcReceiver.attempts[attemptsBefore]
    assert.ok(refused?.includes(Buffer.from(traceId, 'hex')), 'the refused request held spans of the trace')
    // Past any retry backoff: the refused request was not sent again, and what arrived of the trace is what was acknowledged.
    await sleep(1500)
    assert.equal(grpcReceiver.attempts.slice(attemptsBefore + 1).filter((bytes) => refused !== undefined && bytes.equals(refused)).length, 0, 'not retried')
    const final = await traceCounts(overGrpc, traceId)
    assert.equal(final.failedSpans, counts.failedSpans)
    assert.equal(grpcReceiver.spans.filter((span) => span.traceId === traceId).length, final.exportedSpans, 'the dropped spans never arrived')
    const warning = logLines(overGrpc, 'traces cannot be exported').find((line) => line.includes('INVALID_ARGUMENT'))
    assert.ok(warning, 'one warning naming the status')
    const logged = JSON.parse(warning) as {protocol: string; failed_exports: number; failed_spans: number; err: string}
    assert.equal(logged.protocol, 'grpc')
    assert.ok(logged.failed_spans >= counts.failedSpans, JSON.stringify(logged))
    assert.match(logged.err, /span rejected by policy \[INVALID_ARGUMENT \(3\): not retryable, \d+ spans dropped after 1 attempt\]/)
    // The next call's batches are taken: exporting.
    const next = '6c9f0f1a2b3c4d5e6f708192a3b4c5d6'
    await tracedCall(overGrpc, '+15550000005', next)
    await waitFor('the next trace', () => (grpcReceiver.spans.some((span) => span.traceId === next && span.name === 'call') ? true : undefined))
    await waitFor('exporting again', async () => ((await overGrpc.home.json(['status'])).body.result.telemetry.tracing.state === 'exporting' ? true : undefined))
  })
})

describe('a gRPC collector that never answers', () => {
  const gw = new TestGateway()
  let silent: Server
  const sockets = new Set<Socket>()
  before(async () => {
    // Accepts the TCP connection and says nothing: no HTTP/2 settings, no answer; each export waits for its deadline.
    silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  })
  after(async () => {
    await gw.stop()
    for (const socket of sockets) socket.destroy()
    silent.close()
  })

  it('calls are not affected, and stop does not wait for it (gRPC chosen by OTEL_EXPORTER_OTLP_TRACES_PROTOCOL over the file)', async () => {
    const port = (silent.address() as {port: number}).port
    await gw.start(plan(`tracing:\n  endpoint: http://127.0.0.1:${port}\n  protocol: http/protobuf`), {OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc'})
    const status = await gw.home.json(['status'])
    assert.equal(status.body.result.telemetry.tracing.protocol, 'grpc')
    assert.equal(status.body.result.telemetry.tracing.protocolSetBy, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    for (const to of ['+15550000101', '+15550000102', '+15550000103']) {
      const started = Date.now()
      const caller = await runSipp({scenarioXml: uacShortCall(200), target: gw.sip, service: to})
      const {code, output} = await caller.done
      assert.equal(code, 0, output)
      assert.equal((await gw.hangupOf(to)).status, 'completed')
      assert.ok(Date.now() - started < 5000, `a call took ${Date.now() - started} ms`)
    }
    // The first batch has left (batches every second) and is waiting for an answer that will not come.
    await sleep(1500)
    assert.ok(sockets.size > 0, 'the exporter connected to the collector')
    const started = Date.now()
    const stopped = await gw.home.json(['stop'])
    const tookMs = Date.now() - started
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    // About 0.8 s here; waiting for the collector would add the 2 s a stop gives an answering one, or the 5 s export deadline.
    assert.ok(tookMs < 2000, `stop took ${tookMs} ms`)
    assert.equal(logLines(gw, 'tracing stops without waiting for the collector: it has not answered any export').length, 1)
  })
})
