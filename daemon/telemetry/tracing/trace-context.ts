// W3C Trace Context (https://www.w3.org/TR/trace-context/) for the tracing
// sink: ids minted here, `traceparent`/`tracestate` read from an inbound
// INVITE and written for a call's logger and its B-leg INVITEs. The rules are
// the OpenTelemetry W3CTraceContextPropagator's; done by hand because the sink
// no longer builds SDK span contexts on the thread that sets calls up.
import type {HeaderCarrier} from '../../calls/stage-events.js'

/** The W3C flag bit saying the caller records the trace. */
export const SAMPLED = 0x01

/** Where a span sits in its trace: enough to parent a span on it or to propagate it. */
export interface TraceContext {
  readonly traceId: string
  readonly spanId: string
  /** The trace flags byte (bit 0: sampled). */
  readonly flags: number
  /** The vendor `tracestate`, passed on unchanged. */
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

// version-traceid-parentid-flags; a future version may append fields after a dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/
const ZERO_TRACE = '0'.repeat(32)
const ZERO_SPAN = '0'.repeat(16)
/** W3C: at most 32 list members; the propagator drops a longer header. */
const MAX_TRACESTATE_MEMBERS = 32
const MAX_TRACESTATE_LENGTH = 512

/** The remote context of a `traceparent` (and `tracestate`) in the headers, or undefined when there is none or it is malformed. */
export const extractContext = (headers: HeaderCarrier): TraceContext | undefined => {
  const header = headers.traceparent?.trim()
  if (header === undefined) return undefined
  const match = TRACEPARENT.exec(header)
  if (!match) return undefined
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined]
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  return {traceId, spanId, flags: Number.parseInt(flags, 16), traceState: validTraceState(headers.tracestate)}
}

const validTraceState = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const value = header.trim()
  if (value === '' || value.length > MAX_TRACESTATE_LENGTH) return undefined
  const members = value.split(',').filter((member) => member.trim() !== '')
  if (members.length > MAX_TRACESTATE_MEMBERS || members.some((member) => !member.includes('='))) return undefined
  return members.map((member) => member.trim()).join(',')
}

/** Writes `traceparent` (and `tracestate` when the trace has one) for a span into the headers. */
export const injectContext = (context: TraceContext, headers: HeaderCarrier): void => {
  headers.traceparent = `00-${context.traceId}-${context.spanId}-${(context.flags & 0xff).toString(16).padStart(2, '0')}`
  if (context.traceState !== undefined) headers.tracestate = context.traceState
}
