import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {W3CTraceContextPropagator} from '@opentelemetry/core'
import {ROOT_CONTEXT, trace} from '@opentelemetry/api'
import {extractContext, injectContext, newSpanId, newTraceId} from '../../../../../daemon/telemetry/tracing/trace-context.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN = '00f067aa0ba902b7'

/** What the OpenTelemetry W3C propagator makes of the same headers: the reference these rules follow. */
const reference = (headers: Record<string, string>) => {
  const propagator = new W3CTraceContextPropagator()
  const context = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, {keys: (carrier) => Object.keys(carrier), get: (carrier, key) => carrier[key]}))
  return context ? {traceId: context.traceId, spanId: context.spanId, flags: context.traceFlags, traceState: context.traceState?.serialize()} : undefined
}

describe('W3C trace context', () => {
  it('reads traceparent and tracestate as the OpenTelemetry propagator does, valid or not', () => {
    const cases: Record<string, string>[] = [
      {traceparent: `00-${TRACE}-${SPAN}-01`},
      {traceparent: `00-${TRACE}-${SPAN}-00`},
      {traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'},
      {traceparent: ` 00-${TRACE}-${SPAN}-01 `},
      {traceparent: `01-${TRACE}-${SPAN}-01-future`},
      {traceparent: `00-${TRACE}-${SPAN}-01-extra`},
      {traceparent: `ff-${TRACE}-${SPAN}-01`},
      {traceparent: `00-${'0'.repeat(32)}-${SPAN}-01`},
      {traceparent: `00-${TRACE}-${'0'.repeat(16)}-01`},
      {traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01`},
      {traceparent: `00-${TRACE}-${SPAN}`},
      {traceparent: 'garbage'},
      {},
    ]
    for (const headers of cases) assert.deepEqual(extractContext(headers), reference(headers), JSON.stringify(headers))
  })

  it('keeps the trace when the tracestate breaks the W3C limits: the excess or the invalid part goes', () => {
    const traceparent = `00-${TRACE}-${SPAN}-01`
    const tooMany = Array.from({length: 33}, (_, index) => `k${index}=v`).join(',')
    assert.equal(extractContext({traceparent, tracestate: tooMany})?.traceState?.split(',').length, 32)
    assert.equal(extractContext({traceparent, tracestate: `a=${'x'.repeat(513)}`})?.traceState, undefined)
    assert.equal(extractContext({traceparent, tracestate: 'novalue'})?.traceState, undefined)
    assert.equal(extractContext({traceparent, tracestate: 'novalue,b=2'})?.traceState, 'b=2')
    assert.equal(extractContext({traceparent, tracestate: 'a=1'})?.traceId, TRACE)
  })

  it('writes traceparent (and tracestate when there is one) that the propagator reads back', () => {
    const headers: Record<string, string> = {}
    injectContext({traceId: TRACE, spanId: SPAN, flags: 1, traceState: 'rojo=1'}, headers)
    assert.deepEqual(headers, {traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'rojo=1'})
    assert.deepEqual(reference(headers), {traceId: TRACE, spanId: SPAN, flags: 1, traceState: 'rojo=1'})
    const unsampled: Record<string, string> = {}
    injectContext({traceId: TRACE, spanId: SPAN, flags: 0, traceState: undefined}, unsampled)
    assert.deepEqual(unsampled, {traceparent: `00-${TRACE}-${SPAN}-00`})
  })

  it('mints lowercase hex ids of the right length, different every time', () => {
    const traces = new Set(Array.from({length: 1000}, newTraceId))
    const spans = new Set(Array.from({length: 1000}, newSpanId))
    assert.equal(traces.size, 1000)
    assert.equal(spans.size, 1000)
    for (const id of traces) assert.match(id, /^[0-9a-f]{32}$/)
    for (const id of spans) assert.match(id, /^[0-9a-f]{16}$/)
  })
})
