// The OTLP export thread: sends the ExportTraceServiceRequests the main thread
// encoded, so the network stays off the thread that sets calls up. The same
// bytes go either way:
// - http/protobuf: the OpenTelemetry OTLP/HTTP transport (the one
//   OTLPTraceExporter uses: its timeout, retries with backoff on
//   429/502/503/504, concurrency limit, and the OTEL_EXPORTER_OTLP_* headers
//   and TLS settings);
// - grpc: the OpenTelemetry OTLP/gRPC transport, with the retries of the OTLP
//   specification around it (grpc-export.ts). @grpc/grpc-js is loaded only then.
import {parentPort, workerData} from 'node:worker_threads'
import type {EncodedRequest, SendOutcome} from './grpc-export.js'
import type {ExportWorkerData, ExportWorkerReply, ExportWorkerRequest} from './worker-exporter.js'

interface Sender {
  send(request: EncodedRequest): Promise<SendOutcome>
  shutdown(): Promise<void>
}

const httpSender = async (options: ExportWorkerData): Promise<Sender> => {
  const [{OTLPExporterBase}, {convertLegacyHttpOptions, createOtlpHttpExportDelegate}, {ProtobufTraceSerializer}] = await Promise.all([
    import('@opentelemetry/otlp-exporter-base'),
    import('@opentelemetry/otlp-exporter-base/node-http'),
    import('@opentelemetry/otlp-transformer'),
  ])
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
  return {
    send: (request) =>
      new Promise((resolve) =>
        exporter.export(request, (result) =>
          resolve(result.code === 0 ? {ok: true, attempts: 1} : {ok: false, attempts: 1, retryable: false, error: result.error?.message ?? 'export failed'}),
        ),
      ),
    shutdown: () => exporter.shutdown(),
  }
}

const grpcSender = async (options: ExportWorkerData): Promise<Sender> => {
  const {GrpcTraceSender} = await import('./grpc-export.js')
  return new GrpcTraceSender({url: options.url, timeoutMillis: options.timeoutMillis, ...(options.initialBackoffMs === undefined ? {} : {initialBackoffMs: options.initialBackoffMs})})
}

const options = workerData as ExportWorkerData
const reply = (message: ExportWorkerReply): void => parentPort?.postMessage(message)
// Messages posted meanwhile wait in the port until the listener below is attached.
const sender = await (options.protocol === 'grpc' ? grpcSender(options) : httpSender(options))

parentPort?.on('message', (message: ExportWorkerRequest) => {
  if (message.type === 'export') {
    sender.send({bytes: message.request, spans: message.spans}).then(
      (outcome) => reply({type: 'result', id: message.id, ok: outcome.ok, ...(outcome.ok ? {} : {error: outcome.error})}),
      (error: unknown) => reply({type: 'result', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error)}),
    )
    return
  }
  void sender.shutdown().finally(() => reply({type: 'shutdown'}))
})
