// The OTLP export thread: sends the ExportTraceServiceRequests the main thread
// encoded with the OpenTelemetry OTLP/HTTP transport (the one
// OTLPTraceExporter uses: its timeout, retries with backoff on 429/502/503/504,
// concurrency limit, and the OTEL_EXPORTER_OTLP_* headers and TLS settings),
// so HTTP stays off the thread that sets calls up.
import {parentPort, workerData} from 'node:worker_threads'
import {OTLPExporterBase} from '@opentelemetry/otlp-exporter-base'
import {convertLegacyHttpOptions, createOtlpHttpExportDelegate} from '@opentelemetry/otlp-exporter-base/node-http'
import {ProtobufTraceSerializer} from '@opentelemetry/otlp-transformer'
import type {ExportWorkerData, ExportWorkerReply, ExportWorkerRequest} from './worker-exporter.js'

interface EncodedRequest {
  readonly bytes: Uint8Array
  readonly spans: number
}

const options = workerData as ExportWorkerData
const exporter = new OTLPExporterBase<EncodedRequest>(
  createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({url: options.url, timeoutMillis: options.timeoutMillis}, 'TRACES', 'v1/traces', {'Content-Type': 'application/x-protobuf'}),
    // Already serialised; the collector's answer is read by the official deserializer.
    {serializeRequest: (request: EncodedRequest) => request.bytes, deserializeResponse: ProtobufTraceSerializer.deserializeResponse},
    'otlp_http_span_exporter',
    {name: 'span', countItems: (request: EncodedRequest) => request.spans},
    undefined,
  ),
)

const reply = (message: ExportWorkerReply): void => parentPort?.postMessage(message)

parentPort?.on('message', (message: ExportWorkerRequest) => {
  if (message.type === 'export') {
    try {
      exporter.export({bytes: message.request, spans: message.spans}, (result) =>
        reply({type: 'result', id: message.id, ok: result.code === 0, ...(result.error ? {error: result.error.message} : {})}),
      )
    } catch (error) {
      reply({type: 'result', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error)})
    }
    return
  }
  void exporter.shutdown().finally(() => reply({type: 'shutdown'}))
})
