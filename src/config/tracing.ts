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
import {CCError} from '../errors.js'

/** The OTLP/HTTP collector used when tracing is switched on without an endpoint (DESIGN §7). */
export const DEFAULT_TRACING_ENDPOINT = 'http://localhost:4318'

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
  /** The OTLP/HTTP base endpoint (`/v1/traces` is appended), as config show prints it. */
  readonly endpoint: string
  /** Where spans are POSTed: the base endpoint + `/v1/traces`, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given. */
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

export const resolveTracing = (file: TracingFileSettings, env: NodeJS.ProcessEnv): TracingDecision => {
  const tracesEndpoint = endpointFromEnv(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
  const baseFromEnv = endpointFromEnv(env, 'OTEL_EXPORTER_OTLP_ENDPOINT')
  const sdkDisabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true'
  const envOverrides = [
    ...(baseFromEnv === undefined ? [] : ['OTEL_EXPORTER_OTLP_ENDPOINT']),
    ...(tracesEndpoint === undefined ? [] : ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']),
    ...(sdkDisabled ? ['OTEL_SDK_DISABLED'] : []),
  ]
  const endpoint = baseFromEnv ?? file.endpoint ?? DEFAULT_TRACING_ENDPOINT
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
    endpoint,
    url: tracesEndpoint ?? tracesUrl(endpoint),
    target: tracesEndpoint ?? endpoint,
    configuredBy: enabled ? configuredBy : null,
    offReason,
    envOverrides,
  }
}
