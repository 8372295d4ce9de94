// OTLP over gRPC, on the export thread (export-worker.ts): the
// ExportTraceServiceRequest the main thread encoded (otlp-encoder.ts, the same
// bytes the HTTP path POSTs) goes to the collector's
// `opentelemetry.proto.collector.trace.v1.TraceService/Export` through the
// official OpenTelemetry gRPC transport (@opentelemetry/otlp-grpc-exporter-base,
// the one OTLPTraceExporter of exporter-trace-otlp-grpc uses: @grpc/grpc-js,
// a deadline per call, TLS for https:// and plaintext for http://, and the
// OTEL_EXPORTER_OTLP_* headers, certificates and compression).
//
// That transport does not retry. Here, as the OTLP specification says for
// gRPC: UNAVAILABLE, CANCELLED, DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE and
// DATA_LOSS are retried, RESOURCE_EXHAUSTED only when the collector says when
// (google.rpc.RetryInfo), with the HTTP transport's backoff (1 s growing 1.5×
// to 5 s, ±20 %, within the export timeout); every other status is final and
// the batch is dropped (the sink counts it and warns).
import {ExportResultCode, type ExportResult} from '@opentelemetry/core'
import {OTLPExporterBase} from '@opentelemetry/otlp-exporter-base'
import {convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate} from '@opentelemetry/otlp-grpc-exporter-base'
import {ProtobufTraceSerializer} from '@opentelemetry/otlp-transformer'

/** The OTLP trace service method (opentelemetry-proto, collector/trace/v1/trace_service.proto). */
export const TRACE_SERVICE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export'
/**
 * The largest request sent: what gRPC servers accept by default (grpc-go's and so the OpenTelemetry
 * Collector's 4 MiB). A batch of 512 spans is far below it; a larger one is dropped, not sent.
 * The collector's answer is held to the same by @grpc/grpc-js's default receive limit.
 */
export const MAX_GRPC_REQUEST_BYTES = 4 * 1024 * 1024

/** gRPC status codes by number (grpc/doc/statuscodes.md). */
export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const

/** Retryable whatever the details say (OTLP specification, "Failures" of OTLP/gRPC). */
const RETRYABLE_CODES: ReadonlySet<number> = new Set([1, 4, 10, 11, 14, 15])
const RESOURCE_EXHAUSTED = 8

const INITIAL_BACKOFF_MS = 1000
const MAX_BACKOFF_MS = 5000
const BACKOFF_MULTIPLIER = 1.5
const JITTER = 0.2
/** Retries after the first attempt, at most (as the HTTP transport). */
const MAX_RETRIES = 5

export interface GrpcFailure {
  /** The gRPC status code; undefined when the call never got one (a bad URL, credentials that cannot be built). */
  readonly code: number | undefined
  readonly retryable: boolean
  /** The wait the collector asked for (RetryInfo), if any. */
  readonly retryDelayMs: number | undefined
}

// ---- google.rpc.Status / RetryInfo in the `grpc-status-details-bin` trailer ----

/** Reads a protobuf message's fields: [field number, wire type, value (a number, or the bytes of a length-delimited field)]. */
const fields = function* (bytes: Uint8Array): Generator<readonly [number, number, number | Uint8Array]> {
  let pos = 0
  const varint = (): number => {
    let value = 0
    let scale = 1
    for (;;) {
      if (pos >= bytes.length) throw new RangeError('truncated varint')
      const byte = bytes[pos++] as number
      value += (byte & 0x7f) * scale
      if (byte < 0x80) return value
      scale *= 128
      if (scale > 2 ** 63) throw new RangeError('varint too long')
    }
  }
  while (pos < bytes.length) {
    const key = varint()
    const wireType = key & 7
    const field = Math.floor(key / 8)
    if (wireType === 0) yield [field, wireType, varint()]
    else if (wireType === 2) {
      const length = varint()
      if (pos + length > bytes.length) throw new RangeError('truncated field')
      yield [field, wireType, bytes.subarray(pos, pos + length)]
      pos += length
    } else if (wireType === 1) pos += 8
    else if (wireType === 5) pos += 4
    else throw new RangeError(`wire type ${wireType}`)
  }
}

/** The delay of a google.rpc.RetryInfo among a google.rpc.Status's details, in ms; undefined when there is none or it cannot be read. */
export const retryInfoDelayMs = (statusDetails: Uint8Array): number | undefined => {
  try {
    for (const [field, , any] of fields(statusDetails)) {
      if (field !== 3 || typeof any === 'number') continue
      let typeUrl = ''
      let value: Uint8Array | undefined
      for (const [anyField, , anyValue] of fields(any)) {
        if (anyField === 1 && typeof anyValue !== 'number') typeUrl = Buffer.from(anyValue).toString('utf8')
        if (anyField === 2 && typeof anyValue !== 'number') value = anyValue
      }
      if (!typeUrl.endsWith('/google.rpc.RetryInfo') || value === undefined) continue
      let seconds = 0
      let nanos = 0
      for (const [infoField, , duration] of fields(value)) {
        if (infoField !== 1 || typeof duration === 'number') continue
        for (const [durationField, , part] of fields(duration)) {
          if (durationField === 1 && typeof part === 'number') seconds = part
          if (durationField === 2 && typeof part === 'number') nanos = part
        }
      }
      return seconds * 1000 + Math.floor(nanos / 1e6)
    }
  } catch {
    return undefined
  }
  return undefined
}

interface ServiceErrorLike {
  readonly code?: unknown
  readonly metadata?: {get(key: string): ReadonlyArray<string | Buffer>}
}

/** What the OTLP specification makes of a failed Export. */
export const classifyGrpcFailure = (error: unknown): GrpcFailure => {
  const serviceError = (typeof error === 'object' && error !== null ? error : {}) as ServiceErrorLike
  const code = typeof serviceError.code === 'number' ? serviceError.code : undefined
  let retryDelayMs: number | undefined
  const details = serviceError.metadata?.get('grpc-status-details-bin')[0]
  if (details instanceof Uint8Array) retryDelayMs = retryInfoDelayMs(details)
  const retryable = code !== undefined && (RETRYABLE_CODES.has(code) || (code === RESOURCE_EXHAUSTED && retryDelayMs !== undefined))
  return {code, retryable, retryDelayMs}
}

/** `UNAVAILABLE (14)`, or `no gRPC status` for an error that never reached the wire. */
export const grpcStatusText = (code: number | undefined): string => (code === undefined ? 'no gRPC status' : `${GRPC_STATUS_NAMES[code] ?? 'UNKNOWN'} (${code})`)

// ---- the sender ----

export interface EncodedRequest {
  readonly bytes: Uint8Array
  readonly spans: number
}

export type SendOutcome = {readonly ok: true; readonly attempts: number} | {readonly ok: false; readonly attempts: number; readonly error: string; readonly retryable: boolean}

export interface GrpcSenderOptions {
  /** The endpoint as configured: `http://host:port` (plaintext) or `https://host:port` (TLS, system CAs or OTEL_EXPORTER_OTLP_CERTIFICATE). */
  readonly url: string
  /** The deadline of one call, and the time within which retries are started. */
  readonly timeoutMillis: number
  /** For tests: the first backoff (ms). */
  readonly initialBackoffMs?: number
}

export class GrpcTraceSender {
  private readonly exporter: OTLPExporterBase<EncodedRequest>
  private stopping = false
  private readonly sleeping = new Set<() => void>()
  private readonly initialBackoffMs: number

  constructor(private readonly options: GrpcSenderOptions) {
    this.initialBackoffMs = options.initialBackoffMs ?? INITIAL_BACKOFF_MS
    this.exporter = new OTLPExporterBase<EncodedRequest>(
      createOtlpGrpcExportDelegate(
        // The URL decides the credentials: http:// plaintext, https:// TLS (OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE, CLIENT_KEY,
        // CLIENT_CERTIFICATE honoured, else the default CAs); OTEL_EXPORTER_OTLP_[TRACES_]HEADERS become metadata.
        convertLegacyOtlpGrpcOptions({url: options.url, timeoutMillis: options.timeoutMillis}, 'TRACES'),
        // Already serialised; the collector's answer is read by the official deserializer (partial success is logged by it).
        {serializeRequest: (request: EncodedRequest) => request.bytes, deserializeResponse: ProtobufTraceSerializer.deserializeResponse},
        'otlp_grpc_span_exporter',
        {name: 'span', countItems: (request: EncodedRequest) => request.spans},
        undefined,
        'TraceExportService',
        TRACE_SERVICE_EXPORT_PATH,
      ),
    )
  }

  private once(request: EncodedRequest): Promise<ExportResult> {
    return new Promise((resolve) => {
      try {
        this.exporter.export(request, resolve)
      } catch (error) {
        resolve({code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error))})
      }
    })
  }

  /** Resolves true after `ms`, false at once when the sender is shut down meanwhile. */
  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.sleeping.delete(wake)
        resolve(false)
      }
      const timer = setTimeout(() => {
        this.sleeping.delete(wake)
        resolve(true)
      }, ms)
      this.sleeping.add(wake)
    })
  }

  /** Sends one request: retried while the collector's answer is retryable, within the export timeout. */
  async send(request: EncodedRequest): Promise<SendOutcome> {
    if (request.bytes.length > MAX_GRPC_REQUEST_BYTES) {
      return {ok: false, attempts: 0, retryable: false, error: `not sent: the request is ${request.bytes.length} bytes, over the ${MAX_GRPC_REQUEST_BYTES} a gRPC collector accepts by default; the ${request.spans} spans are dropped`}
    }
    const deadline = Date.now() + this.options.timeoutMillis
    let backoff = this.initialBackoffMs
    for (let attempt = 1; ; attempt++) {
      const result = await this.once(request)
      if (result.code === ExportResultCode.SUCCESS) return {ok: true, attempts: attempt}
      const failure = classifyGrpcFailure(result.error)
      const message = result.error?.message ?? 'export failed'
      const tries = attempt === 1 ? '1 attempt' : `${attempt} attempts`
      if (!failure.retryable) return {ok: false, attempts: attempt, retryable: false, error: `${message} [${grpcStatusText(failure.code)}: not retryable, ${request.spans} spans dropped after ${tries}]`}
      const delay = failure.retryDelayMs ?? Math.max(0, Math.min(backoff * (1 + (Math.random() * 2 - 1) * JITTER), MAX_BACKOFF_MS))
      backoff *= BACKOFF_MULTIPLIER
      const giveUp = this.stopping ? 'shutting down' : attempt > MAX_RETRIES ? 'no retries left' : delay > deadline - Date.now() ? 'the export timeout is spent' : undefined
      if (giveUp === undefined && (await this.sleep(delay))) continue
      return {ok: false, attempts: attempt, retryable: true, error: `${message} [${grpcStatusText(failure.code)}: retryable, given up after ${tries}: ${giveUp ?? 'shutting down'}]`}
    }
  }

  /** No more retries; waits for the calls in flight (each bounded by its deadline), then closes the channel. */
  async shutdown(): Promise<void> {
    this.stopping = true
    for (const wake of [...this.sleeping]) wake()
    await this.exporter.shutdown()
  }
}
