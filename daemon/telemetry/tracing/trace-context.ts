// W3C Trace Context (https://www.w3.org/TR/trace-context/) for the tracing
// sink: ids minted here; `traceparent`/`tracestate` read from an inbound
// INVITE and written for a call's logger and its B-leg INVITEs by
// OpenTelemetry's W3C propagator, with the sink's plain contexts (not SDK
// spans) going in and out.
import {ROOT_CONTEXT, trace} from '@opentelemetry/api'
import {TraceState, W3CTraceContextPropagator} from '@opentelemetry/core'
import type {HeaderCarrier} from '../../calls/stage-events.js'

/** The W3C flag bit saying the caller records the trace. */
export const SAMPLED = 0x01

/** Where a span sits in its trace: enough to parent a span on it or to propagate it. */
export interface TraceContext {
  readonly traceId: string
  readonly spanId: string
  /** The trace flags byte (bit 0: sampled). */
  readonly flags: number
  /** The vendor `tracestate`, passed on (as the propagator keeps it). */
  readonly traceState: string | undefined
}

// Ids as the SDK's RandomIdGenerator makes them (Math.random, lowercase hex, never all zero), without a Buffer per id.
const HEX = Array.from({length: 256}, (_, byte) => byte.toString(16).padStart(2, '0'))
const randomHex = (bytes: number): string => {
  let id = ''
  let zero = true
  for (let index = 0; index < bytes; index += 4) {
    const word = (Math.random() * 2 ** 32) >>> 0
    if (word !== 0) zero = false
    id += HEX[word >>> 24]! + HEX[(word >>> 16) & 0xff]! + HEX[(word >>> 8) & 0xff]! + HEX[word & 0xff]!
  }
  return zero ? `${id.slice(0, -2)}01` : id
}
export const newTraceId = (): string => randomHex(16)
export const newSpanId = (): string => randomHex(8)

const propagator = new W3CTraceContextPropagator()
const getter = {
  keys: (carrier: HeaderCarrier) => Object.keys(carrier),
  get: (carrier: HeaderCarrier, key: string) => carrier[key],
}
const setter = {
  set: (carrier: HeaderCarrier, key: string, value: string) => {
    carrier[key] = value
  },
}

/** The remote context of a `traceparent` (and `tracestate`) in the headers, or undefined when there is none or it is malformed. */
export const extractContext = (headers: HeaderCarrier): TraceContext | undefined => {
  if (headers.traceparent === undefined) return undefined
  const context = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, headers, getter))
  if (!context) return undefined
  // The propagator drops invalid tracestate members (and all of a header over 512 characters): nothing left is no tracestate.
  const traceState = context.traceState?.serialize() || undefined
  return {traceId: context.traceId, spanId: context.spanId, flags: context.traceFlags, traceState}
}

/** Writes `traceparent` (and `tracestate` when the trace has one) for a span into the headers. */
export const injectContext = (context: TraceContext, headers: HeaderCarrier): void => {
  const spanContext = {
    traceId: context.traceId,
    spanId: context.spanId,
    traceFlags: context.flags,
    ...(context.traceState === undefined ? {} : {traceState: new TraceState(context.traceState)}),
  }
  propagator.inject(trace.setSpanContext(ROOT_CONTEXT, spanContext), headers, setter)
}
