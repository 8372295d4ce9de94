// An OTLP/gRPC trace receiver for tests: a @grpc/grpc-js server on a free
// loopback port serving `opentelemetry.proto.collector.trace.v1.TraceService`
// as the official opentelemetry-proto definitions declare it
// (test/fixtures/opentelemetry-proto, loaded by @grpc/proto-loader: the method
// path, the request and response messages all come from the .proto files).
// Each request is decoded with those definitions; every span is kept,
// flattened as the OTLP/HTTP receiver keeps them (otlp-receiver.ts), and so
// are the request bytes as they arrived. The next requests can be answered
// with a gRPC error (UNAVAILABLE, INVALID_ARGUMENT, …, with metadata) or not at
// all; plaintext or TLS.
import {join} from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import {ROOT} from './cli.js'
import {flattenExportRequest, ReceivedSpans, type ExportRequest} from './otlp-receiver.js'

export const PROTO_ROOT = join(ROOT, 'test', 'fixtures', 'opentelemetry-proto')

const packageDefinition = protoLoader.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', {
  includeDirs: [PROTO_ROOT],
  // camelCase fields, 64-bit integers as decimal strings, enums as numbers, bytes as Buffers, unset fields absent: what flattenExportRequest reads.
  keepCase: false,
  longs: String,
  enums: Number,
  defaults: false,
})
interface LoadedService {
  service: grpc.ServiceDefinition
}
const traceService = (grpc.loadPackageDefinition(packageDefinition) as unknown as {opentelemetry: {proto: {collector: {trace: {v1: {TraceService: LoadedService}}}}}}).opentelemetry.proto.collector.trace.v1.TraceService
const exportMethod = traceService.service.Export as grpc.MethodDefinition<ExportRequest, object>
/** `/opentelemetry.proto.collector.trace.v1.TraceService/Export`, as the .proto files name it. */
export const EXPORT_PATH = exportMethod.path

interface Received {
  readonly bytes: Buffer
  readonly request: ExportRequest
}
/** The same method, with the request bytes kept beside the decoded message. */
const recordingService: grpc.ServiceDefinition = {
  Export: {...exportMethod, requestDeserialize: (bytes: Buffer): Received => ({bytes: Buffer.from(bytes), request: exportMethod.requestDeserialize(bytes)})},
}

/** How to answer a request: a gRPC status (with details and metadata, e.g. google.rpc.RetryInfo), or never. */
export type GrpcAnswer = {readonly code: grpc.status; readonly details?: string; readonly metadata?: grpc.Metadata} | 'never'

export class OtlpGrpcReceiver extends ReceivedSpans {
  /** Requests answered OK. */
  requests = 0
  /** Every request as it arrived, answered OK or not. */
  readonly attempts: Buffer[] = []
  /** The request bytes of the requests answered OK. */
  readonly bodies: Buffer[] = []
  /** The metadata of the last request. */
  lastMetadata: grpc.Metadata | undefined
  /** The status codes sent, one per failed request. */
  readonly refusals: grpc.status[] = []
  port = 0
  private server: grpc.Server | undefined
  private readonly answers: GrpcAnswer[] = []
  private tls = false

  get endpoint(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`
  }

  /** Answers the next `count` requests this way (then OK again). */
  answerNext(count: number, answer: GrpcAnswer): void {
    for (let index = 0; index < count; index++) this.answers.push(answer)
  }

  /** Plaintext, or TLS with this key and certificate (PEM). */
  async start(options: {readonly port?: number; readonly tls?: {readonly key: Buffer; readonly cert: Buffer}} = {}): Promise<void> {
    const server = new grpc.Server()
    server.addService(recordingService, {
      Export: (call: grpc.ServerUnaryCall<Received, object>, callback: grpc.sendUnaryData<object>) => {
        this.attempts.push(call.request.bytes)
        this.lastMetadata = call.metadata
        const answer = this.answers.shift()
        if (answer === 'never') return
        if (answer !== undefined) {
          this.refusals.push(answer.code)
          callback({code: answer.code, details: answer.details ?? grpc.status[answer.code], ...(answer.metadata ? {metadata: answer.metadata} : {})})
          return
        }
        this.requests++
        this.bodies.push(call.request.bytes)
        this.spans.push(...flattenExportRequest(call.request.request))
        // An empty ExportTraceServiceResponse: full success.
        callback(null, {})
      },
    })
    this.tls = options.tls !== undefined
    const credentials = options.tls ? grpc.ServerCredentials.createSsl(null, [{private_key: options.tls.key, cert_chain: options.tls.cert}], false) : grpc.ServerCredentials.createInsecure()
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${options.port ?? 0}`, credentials, (error, port) => (error ? reject(error) : resolve(port))))
    this.server = server
  }

  async stop(): Promise<void> {
    this.server?.forceShutdown()
    this.server = undefined
  }
}
