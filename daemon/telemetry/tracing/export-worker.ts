// The OTLP export thread: receives finished spans as plain records from the
// main thread, rebuilds the span shape the OTLP/HTTP protobuf exporter reads,
// and sends them. Serialisation and HTTP stay off the thread that sets calls up.
import {parentPort, workerData} from 'node:worker_threads'
import type {Attributes, HrTime, SpanContext} from '@opentelemetry/api'
import {OTLPTraceExporter} from '@opentelemetry/exporter-trace-otlp-proto'
import {resourceFromAttributes} from '@opentelemetry/resources'
import type {ReadableSpan} from '@opentelemetry/sdk-trace'
import type {ExportWorkerData, ExportWorkerReply, ExportWorkerRequest, PlainSpan} from './worker-exporter.js'

const options = workerData as ExportWorkerData
const exporter = new OTLPTraceExporter({url: options.url, timeoutMillis: options.timeoutMillis})
// One resource object: the exporter groups spans by resource identity.
const resource = resourceFromAttributes(options.resource)
const scopes = new Map<string, {name: string; version?: string}>()
const NO_TIME: HrTime = [0, 0]

const readable = (span: PlainSpan): ReadableSpan => {
  const context: SpanContext = {traceId: span.traceId, spanId: span.spanId, traceFlags: span.traceFlags}
  let scope = scopes.get(span.scope)
  if (!scope) scopes.set(span.scope, (scope = {name: span.scope, ...(span.scopeVersion === undefined ? {} : {version: span.scopeVersion})}))
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => context,
    ...(span.parentSpanId === undefined ? {} : {parentSpanContext: {traceId: span.traceId, spanId: span.parentSpanId, traceFlags: span.traceFlags, isRemote: span.parentIsRemote}}),
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: span.attributes as Attributes,
    links: [],
    events: span.events,
    duration: NO_TIME,
    ended: true,
    resource,
    instrumentationScope: scope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  }
}

const reply = (message: ExportWorkerReply): void => parentPort?.postMessage(message)

parentPort?.on('message', (message: ExportWorkerRequest) => {
  if (message.type === 'export') {
    try {
      exporter.export(message.spans.map(readable), (result) => reply({type: 'result', id: message.id, ok: result.code === 0, ...(result.error ? {error: result.error.message} : {})}))
    } catch (error) {
      reply({type: 'result', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error)})
    }
    return
  }
  void exporter.shutdown().finally(() => reply({type: 'shutdown'}))
})
