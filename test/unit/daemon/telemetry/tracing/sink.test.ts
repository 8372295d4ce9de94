import assert from 'node:assert/strict'
import {it} from 'node:test'
import {ExportResultCode, type ExportResult} from '@opentelemetry/core'
import {InMemorySpanExporter, type ReadableSpan, type SpanExporter} from '@opentelemetry/sdk-trace'
import pino from 'pino'
import {Call} from '../../../../../daemon/calls/call.js'
import {CallRegistry} from '../../../../../daemon/calls/registry.js'
import type {HeaderCarrier} from '../../../../../daemon/calls/stage-events.js'
import {FIRST_EXPORT_WAIT_MS, STOP_FLUSH_MS, TracingSink, tracesUrl} from '../../../../../daemon/telemetry/tracing/sink.js'

const config = {endpoint: 'http://127.0.0.1:1/'}

it('the traces URL is the endpoint with /v1/traces', () => {
  assert.equal(tracesUrl('http://localhost:4318'), 'http://localhost:4318/v1/traces')
  assert.equal(tracesUrl('http://collector:4318/'), 'http://collector:4318/v1/traces')
})

it('builds one trace per call from the stages, continues an inbound traceparent and injects one for a B-leg', async () => {
  const calls = new CallRegistry()
  const exporter = new InMemorySpanExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const call = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'x', propagation: {traceparent: `00-${traceId}-00f067aa0ba902b7-01`}}, calls, pino({level: 'silent'}))
  call.stageDone('trunk.lookup', Date.now(), Date.now(), {'trunk.id': 'a'})
  call.enteredNode('bridge', 'bridge')
  const headers: HeaderCarrier = {}
  calls.stage({kind: 'leg.dialing', call_sid: call.sid, leg_call_id: 'b1', request_uri: 'sip:2@h', trunk_id: 'b', at_ms: Date.now(), headers})
  assert.match(headers.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`))
  calls.stage({kind: 'leg.dialed', call_sid: call.sid, leg_call_id: 'b1', status: 486, outcome: 'busy', at_ms: Date.now()})
  call.leftNode('bridge', 'busy')
  call.finish({cause: 17, status: 'busy'})
  // Read before the stop: shutting down clears the in-memory exporter.
  await new Promise((resolve) => setTimeout(resolve, 100))
  const spans: ReadableSpan[] = exporter.getFinishedSpans()
  await sink.stop()
  const root = spans.find((span) => span.name === 'call')
  assert.ok(root)
  assert.equal(root.spanContext().traceId, traceId)
  assert.equal(root.attributes['call.status'], 'busy')
  const bridge = spans.find((span) => span.name === 'dialplan.node.bridge')
  const bLeg = spans.find((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'b')
  assert.equal(bLeg?.parentSpanContext?.spanId, bridge?.spanContext().spanId)
  assert.equal(headers.traceparent?.split('-')[2], bLeg?.spanContext().spanId)
  for (const span of spans) assert.equal(span.attributes['call.sid'], call.sid)
  assert.deepEqual(spans.map((span) => span.name).sort(), ['call', 'dialplan.node.bridge', 'sip.setup', 'sip.setup', 'trunk.lookup'])
})

it('a failing exporter costs one warning per minute and the state says failing; nothing is thrown at calls', async () => {
  const calls = new CallRegistry()
  const results: ExportResultCode[] = []
  let fail = true
  const exporter: SpanExporter = {
    export: (_spans, done: (result: ExportResult) => void) => {
      const code = fail ? ExportResultCode.FAILED : ExportResultCode.SUCCESS
      results.push(code)
      done(fail ? {code, error: new Error('connect ECONNREFUSED')} : {code})
    },
    shutdown: () => Promise.resolve(),
  }
  const lines: string[] = []
  const log = pino({level: 'info'}, {write: (line: string) => lines.push(line)})
  const sink = new TracingSink({config, calls, log, exporter, exportEveryMs: 10})
  sink.start()
  assert.equal(sink.state, 'exporting')
  for (let index = 0; index < 3; index++) {
    new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: String(index), sipCallId: `x${index}`}, calls, pino({level: 'silent'})).finish({cause: 16, status: 'completed'})
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.ok(results.length >= 2, `exports: ${results.length}`)
  assert.equal(sink.state, 'failing')
  assert.equal(lines.filter((line) => line.includes('traces cannot be exported')).length, 1)
  fail = false
  new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '9', sipCallId: 'y'}, calls, pino({level: 'silent'})).finish({cause: 16, status: 'completed'})
  await new Promise((resolve) => setTimeout(resolve, 50))
  assert.equal(sink.state, 'exporting')
  await sink.stop()
  assert.equal(sink.state, 'off')
})

it('over gRPC the collector is the endpoint itself (no /v1/traces); the log lines name the protocol and the warning counts the failed spans', async () => {
  const calls = new CallRegistry()
  let failedSpans = 0
  const exporter: SpanExporter = {
    export: (spans, done: (result: ExportResult) => void) => {
      failedSpans += spans.length
      done({code: ExportResultCode.FAILED, error: new Error('3 INVALID_ARGUMENT: bad [INVALID_ARGUMENT (3): not retryable]')})
    },
    shutdown: () => Promise.resolve(),
  }
  const lines: string[] = []
  const log = pino({level: 'info'}, {write: (line: string) => lines.push(line)})
  const sink = new TracingSink({config: {endpoint: 'http://otel:4317', protocol: 'grpc'}, calls, log, exporter, exportEveryMs: 10})
  assert.equal(sink.protocol, 'grpc')
  sink.start()
  const on = JSON.parse(lines.find((line) => line.includes('"tracing on"')) ?? '{}') as {endpoint?: string; protocol?: string}
  assert.deepEqual([on.endpoint, on.protocol], ['http://otel:4317', 'grpc'])
  new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'g'}, calls, pino({level: 'silent'})).finish({cause: 16, status: 'completed'})
  await new Promise((resolve) => setTimeout(resolve, 50))
  await sink.stop()
  const warning = JSON.parse(lines.find((line) => line.includes('traces cannot be exported')) ?? '{}') as {protocol?: string; failed_exports?: number; failed_spans?: number; err?: string}
  assert.equal(warning.protocol, 'grpc')
  assert.equal(warning.failed_exports, 1)
  assert.ok(failedSpans > 0)
  assert.equal(warning.failed_spans, failedSpans)
  assert.match(warning.err ?? '', /INVALID_ARGUMENT/)
  // The default stays OTLP/HTTP, to <endpoint>/v1/traces.
  const http = new TracingSink({config: {endpoint: 'http://otel:4318'}, calls, log, exporter, exportEveryMs: 10})
  assert.equal(http.protocol, 'http/protobuf')
  http.start()
  assert.match(lines.at(-1) ?? '', /"endpoint":"http:\/\/otel:4318\/v1\/traces","protocol":"http\/protobuf"/)
  await http.stop()
})

it('a caller that does not sample its trace gets none exported, while the B-leg still carries the context (flags 00, tracestate kept)', async () => {
  const calls = new CallRegistry()
  const exporter = new InMemorySpanExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const unsampled = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'u', propagation: {traceparent: `00-${traceId}-00f067aa0ba902b7-00`, tracestate: 'vendor=1'}}, calls, pino({level: 'silent'}))
  const headers: HeaderCarrier = {}
  calls.stage({kind: 'leg.dialing', call_sid: unsampled.sid, leg_call_id: 'b1', request_uri: 'sip:2@h', trunk_id: 'b', at_ms: Date.now(), headers})
  assert.match(headers.traceparent ?? '', new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`))
  assert.equal(headers.tracestate, 'vendor=1')
  unsampled.finish({cause: 16, status: 'completed'})
  const sampled = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '3', sipCallId: 's', propagation: {traceparent: `00-${traceId.replace('4', '5')}-00f067aa0ba902b7-01`, tracestate: 'vendor=2'}}, calls, pino({level: 'silent'}))
  sampled.finish({cause: 16, status: 'completed'})
  await new Promise((resolve) => setTimeout(resolve, 100))
  const spans: ReadableSpan[] = exporter.getFinishedSpans()
  await sink.stop()
  assert.ok(spans.length > 0)
  assert.deepEqual(new Set(spans.map((span) => span.attributes['call.sid'])), new Set([sampled.sid]))
  const root = spans.find((span) => span.name === 'call')
  assert.equal(root?.parentSpanContext?.isRemote, true)
  assert.equal(root?.spanContext().traceState?.serialize(), 'vendor=2')
})

it('clamps a stage that ends before it starts to zero length, as the SDK does', async () => {
  const calls = new CallRegistry()
  const exporter = new InMemorySpanExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const call = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'z'}, calls, pino({level: 'silent'}))
  const now = Date.now()
  call.stageDone('rtp.setup', now, now - 50, {'rtp.codec': 'PCMU'})
  call.finish({cause: 16, status: 'completed'})
  await new Promise((resolve) => setTimeout(resolve, 100))
  const spans: ReadableSpan[] = exporter.getFinishedSpans()
  await sink.stop()
  const rtp = spans.find((span) => span.name === 'rtp.setup')
  assert.deepEqual(rtp?.endTime, rtp?.startTime)
  assert.equal(rtp?.attributes['rtp.codec'], 'PCMU')
})

it('a collector too slow for the span rate costs dropped spans and one warning that says how many, never memory or calls', async () => {
  const calls = new CallRegistry()
  const held: Array<(result: ExportResult) => void> = []
  const exporter: SpanExporter = {export: (_spans, done) => void held.push(done), shutdown: () => Promise.resolve()}
  const lines: string[] = []
  const log = pino({level: 'info'}, {write: (line: string) => lines.push(line)})
  const sink = new TracingSink({config, calls, log, exporter, exportEveryMs: 5, maxQueuedSpans: 10})
  sink.start()
  for (let index = 0; index < 40; index++) {
    new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: String(index), sipCallId: `d${index}`}, calls, pino({level: 'silent'})).finish({cause: 16, status: 'completed'})
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  assert.ok(held.length >= 1)
  for (const done of held.splice(0)) done({code: ExportResultCode.SUCCESS})
  await new Promise((resolve) => setTimeout(resolve, 30))
  for (const done of held.splice(0)) done({code: ExportResultCode.SUCCESS})
  const warnings = lines.map((line) => JSON.parse(line) as {msg: string; dropped_spans?: number}).filter((line) => line.msg.startsWith('spans dropped'))
  assert.equal(warnings.length, 1)
  // 40 calls of 2 spans (call, sip.setup) against 4 batches in flight and 10 queued.
  assert.ok((warnings[0]?.dropped_spans ?? 0) > 0, JSON.stringify(warnings))
  assert.equal(sink.state, 'exporting')
  const stopping = sink.stop()
  for (const done of held.splice(0)) done({code: ExportResultCode.SUCCESS})
  await stopping
})

/** An exporter whose answers the test gives: `answer` is called per export, with what `export` received; undefined holds it. */
const scriptedExporter = (answer: (index: number) => ExportResult | undefined) => {
  const held: Array<(result: ExportResult) => void> = []
  let exports = 0
  let shutdowns = 0
  const exporter: SpanExporter = {
    export: (_spans, done) => {
      const result = answer(exports++)
      if (result === undefined) held.push(done)
      else done(result)
    },
    shutdown: () => {
      shutdowns++
      return Promise.resolve()
    },
  }
  return {exporter, held, exports: () => exports, shutdowns: () => shutdowns}
}

const endedCall = (calls: CallRegistry, to: string): void =>
  new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to, sipCallId: `s-${to}`}, calls, pino({level: 'silent'})).finish({cause: 16, status: 'completed'})

const until = async (what: string, condition: () => boolean): Promise<void> => {
  const deadline = Date.now() + 10_000
  while (!condition()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Whether `promise` settles before `ms` of real time: a stop that waited for the collector would not. */
const settlesWithin = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())])

it('a stop does not wait for a collector that was asked and never answered; the exporter is shut down', async () => {
  const calls = new CallRegistry()
  const scripted = scriptedExporter(() => undefined)
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter: scripted.exporter, exportEveryMs: 5})
  sink.start()
  endedCall(calls, '1')
  await until('the first export', () => scripted.held.length === 1)
  endedCall(calls, '2')
  // Far less than the STOP_FLUSH_MS it would wait for a collector that answers.
  assert.equal(await settlesWithin(sink.stop(), STOP_FLUSH_MS - 500), true, 'the stop waited for a collector that never answered')
  assert.equal(scripted.exports(), 1, 'the spans queued since are not handed over')
  assert.equal(scripted.shutdowns(), 1)
  assert.equal(sink.state, 'off')
})

it('a stop does not wait for a collector whose last export failed, and sends it nothing more', async () => {
  const calls = new CallRegistry()
  const scripted = scriptedExporter(() => ({code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED')}))
  const lines: string[] = []
  const sink = new TracingSink({config, calls, log: pino({level: 'info'}, {write: (line: string) => lines.push(line)}), exporter: scripted.exporter, exportEveryMs: 5})
  sink.start()
  endedCall(calls, '1')
  await until('the failed export', () => sink.state === 'failing')
  endedCall(calls, '2')
  assert.equal(await settlesWithin(sink.stop(), STOP_FLUSH_MS - 500), true)
  assert.equal(scripted.exports(), 1)
  assert.ok(lines.some((line) => line.includes('tracing stops without waiting for the collector: its last export failed')), lines.join(''))
})

it('a stop waits for a collector that acknowledged its last export until it answers the last spans', async () => {
  const calls = new CallRegistry()
  const scripted = scriptedExporter((index) => (index === 0 ? {code: ExportResultCode.SUCCESS} : undefined))
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter: scripted.exporter, exportEveryMs: 5})
  sink.start()
  endedCall(calls, '1')
  await until('the first export', () => scripted.exports() === 1)
  endedCall(calls, '2')
  const stopping = sink.stop()
  await until('the last spans handed over', () => scripted.held.length === 1)
  assert.equal(await settlesWithin(stopping, 100), false, 'the stop gives an answering collector time for the last spans')
  scripted.held[0]?.({code: ExportResultCode.SUCCESS})
  assert.equal(await settlesWithin(stopping, STOP_FLUSH_MS), true)
  assert.equal(scripted.exports(), 2)
})

it('a stop before any export hands the queued spans over and waits for them at most FIRST_EXPORT_WAIT_MS', async () => {
  const calls = new CallRegistry()
  const scripted = scriptedExporter(() => undefined)
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter: scripted.exporter, exportEveryMs: 60_000})
  sink.start()
  endedCall(calls, '1')
  assert.equal(scripted.exports(), 0)
  const began = performance.now()
  await sink.stop()
  assert.equal(scripted.exports(), 1, 'the last spans of a short run are handed over')
  assert.ok(performance.now() - began < STOP_FLUSH_MS, `a collector asked for the first time holds the stop ${FIRST_EXPORT_WAIT_MS} ms at most, not ${STOP_FLUSH_MS}`)
})

it('a refused call: sip.setup carries the status sent and is the failed step; a B-leg still ringing at the end of the call waits for its final response', async () => {
  const calls = new CallRegistry()
  const exporter = new InMemorySpanExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const log = pino({level: 'silent'})
  const refused = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'r'}, calls, log)
  refused.sipFinal(488)
  refused.finish({cause: 127, status: 'failed'})

  const cancelled = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '3', sipCallId: 'c'}, calls, log)
  cancelled.enteredNode('bridge', 'bridge')
  calls.stage({kind: 'leg.dialing', call_sid: cancelled.sid, leg_call_id: 'b2', request_uri: 'sip:3@h', trunk_id: 'b', at_ms: Date.now(), headers: {}})
  cancelled.sipFinal(487)
  cancelled.finish({cause: 16, status: 'canceled'})
  // After the call's end: the B-leg's RTP setup, then its 487.
  calls.stage({kind: 'stage', call_sid: cancelled.sid, stage: 'rtp.setup', start_ms: Date.now(), end_ms: Date.now(), attributes: {'sip.leg': 'b', 'sip.call_id': 'b2', 'rtp.local_port': 20000, 'rtp.shard': 0}})
  calls.stage({kind: 'leg.dialed', call_sid: cancelled.sid, leg_call_id: 'b2', status: 487, outcome: 'canceled', at_ms: Date.now()})
  await new Promise((resolve) => setTimeout(resolve, 100))
  const spans: ReadableSpan[] = exporter.getFinishedSpans()
  await sink.stop()

  const of = (sid: string) => spans.filter((span) => span.attributes['call.sid'] === sid)
  const refusedSetup = of(refused.sid).find((span) => span.name === 'sip.setup')
  assert.equal(refusedSetup?.attributes['sip.status_code'], 488)
  assert.equal(refusedSetup?.attributes['sip.outcome'], 'failed')
  assert.equal(refusedSetup?.status.code, 2, 'error')
  const aSetup = of(cancelled.sid).find((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'a')
  assert.equal(aSetup?.attributes['sip.status_code'], 487)
  assert.equal(aSetup?.status.code, 0, 'a cancel is no error')
  const bridge = of(cancelled.sid).find((span) => span.name === 'dialplan.node.bridge')
  const bSetup = of(cancelled.sid).find((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'b')
  assert.equal(bSetup?.attributes['sip.status_code'], 487)
  assert.equal(bSetup?.attributes['sip.outcome'], 'canceled')
  const bRtp = of(cancelled.sid).find((span) => span.name === 'rtp.setup')
  assert.ok(bRtp, 'the B-leg RTP setup after the call ended')
  assert.equal(bRtp.parentSpanContext?.spanId, bridge?.spanContext().spanId)
})

it('a B-leg that never left (a DNS lookup that failed) carries that reason as its span error', async () => {
  const calls = new CallRegistry()
  const exporter = new InMemorySpanExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const call = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'dns'}, calls, pino({level: 'silent'}))
  call.enteredNode('bridge', 'bridge')
  calls.stage({kind: 'leg.dialing', call_sid: call.sid, leg_call_id: 'b1', request_uri: 'sip:2@nowhere.example', trunk_id: 'b', at_ms: Date.now(), headers: {}})
  const reason = 'cannot resolve nowhere.example: no such domain (NXDOMAIN) (A nowhere.example: no such domain (NXDOMAIN))'
  calls.stage({kind: 'leg.dialed', call_sid: call.sid, leg_call_id: 'b1', status: 503, outcome: 'failed', at_ms: Date.now(), error: reason})
  call.leftNode('bridge', 'failed')
  call.finish({cause: 41, status: 'failed'})
  await new Promise((resolve) => setTimeout(resolve, 100))
  const bLeg = exporter.getFinishedSpans().find((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'b')
  await sink.stop()
  assert.equal(bLeg?.status.message, reason)
})
