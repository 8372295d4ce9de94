// The OTLP export thread against the test suite's OTLP receiver (official
// opentelemetry-proto definitions): what the main thread hands over arrives
// whole — names, ids, parents, kinds, times, attributes, status, resource.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {ROOT_CONTEXT, SpanKind, SpanStatusCode, trace} from '@opentelemetry/api'
import {ExportResultCode, type ExportResult} from '@opentelemetry/core'
import {InMemorySpanExporter, SimpleSpanProcessor, TracerProvider, type ReadableSpan} from '@opentelemetry/sdk-trace'
import {resourceFromAttributes} from '@opentelemetry/resources'
import {WorkerSpanExporter} from '../../../../../daemon/telemetry/tracing/worker-exporter.js'
import {freePort} from '../../../../helpers/cli.js'
import {waitFor} from '../../../../helpers/gateway.js'
import {OtlpReceiver} from '../../../../helpers/otlp-receiver.js'

const resource = {'service.name': 'clutchcall-gateway', 'service.instance.id': 'test:1'}
const receiver = new OtlpReceiver()

before(() => receiver.start())
after(() => receiver.stop())

/** Two finished spans, a root and its child, made by the real SDK. */
const finishedSpans = (): ReadableSpan[] => {
  const memory = new InMemorySpanExporter()
  const provider = new TracerProvider({resource: resourceFromAttributes(resource), spanProcessors: [new SimpleSpanProcessor({exporter: memory})]})
  const tracer = provider.getTracer('clutchcall')
  const root = tracer.startSpan('call', {kind: SpanKind.SERVER, startTime: 1_700_000_000_000, attributes: {'call.sid': 'CAx', 'call.duration_seconds': 12, answered: true}})
  const child = tracer.startSpan('rtp.setup', {startTime: 1_700_000_000_005, attributes: {'rtp.local_port': 20_002}}, trace.setSpan(ROOT_CONTEXT, root))
  child.setStatus({code: SpanStatusCode.ERROR, message: 'no codec'})
  child.end(1_700_000_000_007)
  root.end(1_700_000_001_000)
  return memory.getFinishedSpans()
}

const exportVia = (exporter: WorkerSpanExporter, spans: ReadableSpan[]): Promise<ExportResult> => new Promise((resolve) => exporter.export(spans, resolve))

describe('WorkerSpanExporter', () => {
  it('delivers the spans whole through the export thread', async () => {
    const exporter = new WorkerSpanExporter({url: `${receiver.endpoint}/v1/traces`, timeoutMillis: 5000, resource})
    try {
      const spans = finishedSpans()
      const result = await exportVia(exporter, spans)
      assert.equal(result.code, ExportResultCode.SUCCESS, result.error?.message)
      const [rootSent, childSent] = [spans.find((span) => span.name === 'call'), spans.find((span) => span.name === 'rtp.setup')]
      const root = await waitFor('the root span', () => receiver.spans.find((span) => span.spanId === rootSent?.spanContext().spanId))
      const child = receiver.spans.find((span) => span.spanId === childSent?.spanContext().spanId)
      assert.ok(child)
      assert.equal(root.name, 'call')
      assert.equal(root.kind, 2)
      assert.equal(root.traceId, rootSent?.spanContext().traceId)
      assert.equal(root.parentSpanId, '')
      assert.equal(root.startMs, 1_700_000_000_000)
      assert.equal(root.endMs, 1_700_000_001_000)
      assert.deepEqual(root.attributes, {'call.sid': 'CAx', 'call.duration_seconds': 12, answered: true})
      assert.equal(root.resource['service.name'], 'clutchcall-gateway')
      assert.equal(child.parentSpanId, root.spanId)
      assert.equal(child.traceId, root.traceId)
      assert.equal(child.statusCode, 2)
      assert.equal(child.attributes['rtp.local_port'], 20_002)
    } finally {
      await exporter.shutdown()
    }
  })

  it('reports a collector that is down as a failed export, and keeps working for the next one', async () => {
    const exporter = new WorkerSpanExporter({url: `http://127.0.0.1:${await freePort()}/v1/traces`, timeoutMillis: 2000, resource})
    try {
      const result = await exportVia(exporter, finishedSpans())
      assert.equal(result.code, ExportResultCode.FAILED)
      assert.ok(result.error?.message)
      assert.equal((await exportVia(exporter, finishedSpans())).code, ExportResultCode.FAILED)
    } finally {
      await exporter.shutdown()
    }
  })

  it('fails every export once its thread is gone', async () => {
    const exporter = new WorkerSpanExporter({url: `${receiver.endpoint}/v1/traces`, timeoutMillis: 2000, resource})
    await exporter.shutdown()
    const result = await exportVia(exporter, finishedSpans())
    assert.equal(result.code, ExportResultCode.FAILED)
  })
})
