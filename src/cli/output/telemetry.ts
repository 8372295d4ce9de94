// The telemetry block of `clutchcall status`: one row per stream, its state
// (with why, when tracing is off) and where it goes (with the setting that
// named the trace collector).
import type {DaemonStatus, TelemetryStreamState, TracingStreamState} from '../../admin/protocol.js'
import {TRACING_OFF_TEXT} from '../../config/tracing.js'
import {table} from './format.js'

const isTracing = (stream: TelemetryStreamState): stream is TracingStreamState => 'reason' in stream || 'configuredBy' in stream

/** `off (no collector configured)`, `exporting`, `serving`, … */
export const telemetryState = (stream: TelemetryStreamState | TracingStreamState): string => {
  if (!isTracing(stream) || stream.reason == null) return stream.state
  return `${stream.state} (${TRACING_OFF_TEXT[stream.reason] ?? stream.reason})`
}

export const telemetryTarget = (stream: TelemetryStreamState | TracingStreamState): string => {
  const target = stream.target ?? '-'
  return isTracing(stream) && stream.configuredBy != null && stream.target !== null ? `${target} (set by ${stream.configuredBy})` : target
}

export const telemetryTable = (telemetry: DaemonStatus['telemetry']): string =>
  table(['telemetry', 'state', 'target'], Object.entries(telemetry).map(([name, stream]: [string, TelemetryStreamState]) => [name, telemetryState(stream), telemetryTarget(stream)]))
