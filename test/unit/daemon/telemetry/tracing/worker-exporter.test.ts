// The OTLP export thread against the test suite's OTLP receivers (official
// opentelemetry-proto definitions): what the main thread hands over arrives
// whole — names, ids, parents, kinds, times, attributes, status, resource —
// over HTTP and over gRPC, as the same bytes; over gRPC the retries of the
// OTLP specification, TLS, metadata and the size limit.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {MAX_GRPC_REQUEST_BYTES} from '../../../../../daemon/telemetry/tracing/grpc-export.js'
import {OtlpTraceEncoder} from '../../../../../daemon/telemetry/tracing/otlp-encoder.js'
import {RecordedSpan, SpanKind, type SpanRecord} from '../../../../../daemon/telemetry/tracing/span-record.js'
import {WorkerSpanExporter} from '../../../../../daemon/telemetry/tracing/worker-exporter.js'
import {freePort} from '../../../../helpers/cli.js'
import {waitFor} from '../../../../helpers/gateway.js'
import {retryInfoMetadata} from '../../../../helpers/grpc-status-details.js'
import {OtlpGrpcReceiver} from '../../../../helpers/otlp-grpc-receiver.js'
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

describe('WorkerSpanExporter over gRPC', () => {
  const grpcReceiver = new OtlpGrpcReceiver()
  before(() => grpcReceiver.start())
  after(() => grpcReceiver.stop())

  /** A gRPC exporter to the test receiver (or `url`), retrying after 50 ms, 75 ms, … instead of 1 s, 1.5 s, … */
  const grpcExporter = (options: {url?: string; timeoutMillis?: number} = {}) =>
    new WorkerSpanExporter({protocol: 'grpc', url: options.url ?? grpcReceiver.endpoint, timeoutMillis: options.timeoutMillis ?? 5000, initialBackoffMs: 50, resource, scope})

  it('sends TraceService/Export the bytes the encoder wrote, the very bytes the HTTP path POSTs; the receiver reads the same spans', async () => {
    const spans = finishedSpans()
    const http = new WorkerSpanExporter({url: `${receiver.endpoint}/v1/traces`, timeoutMillis: 5000, resource, scope})
    const overGrpc = grpcExporter()
    const httpBodies = receiver.bodies.length
    const grpcBodies = grpcReceiver.bodies.length
    try {
      assert.equal(await exportVia(http, spans), undefined)
      assert.equal(await exportVia(overGrpc, spans), undefined)
    } finally {
      await Promise.all([http.shutdown(), overGrpc.shutdown()])
    }
    const viaHttp = receiver.bodies[httpBodies]
    const viaGrpc = grpcReceiver.bodies[grpcBodies]
    assert.ok(viaHttp && viaGrpc)
    assert.deepEqual(viaGrpc, viaHttp, 'byte for byte')
    assert.deepEqual(viaGrpc, Buffer.from(new OtlpTraceEncoder({resource, scope}).encode(spans)), 'what the encoder writes')
    // Two decoders (otlp-transformer's generated code over HTTP, @grpc/proto-loader with the .proto files over gRPC) agree.
    const ids = new Set(spans.map((span) => span.spanId))
    const byId = (list: readonly {spanId: string}[]) => [...list].filter((span) => ids.has(span.spanId)).sort((a, b) => a.spanId.localeCompare(b.spanId))
    assert.deepEqual(byId(grpcReceiver.spans), byId(receiver.spans))
    const root = grpcReceiver.spans.find((span) => span.spanId === spans[1]?.spanId)
    assert.equal(root?.name, 'call')
    assert.equal(root?.parentSpanId, '00f067aa0ba902b7')
    assert.equal(root?.startNanos, 1_700_000_000_000_500_000n)
    assert.deepEqual(root?.attributes, {'call.sid': 'CAx', 'call.duration_seconds': 12, answered: true})
  })

  it('UNAVAILABLE is retried with backoff until the collector takes the batch: the same bytes each time', async () => {
    const exporter = grpcExporter()
    const before = grpcReceiver.attempts.length
    grpcReceiver.answerNext(2, {code: grpc.status.UNAVAILABLE, details: 'collector restarting'})
    try {
      const started = Date.now()
      assert.equal(await exportVia(exporter, finishedSpans()), undefined)
      const attempts = grpcReceiver.attempts.slice(before)
      assert.equal(attempts.length, 3, 'two refusals, then accepted')
      assert.deepEqual(attempts[1], attempts[0])
      assert.deepEqual(attempts[2], attempts[0])
      assert.ok(Date.now() - started >= 50 + 75 - 30, `backed off: ${Date.now() - started} ms`)
    } finally {
      await exporter.shutdown()
    }
  })

  it('INVALID_ARGUMENT is final: one attempt, the batch dropped and the failure says so; the next batch goes through', async () => {
    const exporter = grpcExporter()
    const before = grpcReceiver.attempts.length
    const accepted = grpcReceiver.requests
    grpcReceiver.answerNext(1, {code: grpc.status.INVALID_ARGUMENT, details: 'bad span'})
    try {
      const error = await exportVia(exporter, finishedSpans())
      assert.match(error?.message ?? '', /INVALID_ARGUMENT: bad span \[INVALID_ARGUMENT \(3\): not retryable, 2 spans dropped after 1 attempt\]/)
      assert.equal(grpcReceiver.attempts.length - before, 1, 'not retried')
      assert.equal(grpcReceiver.requests, accepted)
      assert.equal(await exportVia(exporter, finishedSpans()), undefined)
    } finally {
      await exporter.shutdown()
    }
  })

  it('RESOURCE_EXHAUSTED: final without RetryInfo; with it, retried after the delay the collector asked', async () => {
    const exporter = grpcExporter()
    try {
      let before = grpcReceiver.attempts.length
      grpcReceiver.answerNext(1, {code: grpc.status.RESOURCE_EXHAUSTED})
      assert.match((await exportVia(exporter, finishedSpans()))?.message ?? '', /RESOURCE_EXHAUSTED \(8\): not retryable/)
      assert.equal(grpcReceiver.attempts.length - before, 1)

      before = grpcReceiver.attempts.length
      grpcReceiver.answerNext(1, {code: grpc.status.RESOURCE_EXHAUSTED, metadata: retryInfoMetadata(grpc.status.RESOURCE_EXHAUSTED, 600)})
      const started = Date.now()
      assert.equal(await exportVia(exporter, finishedSpans()), undefined)
      assert.equal(grpcReceiver.attempts.length - before, 2)
      assert.ok(Date.now() - started >= 580, `waited ${Date.now() - started} ms, RetryInfo asked 600`)
    } finally {
      await exporter.shutdown()
    }
  })

  it('a collector that is down fails the export within the export timeout, retrying meanwhile', async () => {
    const exporter = grpcExporter({url: `http://127.0.0.1:${await freePort()}`, timeoutMillis: 1500})
    try {
      const started = Date.now()
      const error = await exportVia(exporter, finishedSpans())
      assert.match(error?.message ?? '', /UNAVAILABLE \(14\): retryable, given up after [2-9] attempts/)
      assert.ok(Date.now() - started < 3000, `${Date.now() - started} ms`)
    } finally {
      await exporter.shutdown()
    }
  })

  it('a collector that never answers does not hold a shutdown (the thread gets half a second), and what was pending fails', async () => {
    const exporter = grpcExporter({timeoutMillis: 10_000})
    grpcReceiver.answerNext(1, 'never')
    const pending = exportVia(exporter, finishedSpans())
    await new Promise((resolve) => setTimeout(resolve, 300))
    const started = Date.now()
    await exporter.shutdown()
    assert.ok(Date.now() - started < 2000, `shutdown took ${Date.now() - started} ms`)
    assert.match((await pending)?.message ?? '', /shut down/)
  })

  it('does not send a request over 4 MiB: the batch is dropped, counted as a failure', async () => {
    const exporter = grpcExporter()
    const before = grpcReceiver.attempts.length
    try {
      const big = finishedSpans()
      big[0]?.attributes && ((big[0].attributes as Record<string, string>)['huge'] = 'x'.repeat(MAX_GRPC_REQUEST_BYTES))
      assert.match((await exportVia(exporter, big))?.message ?? '', /not sent: the request is \d+ bytes, over the 4194304/)
      assert.equal(grpcReceiver.attempts.length, before)
    } finally {
      await exporter.shutdown()
    }
  })

  it('OTEL_EXPORTER_OTLP_HEADERS become gRPC metadata', async () => {
    process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-scope-orgid=acme'
    // What is checked is the metadata, not the time: a loaded machine took over 5 s for a first gRPC call.
    const exporter = grpcExporter({timeoutMillis: 20_000})
    delete process.env.OTEL_EXPORTER_OTLP_HEADERS
    try {
      assert.equal(await exportVia(exporter, finishedSpans()), undefined)
      assert.deepEqual(grpcReceiver.lastMetadata?.get('x-scope-orgid'), ['acme'])
      assert.match(String(grpcReceiver.lastMetadata?.get('user-agent')[0]), /OTel-OTLP-Exporter-JavaScript/)
    } finally {
      await exporter.shutdown()
    }
  })

  describe('https:// endpoints', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cc-grpc-tls-'))
    const tlsReceiver = new OtlpGrpcReceiver()
    before(async () => {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], {stdio: 'ignore'})
      await tlsReceiver.start({tls: {key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem'))}})
    })
    after(async () => {
      await tlsReceiver.stop()
      rmSync(dir, {recursive: true, force: true})
    })

    it('use TLS: a collector whose certificate the CAs do not vouch for is refused; with its CA (OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE) it is used', async () => {
      assert.match(tlsReceiver.endpoint, /^https:/)
      const untrusted = grpcExporter({url: tlsReceiver.endpoint, timeoutMillis: 1000})
      try {
        assert.match((await exportVia(untrusted, finishedSpans()))?.message ?? '', /UNAVAILABLE/)
        assert.equal(tlsReceiver.requests, 0)
      } finally {
        await untrusted.shutdown()
      }
      process.env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE = join(dir, 'cert.pem')
      const trusted = grpcExporter({url: tlsReceiver.endpoint})
      delete process.env.OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE
      try {
        assert.equal(await exportVia(trusted, finishedSpans()), undefined)
        assert.equal(tlsReceiver.requests, 1)
      } finally {
        await trusted.shutdown()
      }
    })

    it('an http:// endpoint is plaintext: it does not reach a TLS collector', async () => {
      const plaintext = grpcExporter({url: `http://127.0.0.1:${tlsReceiver.port}`, timeoutMillis: 1000})
      const before = tlsReceiver.requests
      try {
        assert.ok(await exportVia(plaintext, finishedSpans()))
        assert.equal(tlsReceiver.requests, before)
      } finally {
        await plaintext.shutdown()
      }
    })
  })
})
