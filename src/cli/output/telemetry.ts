// The telemetry block of `clutchcall status`: one row per stream, its state
// (with why, when tracing is off) and where it goes (for traces: the OTLP
// protocol, the setting that named the collector and the one that chose the
// protocol).
import type {DaemonStatus, TelemetryStreamState, TracingStreamState} from '../../admin/protocol.js'
import {TRACING_OFF_TEXT} from '../../config/tracing.js'
import {table} from './format.js'

const isTracing = (stream: TelemetryStreamState): stream is TracingStreamState => 'reason' in stream || 'configuredBy' in stream

/** `off (no collector configured)`, `exporting`, `serving`, … */
export const telemetryState = (stream: TelemetryStreamState | TracingStreamState): string => {
  if (!isTracing(stream) || stream.reason == null) return stream.state
  return `${stream.state} (${TRACING_OFF_TEXT[stream.reason] ?? stream.reason})`
}

/** `http://otel:4317 over grpc (set by tracing.endpoint, protocol by OTEL_EXPORTER_OTLP_PROTOCOL)`, … */
export const telemetryTarget = (stream: TelemetryStreamState | TracingStreamState): string => {
  const target = stream.target ?? '-'
  if (!isTracing(stream) || stream.target === null) return target
  const protocol = stream.protocol == null ? '' : ` over ${stream.protocol}`
  const setBy = [...(stream.configuredBy == null ? [] : [`set by ${stream.configuredBy}`]), ...(stream.protocolSetBy == null ? [] : [`protocol by ${stream.protocolSetBy}`])]
  return `${target}${protocol}${setBy.length === 0 ? '' : ` (${setBy.join(', ')})`}`
}

export const telemetryTable = (telemetry: DaemonStatus['telemetry']): string =>
  table(['telemetry', 'state', 'target'], Object.entries(telemetry).map(([name, stream]: [string, TelemetryStreamState]) => [name, telemetryState(stream), telemetryTarget(stream)]))
