// When the gateway exports traces: only to a collector someone configured.
// A fresh install has no collector, and exporting to the default
// localhost:4318 anyway made `status` say `failing` and `smoke` fail on a
// gateway that works. The rule (docs/telemetry-defaults.md has it as a table):
//
//   1. OTEL_SDK_DISABLED=true                  → off (sdk-disabled)
//   2. tracing.enabled: false in the file      → off (disabled)
//   3. a collector is configured               → on, to it
//        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the traces URL itself),
//        else OTEL_EXPORTER_OTLP_ENDPOINT, else tracing.endpoint,
//        else tracing.enabled: true (written out: the default endpoint)
//   4. none of these                           → off (no-collector)
//
// The protocol, separately (docs/traces.md): OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
// else OTEL_EXPORTER_OTLP_PROTOCOL, else tracing.protocol, else http/protobuf.
// `grpc` changes the default endpoint to localhost:4317 and sends to the
// endpoint as given (no `/v1/traces`); `http/json` is refused: the spans are
// encoded as protobuf only (otlp-encoder.ts).
import {CCError} from '../errors.js'

/** The OTLP/HTTP collector used when tracing is switched on without an endpoint (DESIGN §7). */
export const DEFAULT_TRACING_ENDPOINT = 'http://localhost:4318'
/** The OTLP/gRPC collector used when tracing is switched on over gRPC without an endpoint. */
export const DEFAULT_GRPC_TRACING_ENDPOINT = 'http://localhost:4317'

/** The OTLP protocols the gateway exports with; the first is the default. */
export const TRACING_PROTOCOLS = ['http/protobuf', 'grpc'] as const
export type TracingProtocol = (typeof TRACING_PROTOCOLS)[number]
export const DEFAULT_TRACING_PROTOCOL: TracingProtocol = 'http/protobuf'
/** The settings that choose the protocol, the first set one winning (none: the default). */
export const TRACING_PROTOCOL_SOURCES = ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'tracing.protocol'] as const
export type TracingProtocolSource = (typeof TRACING_PROTOCOL_SOURCES)[number]
/** Why `http/json` is refused, in the config error and the environment error alike. */
export const HTTP_JSON_REFUSED = 'http/json is not supported: the gateway encodes spans as OTLP protobuf only; use http/protobuf (the default) or grpc'

/** The default collector of a protocol. */
export const defaultTracingEndpoint = (protocol: TracingProtocol): string => (protocol === 'grpc' ? DEFAULT_GRPC_TRACING_ENDPOINT : DEFAULT_TRACING_ENDPOINT)

/** Why a gRPC endpoint is refused, or undefined when it is scheme://host[:port] (a path means nothing to gRPC). */
export const grpcEndpointProblem = (endpoint: string): string | undefined => {
  const url = new URL(endpoint)
  if ((url.pathname === '' || url.pathname === '/') && url.search === '' && url.hash === '') return undefined
  return `"${endpoint}" has a path: an OTLP/gRPC endpoint is scheme://host:port (OTLP fixes the service path), e.g. http://otel-collector:4317`
}

/** Why tracing is off, for scripts (`status --json`: telemetry.tracing.reason). */
export type TracingOffReason = 'no-collector' | 'disabled' | 'sdk-disabled'

/** The settings that name a collector, the first set one winning. */
export const TRACING_COLLECTOR_SOURCES = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'tracing.endpoint', 'tracing.enabled'] as const
/** The setting that named the collector tracing exports to. */
export type TracingCollectorSource = (typeof TRACING_COLLECTOR_SOURCES)[number]

/** How each off reason reads in `status` and `smoke`. */
export const TRACING_OFF_TEXT: Readonly<Record<TracingOffReason, string>> = {
  'no-collector': 'no collector configured',
  disabled: 'tracing.enabled: false',
  'sdk-disabled': 'OTEL_SDK_DISABLED=true',
}

export interface TracingDecision {
  readonly enabled: boolean
  /** `http/protobuf` (POST to `url`) or `grpc` (TraceService/Export at `url`). */
  readonly protocol: TracingProtocol
  /** Which setting chose the protocol; null when it is the default. */
  readonly protocolSetBy: TracingProtocolSource | null
  /** The base endpoint (over HTTP `/v1/traces` is appended), as config show prints it. */
  readonly endpoint: string
  /** Where spans go: over HTTP the base endpoint + `/v1/traces`, over gRPC the endpoint itself; or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given. */
  readonly url: string
  /** What `status` shows as the target: the traces endpoint variable when set, else the base endpoint. */
  readonly target: string
  /** Which setting configured the collector; null when tracing is off. */
  readonly configuredBy: TracingCollectorSource | null
  /** Why tracing is off; null when it is on. */
  readonly offReason: TracingOffReason | null
  /** Environment variables that changed the outcome, for `config show`. */
  readonly envOverrides: readonly string[]
}

/** The tracing keys as the config file wrote them (absent keys undefined). */
export interface TracingFileSettings {
  readonly enabled?: boolean | undefined
  readonly endpoint?: string | undefined
  readonly protocol?: TracingProtocol | undefined
}

/** The OTLP/HTTP traces URL of a base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` convention: `/v1/traces` appended). */
export const tracesUrl = (endpoint: string): string => `${endpoint.replace(/\/+$/, '')}/v1/traces`

/** An OTLP endpoint variable: unset or empty is undefined; anything but an http(s) URL is refused. */
const endpointFromEnv = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const value = env[name]
  if (value === undefined || value.length === 0) return undefined
  let protocol: string | undefined
  try {
    protocol = new URL(value).protocol
  } catch {
    protocol = undefined
  }
  if (protocol !== 'http:' && protocol !== 'https:') throw new CCError('CC_ERR_ENV_INVALID', {name, detail: `"${value}" is not an http:// or https:// URL`})
  return value
}

/** An OTLP protocol variable: unset or empty is undefined; `http/json` and anything unknown are refused. */
const protocolFromEnv = (env: NodeJS.ProcessEnv, name: TracingProtocolSource): TracingProtocol | undefined => {
  const value = env[name]?.trim()
  if (value === undefined || value.length === 0) return undefined
  const protocol = TRACING_PROTOCOLS.find((known) => known === value.toLowerCase())
  if (protocol !== undefined) return protocol
  const detail = value.toLowerCase() === 'http/json' ? HTTP_JSON_REFUSED : `"${value}" is not an OTLP protocol: use ${TRACING_PROTOCOLS.join(' or ')}`
  throw new CCError('CC_ERR_ENV_INVALID', {name, detail})
}

export const resolveTracing = (file: TracingFileSettings, env: NodeJS.ProcessEnv): TracingDecision => {
  const tracesEndpoint = endpointFromEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const baseFromEnv = endpointFromEnv(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')
  const tracesProtocol = protocolFromEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
  const baseProtocol = protocolFromEnv(env, 'OTEL_EXPORTER_OTLP_PROTOCOL')
  const sdkDisabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true'
  const envOverrides = [
    ...(baseFromEnv === undefined ? [] : ['OTEL_EXPORTER_OTLP_ENDPOINT']),
    ...(tracesEndpoint === undefined ? [] : ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']),
    ...(baseProtocol === undefined ? [] : ['OTEL_EXPORTER_OTLP_PROTOCOL']),
    ...(tracesProtocol === undefined ? [] : ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']),
    ...(sdkDisabled ? ['OTEL_SDK_DISABLED'] : []),
  ]
  const protocolSetBy: TracingProtocolSource | null =
    tracesProtocol !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'
    : baseProtocol !== undefined ? 'OTEL_EXPORTER_OTLP_PROTOCOL'
    : file.protocol !== undefined ? 'tracing.protocol'
    : null
  const protocol = tracesProtocol ?? baseProtocol ?? file.protocol ?? DEFAULT_TRACING_PROTOCOL
  const endpoint = baseFromEnv ?? file.endpoint ?? defaultTracingEndpoint(protocol)
  if (protocol === 'grpc') {
    // A path in a gRPC endpoint is refused, naming the variable that set it (or, for the file's endpoint, the one that chose gRPC:
    // the file's own tracing.protocol with a path is a config error with its line, schema.ts).
    const fromEnv = tracesEndpoint !== undefined ? (['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint] as const) : baseFromEnv !== undefined ? (['OTEL_EXPORTER_OTLP_ENDPOINT', baseFromEnv] as const) : undefined
    const problem = grpcEndpointProblem(fromEnv?.[1] ?? endpoint)
    if (problem !== undefined) {
      const name = fromEnv?.[0] ?? protocolSetBy ?? 'OTEL_EXPORTER_OTLP_PROTOCOL'
      throw new CCError('CC_ERR_ENV_INVALID', {name, detail: fromEnv ? `with OTLP over gRPC, ${problem}` : `it asks for OTLP over gRPC, but tracing.endpoint ${problem}`})
    }
  }
  const configuredBy: TracingCollectorSource | null =
    tracesEndpoint !== undefined ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'
    : baseFromEnv !== undefined ? 'OTEL_EXPORTER_OTLP_ENDPOINT'
    : file.endpoint !== undefined ? 'tracing.endpoint'
    : file.enabled === true ? 'tracing.enabled'
    : null
  const offReason: TracingOffReason | null = sdkDisabled ? 'sdk-disabled' : file.enabled === false ? 'disabled' : configuredBy === null ? 'no-collector' : null
  const enabled = offReason === null
  return {
    enabled,
    protocol,
    protocolSetBy,
    endpoint,
    url: tracesEndpoint ?? (protocol === 'grpc' ? endpoint : tracesUrl(endpoint)),
    target: tracesEndpoint ?? endpoint,
    configuredBy: enabled ? configuredBy : null,
    offReason,
    envOverrides,
  }
}
