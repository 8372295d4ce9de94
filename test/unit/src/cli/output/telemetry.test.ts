// The telemetry rows of `clutchcall status`: tracing says why it is off, and
// which setting named its collector when on.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {DaemonStatus} from '../../../../../src/admin/protocol.js'
import {telemetryState, telemetryTable, telemetryTarget} from '../../../../../src/cli/output/telemetry.js'

const off = {enabled: false, target: null, state: 'off'}

describe('telemetry rows', () => {
  it('tracing off says why', () => {
    assert.equal(telemetryState({...off, reason: 'no-collector', configuredBy: null}), 'off (no collector configured)')
    assert.equal(telemetryState({...off, reason: 'disabled', configuredBy: null}), 'off (tracing.enabled: false)')
    assert.equal(telemetryState({...off, reason: 'sdk-disabled', configuredBy: null}), 'off (OTEL_SDK_DISABLED=true)')
  })

  it('tracing on shows its state and the setting that named the collector', () => {
    const on = {enabled: true, target: 'http://otel:4318', state: 'failing', reason: null, configuredBy: 'OTEL_EXPORTER_OTLP_ENDPOINT' as const}
    assert.equal(telemetryState(on), 'failing')
    assert.equal(telemetryTarget(on), 'http://otel:4318 (set by OTEL_EXPORTER_OTLP_ENDPOINT)', 'a daemon that predates the protocol')
    assert.equal(telemetryTarget({...on, protocol: 'http/protobuf', protocolSetBy: null}), 'http://otel:4318 over http/protobuf (set by OTEL_EXPORTER_OTLP_ENDPOINT)')
    assert.equal(
      telemetryTarget({...on, target: 'http://otel:4317', configuredBy: 'tracing.endpoint', protocol: 'grpc', protocolSetBy: 'OTEL_EXPORTER_OTLP_PROTOCOL'}),
      'http://otel:4317 over grpc (set by tracing.endpoint, protocol by OTEL_EXPORTER_OTLP_PROTOCOL)',
    )
  })

  it('other streams, and a daemon that predates the reason, show the bare state', () => {
    assert.equal(telemetryState({enabled: true, target: 'http://127.0.0.1:9091/metrics', state: 'serving'}), 'serving')
    assert.equal(telemetryState(off), 'off')
    assert.equal(telemetryTarget(off), '-')
  })

  it('renders one row per stream', () => {
    const telemetry: DaemonStatus['telemetry'] = {
      metrics: {enabled: true, target: 'http://127.0.0.1:9091/metrics', state: 'serving'},
      tracing: {...off, reason: 'no-collector', configuredBy: null},
      cdr: {enabled: true, target: 'embedded spool /x', state: 'ok'},
      hep: off,
    }
    const text = telemetryTable(telemetry)
    assert.match(text, /tracing\s+│\s+off \(no collector configured\)\s+│\s+-/)
    assert.match(text, /metrics\s+│\s+serving\s+│\s+http:\/\/127\.0\.0\.1:9091\/metrics/)
  })
})
