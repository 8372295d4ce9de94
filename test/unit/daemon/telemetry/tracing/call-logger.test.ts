// The per-call child logger carries the call's `trace_id` when the tracing
// sink is on (the `call.begin` stage's context carrier, filled in by the
// sink), and nothing when it is off: log lines and spans join on it.
import assert from 'node:assert/strict'
import {it} from 'node:test'
import {ExportResultCode, type ExportResult} from '@opentelemetry/core'
import type {ReadableSpan, SpanExporter} from '@opentelemetry/sdk-trace'
import pino from 'pino'
import {Call} from '../../../../../daemon/calls/call.js'
import {CallRegistry} from '../../../../../daemon/calls/registry.js'
import {TracingSink} from '../../../../../daemon/telemetry/tracing/sink.js'

const config = {enabled: true, endpoint: 'http://127.0.0.1:1/'}

/** Keeps every span it is given, also after shutdown (the SDK's in-memory exporter forgets them then). */
class KeepingExporter implements SpanExporter {
  readonly spans: ReadableSpan[] = []

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.spans.push(...spans)
    done({code: ExportResultCode.SUCCESS})
  }

  shutdown(): Promise<void> {
    return Promise.resolve()
  }
}

/** The exported root span of a call: stopping the sink sends what is pending (no waiting on the batch timer). */
const rootOf = (exporter: KeepingExporter, callSid: string): ReadableSpan => {
  const root = exporter.spans.find((span) => span.name === 'call' && span.attributes['call.sid'] === callSid)
  assert.ok(root, `the root span of ${callSid} in ${JSON.stringify(exporter.spans.map((span) => span.name))}`)
  return root
}

/** A pino logger writing JSON lines to memory. */
const memoryLogger = () => {
  const lines: Array<Record<string, unknown>> = []
  const log = pino({level: 'info'}, {write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>)})
  return {log, lines}
}

const newCall = (calls: CallRegistry, log: pino.Logger, propagation?: Record<string, string>) =>
  new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'sip-1', ...(propagation ? {propagation} : {})}, calls, log)

it('with the tracing sink on, every per-call log line carries the trace_id of the exported call trace', async () => {
  const calls = new CallRegistry()
  const exporter = new KeepingExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const {log, lines} = memoryLogger()
  const call = newCall(calls, log)
  call.log.info({step: 1}, 'hello from the call')
  call.answered('PCMA')
  call.finish({cause: 16, status: 'completed'})
  await sink.stop()
  const traceId = rootOf(exporter, call.sid).spanContext().traceId
  assert.match(traceId, /^[\da-f]{32}$/)
  const mine = lines.filter((line) => line.call_sid === call.sid)
  assert.ok(mine.some((line) => line.msg === 'hello from the call'), JSON.stringify(lines))
  assert.ok(mine.some((line) => line.msg === 'answered'), "the call's own log lines too")
  for (const line of mine) assert.equal(line.trace_id, traceId, `trace_id on ${JSON.stringify(line)}`)
})

it('a call continuing an inbound traceparent logs that trace id', async () => {
  const calls = new CallRegistry()
  const exporter = new KeepingExporter()
  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
  sink.start()
  const {log, lines} = memoryLogger()
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736'
  const call = newCall(calls, log, {traceparent: `00-${traceId}-00f067aa0ba902b7-01`})
  call.log.info('hello')
  call.finish({cause: 16, status: 'completed'})
  await sink.stop()
  assert.equal(rootOf(exporter, call.sid).spanContext().traceId, traceId)
  assert.equal(lines.find((line) => line.msg === 'hello')?.trace_id, traceId)
})

it('without a tracing sink (or after it stopped) the per-call logger has no trace_id', async () => {
  const calls = new CallRegistry()
  const {log, lines} = memoryLogger()
  const untraced = newCall(calls, log)
  untraced.log.info('no sink')
  untraced.finish({cause: 16, status: 'completed'})

  const sink = new TracingSink({config, calls, log: pino({level: 'silent'}), exporter: new KeepingExporter(), exportEveryMs: 10})
  sink.start()
  await sink.stop()
  const afterStop = newCall(calls, log)
  afterStop.log.info('sink stopped')
  afterStop.finish({cause: 16, status: 'completed'})

  for (const msg of ['no sink', 'sink stopped']) {
    const line = lines.find((candidate) => candidate.msg === msg)
    assert.ok(line, msg)
    assert.ok(typeof line.call_sid === 'string' && line.call_sid.startsWith('CA'), 'still the per-call logger')
    assert.equal('trace_id' in line, false, `${msg}: ${JSON.stringify(line)}`)
  }
})
