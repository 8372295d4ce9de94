import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ExportResultCode, type ExportResult} from '@opentelemetry/core'
import type {SpanExporter} from '@opentelemetry/sdk-trace'
import pino from 'pino'
import {Call} from '../../../../../daemon/calls/call.js'
import {CallRegistry} from '../../../../../daemon/calls/registry.js'
import {EXPORTED_TRACES_CAPACITY, ExportedTraces} from '../../../../../daemon/telemetry/tracing/exported-traces.js'
import {TracingSink} from '../../../../../daemon/telemetry/tracing/sink.js'

const id = (n: number): string => n.toString(16).padStart(32, '0')

describe('ExportedTraces', () => {
  it('counts the spans of each trace per export, acknowledged and failed apart', () => {
    const traces = new ExportedTraces()
    traces.record([id(1), id(1), id(2)], true)
    traces.record([id(1)], false)
    traces.record([id(1), id(2), id(2)], true)
    assert.deepEqual(traces.get(id(1)), {exportedSpans: 3, failedSpans: 1})
    assert.deepEqual(traces.get(id(2)), {exportedSpans: 3, failedSpans: 0})
    assert.deepEqual(traces.get(id(3)), {exportedSpans: 0, failedSpans: 0})
    assert.equal(traces.size, 2)
    traces.record([], false)
    assert.equal(traces.size, 2)
  })

  it('hands out copies: a caller cannot change the counts', () => {
    const traces = new ExportedTraces()
    traces.record([id(1)], true)
    const counts = traces.get(id(1)) as {exportedSpans: number}
    counts.exportedSpans = 99
    assert.equal(traces.get(id(1)).exportedSpans, 1)
  })

  it('is bounded: the least recently exported trace is forgotten first', () => {
    const traces = new ExportedTraces(3)
    traces.record([id(1)], true)
    traces.record([id(2)], true)
    traces.record([id(3)], true)
    // Trace 1 is exported again: now the most recent; 2 is the oldest.
    traces.record([id(1)], true)
    traces.record([id(4)], false)
    assert.equal(traces.size, 3)
    assert.deepEqual(traces.get(id(2)), {exportedSpans: 0, failedSpans: 0})
    assert.deepEqual(traces.get(id(1)), {exportedSpans: 2, failedSpans: 0})
    assert.deepEqual(traces.get(id(3)), {exportedSpans: 1, failedSpans: 0})
    assert.deepEqual(traces.get(id(4)), {exportedSpans: 0, failedSpans: 1})
    // One export with more traces than the capacity keeps the last ones of it.
    traces.record([id(10), id(11), id(12), id(13), id(14)], true)
    assert.equal(traces.size, 3)
    assert.deepEqual([10, 11, 12, 13, 14].map((n) => traces.get(id(n)).exportedSpans), [0, 0, 1, 1, 1])
  })

  it('holds a few thousand traces by default, and no more', () => {
    const traces = new ExportedTraces()
    assert.ok(EXPORTED_TRACES_CAPACITY >= 1000)
    for (let n = 1; n <= EXPORTED_TRACES_CAPACITY + 100; n++) traces.record([id(n)], true)
    assert.equal(traces.size, EXPORTED_TRACES_CAPACITY)
    assert.equal(traces.get(id(100)).exportedSpans, 0)
    assert.equal(traces.get(id(101)).exportedSpans, 1)
    assert.equal(traces.get(id(EXPORTED_TRACES_CAPACITY + 100)).exportedSpans, 1)
  })

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new ExportedTraces(0), RangeError)
    assert.throws(() => new ExportedTraces(1.5), RangeError)
  })
})

describe('TracingSink.traceExport', () => {
  it("counts a call's spans under the trace id of its INVITE's traceparent, acknowledged or failed", async () => {
    const calls = new CallRegistry()
    let fail = false
    let exports = 0
    const exporter: SpanExporter = {
      export: (_spans, done: (result: ExportResult) => void) => {
        exports++
        done(fail ? {code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED')} : {code: ExportResultCode.SUCCESS})
      },
      shutdown: () => Promise.resolve(),
    }
    const sink = new TracingSink({config: {endpoint: 'http://127.0.0.1:1'}, calls, log: pino({level: 'silent'}), exporter, exportEveryMs: 10})
    sink.start()
    const waitExports = async (count: number): Promise<void> => {
      const deadline = Date.now() + 10_000
      while (exports < count) {
        assert.ok(Date.now() < deadline, 'no export within 10 s')
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
    }
    const place = (traceId: string, to: string): void => {
      const call = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to, sipCallId: `x${to}`, propagation: {traceparent: `00-${traceId}-00f067aa0ba902b7-01`}}, calls, pino({level: 'silent'}))
      call.stageDone('trunk.lookup', Date.now(), Date.now(), {'trunk.id': 'a'})
      call.finish({cause: 16, status: 'completed'})
    }
    try {
      const good = '4bf92f3577b34da6a3ce929d0e0e4736'
      const lost = 'a3ce929d0e0e47364bf92f3577b34da6'
      place(good, '2')
      await waitExports(1)
      // The root `call`, the A-leg `sip.setup` and `trunk.lookup`.
      assert.deepEqual(sink.traceExport(good), {exportedSpans: 3, failedSpans: 0})
      fail = true
      place(lost, '3')
      await waitExports(2)
      assert.deepEqual(sink.traceExport(lost), {exportedSpans: 0, failedSpans: 3})
      assert.equal(sink.state, 'failing')
      assert.deepEqual(sink.traceExport(good), {exportedSpans: 3, failedSpans: 0})
      assert.deepEqual(sink.traceExport('0af7651916cd43dd8448eb211c80319c'), {exportedSpans: 0, failedSpans: 0})
    } finally {
      await sink.stop()
    }
  })
})
