import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SpanStatusCode} from '@opentelemetry/api'
import {resourceFromAttributes} from '@opentelemetry/resources'
import {RecordedSpan, SpanKind, toReadableSpan} from '../../../../../daemon/telemetry/tracing/span-record.js'

const origin = {resource: resourceFromAttributes({'service.name': 'test'}), scope: {name: 'clutchcall', version: '9.9.9'}}

describe('span records', () => {
  it('a root starts a new sampled trace; a child shares its trace id, parent and tracestate, and keeps only the sampled flag', () => {
    const root = new RecordedSpan('call', SpanKind.SERVER, undefined, false, 1, undefined, {})
    assert.match(root.traceId, /^[0-9a-f]{32}$/)
    assert.equal(root.parentSpanId, undefined)
    assert.equal(root.sampled, true)
    const remote = {traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), flags: 0x03, traceState: 'v=1'}
    const continued = new RecordedSpan('call', SpanKind.SERVER, remote, true, 1, undefined, {})
    const child = new RecordedSpan('rtp.setup', SpanKind.INTERNAL, continued, false, 1, undefined, {})
    assert.equal(continued.traceId, remote.traceId)
    assert.equal(continued.parentSpanId, remote.spanId)
    assert.equal(continued.flags, 1)
    assert.equal(child.parentSpanId, continued.spanId)
    assert.equal(child.traceState, 'v=1')
    assert.notEqual(child.spanId, continued.spanId)
    assert.equal(new RecordedSpan('x', SpanKind.INTERNAL, {...remote, flags: 0}, true, 1, undefined, {}).sampled, false)
  })

  it('reads as the SDK span an OpenTelemetry exporter expects', () => {
    const common = {'call.sid': 'CA1', transport: 'sip'}
    const root = new RecordedSpan('call', SpanKind.SERVER, undefined, false, 1_700_000_000_123.25, common, {n: 3, transport: 'own wins'}).end(1_700_000_001_000)
    const child = new RecordedSpan('sip.setup', SpanKind.CLIENT, root, false, 1_700_000_000_200, common, {'sip.uri': 'sip:ü@example.com'})
    child.error = 'final response 503'
    child.end(1_700_000_000_100)
    const [rootCopy, childCopy] = [root, child]
    assert.equal(toReadableSpan(childCopy, origin).attributes['sip.uri'], 'sip:ü@example.com')
    const readableRoot = toReadableSpan(rootCopy, origin)
    const readableChild = toReadableSpan(childCopy, origin)
    assert.deepEqual(readableRoot.startTime, [1_700_000_000, 123_250_000])
    assert.deepEqual(readableRoot.endTime, [1_700_000_001, 0])
    assert.deepEqual(readableRoot.duration, [0, 876_750_000])
    assert.equal(readableRoot.parentSpanContext, undefined)
    assert.deepEqual(readableRoot.status, {code: SpanStatusCode.UNSET})
    assert.deepEqual(readableRoot.attributes, {'call.sid': 'CA1', transport: 'own wins', n: 3})
    assert.equal(readableRoot.kind, SpanKind.SERVER)
    assert.equal(readableRoot.resource, origin.resource)
    assert.equal(readableRoot.instrumentationScope.version, '9.9.9')
    assert.equal(readableChild.parentSpanContext?.spanId, root.spanId)
    assert.equal(readableChild.parentSpanContext?.isRemote, false)
    assert.equal(readableChild.spanContext().traceId, root.traceId)
    assert.deepEqual(readableChild.status, {code: SpanStatusCode.ERROR, message: 'final response 503'})
    assert.deepEqual(readableChild.endTime, readableChild.startTime, 'an end before the start is clamped')
  })
})
