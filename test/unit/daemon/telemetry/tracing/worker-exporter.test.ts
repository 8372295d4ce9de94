// The OTLP export thread against the test suite's OTLP receiver (official
// opentelemetry-proto definitions): what the main thread hands over arrives
// whole — names, ids, parents, kinds, times, attributes, status, resource.
import assert from 'node:assert/strict'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {RecordedSpan, SpanKind, type SpanRecord} from '../../../../../daemon/telemetry/tracing/span-record.js'
import {WorkerSpanExporter} from '../../../../../daemon/telemetry/tracing/worker-exporter.js'
import {freePort} from '../../../../helpers/cli.js'
import {waitFor} from '../../../../helpers/gateway.js'
import {OtlpReceiver} from '../../../../helpers/otlp-receiver.js'

const resource = {'service.name': 'clutchcall-gateway', 'service.instance.id': 'test:1'}
const receiver = new OtlpReceiver()

before(() => receiver.start())
after(() => receiver.stop())

const scope = {name: 'clutchcall', version: '1.2.3'}

/** Two finished spans, a root that continues a remote parent and its child, as the sink records them. */
const finishedSpans = (): RecordedSpan[] => {
  const remote = {traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1, traceState: 'vendor=opaque'}
  const root = new RecordedSpan('call', SpanKind.SERVER, remote, true, 1_700_000_000_000.5, {'call.sid': 'CAx'}, {'call.duration_seconds': 12, answered: true})
  const child = new RecordedSpan('rtp.setup', SpanKind.INTERNAL, root, false, 1_700_000_000_005, undefined, {'rtp.local_port': 20_002})
  child.error = 'no codec'
  return [child.end(1_700_000_000_007), root.end(1_700_000_001_000)]
}

const exportVia = (exporter: WorkerSpanExporter, spans: readonly SpanRecord[]): Promise<Error | undefined> => new Promise((resolve) => exporter.export(spans, resolve))

describe('WorkerSpanExporter', () => {
  it('delivers the spans whole through the export thread', async () => {
    const exporter = new WorkerSpanExporter({url: `${receiver.endpoint}/v1/traces`, timeoutMillis: 5000, resource, scope})
    try {
      const spans = finishedSpans()
      assert.equal(await exportVia(exporter, spans), undefined)
      const [childSent, rootSent] = spans
      const root = await waitFor('the root span', () => receiver.spans.find((span) => span.spanId === rootSent?.spanId))
      const child = receiver.spans.find((span) => span.spanId === childSent?.spanId)
      assert.ok(child)
      assert.equal(root.name, 'call')
      assert.equal(root.kind, 2)
      assert.equal(root.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
      assert.equal(root.parentSpanId, '00f067aa0ba902b7')
      assert.equal(root.traceState, 'vendor=opaque')
      assert.equal(root.startNanos, 1_700_000_000_000_500_000n)
      assert.equal(root.endMs, 1_700_000_001_000)
      assert.deepEqual(root.attributes, {'call.sid': 'CAx', 'call.duration_seconds': 12, answered: true})
      assert.equal(root.resource['service.name'], 'clutchcall-gateway')
      assert.equal(child.parentSpanId, root.spanId)
      assert.equal(child.traceId, root.traceId)
      assert.equal(child.statusCode, 2)
      assert.equal(child.statusMessage, 'no codec')
      assert.equal(child.endMs, 1_700_000_000_007)
      assert.equal(root.scope, 'clutchcall')
      assert.equal(child.attributes['rtp.local_port'], 20_002)
    } finally {
      await exporter.shutdown()
    }
  })

  it('reports a collector that is down as a failed export, and keeps working for the next one', async () => {
    const exporter = new WorkerSpanExporter({url: `http://127.0.0.1:${await freePort()}/v1/traces`, timeoutMillis: 2000, resource, scope})
    try {
      const error = await exportVia(exporter, finishedSpans())
      assert.match(error?.message ?? '', /ECONNREFUSED|connect/i)
      assert.ok(await exportVia(exporter, finishedSpans()))
    } finally {
      await exporter.shutdown()
    }
  })

  it('fails every export once its thread is gone', async () => {
    const exporter = new WorkerSpanExporter({url: `${receiver.endpoint}/v1/traces`, timeoutMillis: 2000, resource, scope})
    await exporter.shutdown()
    assert.match((await exportVia(exporter, finishedSpans()))?.message ?? '', /shut down/)
  })

  it('a collector that never answers does not hold a shutdown (the thread gets half a second), and what was pending fails', async () => {
    const silent = createServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const exporter = new WorkerSpanExporter({url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/traces`, timeoutMillis: 10_000, resource, scope})
    try {
      const pending = exportVia(exporter, finishedSpans())
      await new Promise((resolve) => setTimeout(resolve, 200))
      const started = Date.now()
      await exporter.shutdown()
      assert.ok(Date.now() - started < 2000, `shutdown took ${Date.now() - started} ms`)
      assert.match((await pending)?.message ?? '', /shut down/)
    } finally {
      silent.closeAllConnections()
      silent.close()
    }
  })
})
