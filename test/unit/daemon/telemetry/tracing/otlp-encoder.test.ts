// The hand-written OTLP encoder against the OpenTelemetry JS serializer it
// replaces: the same spans must give the same bytes, and the official
// opentelemetry-proto definitions must read them back.
import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {describe, it} from 'node:test'
import {ProtobufTraceSerializer} from '@opentelemetry/otlp-transformer'
import {resourceFromAttributes} from '@opentelemetry/resources'
import {OtlpTraceEncoder} from '../../../../../daemon/telemetry/tracing/otlp-encoder.js'
import {RecordedSpan, SpanKind, toReadableSpan, type SpanRecord} from '../../../../../daemon/telemetry/tracing/span-record.js'

const require = createRequire(import.meta.url)
interface Decoded {
  resourceSpans: Array<{
    resource: {attributes: Array<{key: string}>}
    scopeSpans: Array<{scope: {name: string; version: string}; spans: Array<{name: string; traceId: Uint8Array; startTimeUnixNano: {toString(): string}; endTimeUnixNano: {toString(): string}; attributes: Array<{key: string; value: Record<string, unknown>}>; status: {code: number; message: string}}>}>
  }>
}
const {ExportTraceServiceRequest} = require('otlp-proto-root/build/src/generated/root.js').opentelemetry.proto.collector.trace.v1 as {ExportTraceServiceRequest: {decode(bytes: Uint8Array): Decoded}}

const origin = {resource: {'service.name': 'clutchcall-gateway', 'service.version': '0.1.0', 'service.instance.id': 'host:1'}, scope: {name: 'clutchcall', version: '0.1.0'}}
// One resource object: the serializer groups spans by resource identity.
const spanOrigin = {resource: resourceFromAttributes(origin.resource), scope: origin.scope}
const official = (records: readonly SpanRecord[]): Uint8Array => ProtobufTraceSerializer.serializeRequest(records.map((record) => toReadableSpan(record, spanOrigin)))!

/** A call's spans, with every kind of value and the awkward cases: non-ASCII, long strings and messages over 127 bytes, big and negative integers, doubles, a remote parent with tracestate, error status, an own attribute overriding a shared one. */
const callSpans = (): RecordedSpan[] => {
  const common = {'tenant.id': 'acme', 'call.sid': `CA${'0123456789abcdef'.repeat(2)}`, transport: 'sip'}
  const remote = {traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', flags: 1, traceState: 'rojo=00f067aa0ba902b7'}
  const root = new RecordedSpan('call', SpanKind.SERVER, remote, true, 1_764_000_000_123.25, common, {'trunk.id': 'carrier-ü', 'call.direction': 'inbound'})
  const lookup = new RecordedSpan('trunk.lookup', SpanKind.INTERNAL, root, false, 1_764_000_000_124, common, {'trunk.id': 'x'.repeat(300)}).end(1_764_000_000_124.5)
  const bLeg = new RecordedSpan('sip.setup', SpanKind.CLIENT, root, false, 1_764_000_000_125, common, {transport: 'overridden', 'sip.status_code': 503, big: 2 ** 40, negative: -7, ratio: 0.25, answered: false, nan: Number.NaN})
  bLeg.error = `final response 503 ${'é'.repeat(100)}`
  bLeg.end(1_764_000_001_000)
  root.attributes['call.estimated_mos'] = 4.41
  root.end(1_764_000_002_999.75)
  const rpc = new RecordedSpan('rpc call.create', SpanKind.SERVER, undefined, false, 1_764_000_003_000, undefined, {'method.id': '1'}).end(1_764_000_003_001)
  return [lookup, bLeg, root, rpc]
}

describe('OtlpTraceEncoder', () => {
  it('writes the same bytes as the OpenTelemetry serializer for the same spans', () => {
    const encoder = new OtlpTraceEncoder(origin)
    const records = callSpans()
    assert.deepEqual(Buffer.from(encoder.encode(records)), Buffer.from(official(records)))
    // The reused buffer carries nothing over from one request to the next.
    const one = records.slice(3)
    assert.deepEqual(Buffer.from(encoder.encode(one)), Buffer.from(official(one)))
  })

  it('matches it for a full batch of 512 spans (lengths past two varint bytes, a grown buffer)', () => {
    const encoder = new OtlpTraceEncoder(origin)
    const records: RecordedSpan[] = []
    while (records.length < 512) records.push(...callSpans())
    const bytes = encoder.encode(records)
    assert.ok(bytes.length > 128 * 1024, `${bytes.length} bytes`)
    assert.deepEqual(Buffer.from(bytes), Buffer.from(official(records)))
  })

  it('is read back by the official opentelemetry-proto definitions', () => {
    const records = callSpans()
    const decoded = ExportTraceServiceRequest.decode(new OtlpTraceEncoder(origin).encode(records))
    const [resourceSpans] = decoded.resourceSpans
    assert.deepEqual(resourceSpans?.resource.attributes.map((attribute) => attribute.key), ['service.name', 'service.version', 'service.instance.id'])
    const [scopeSpans] = resourceSpans?.scopeSpans ?? []
    assert.equal(scopeSpans?.scope.name, 'clutchcall')
    const spans = scopeSpans?.spans ?? []
    assert.deepEqual(spans.map((span) => span.name), ['trunk.lookup', 'sip.setup', 'call', 'rpc call.create'])
    const call = spans[2]!
    assert.equal(Buffer.from(call.traceId).toString('hex'), '4bf92f3577b34da6a3ce929d0e0e4736')
    assert.equal(call.startTimeUnixNano.toString(), '1764000000123250000')
    assert.equal(call.endTimeUnixNano.toString(), '1764000002999750000')
    // Span.flags (field 16) is newer than these generated definitions; the byte comparison above covers it.
    const bLeg = spans[1]!
    assert.equal(bLeg.status.code, 2)
    assert.match(bLeg.status.message, /^final response 503 é/)
    const value = (key: string) => bLeg.attributes.find((attribute) => attribute.key === key)?.value
    assert.equal(value('transport')?.stringValue, 'overridden')
    assert.equal(String(value('big')?.intValue), String(2 ** 40))
    assert.equal(String(value('negative')?.intValue), '-7')
    assert.equal(value('ratio')?.doubleValue, 0.25)
    assert.equal(value('answered')?.boolValue, false)
  })
})
