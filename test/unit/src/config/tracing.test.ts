// The tracing rule of src/config/tracing.ts (docs/telemetry-defaults.md): traces
// are exported only to a collector someone configured, in the file or the
// environment; switched off by tracing.enabled: false or OTEL_SDK_DISABLED.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {loadConfig, parseConfigText} from '../../../../src/config/load.js'
import {resolveTracing, tracesUrl, type TracingDecision} from '../../../../src/config/tracing.js'
import {CCError} from '../../../../src/errors.js'

const home = mkdtempSync(join(tmpdir(), 'cc-tracing-'))
after(() => rmSync(home, {recursive: true, force: true}))

type Row = readonly [what: string, file: {enabled?: boolean; endpoint?: string}, env: NodeJS.ProcessEnv, expected: Pick<TracingDecision, 'enabled' | 'url' | 'configuredBy' | 'offReason'>]

const ROWS: readonly Row[] = [
  ['nothing configured', {}, {}, {enabled: false, url: 'http://localhost:4318/v1/traces', configuredBy: null, offReason: 'no-collector'}],
  ['tracing.endpoint', {endpoint: 'http://otel:4318'}, {}, {enabled: true, url: 'http://otel:4318/v1/traces', configuredBy: 'tracing.endpoint', offReason: null}],
  ['tracing.enabled: true alone means the default collector', {enabled: true}, {}, {enabled: true, url: 'http://localhost:4318/v1/traces', configuredBy: 'tracing.enabled', offReason: null}],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', {}, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318/'}, {enabled: true, url: 'http://env:4318/v1/traces', configuredBy: 'OTEL_EXPORTER_OTLP_ENDPOINT', offReason: null}],
  ['OTEL_EXPORTER_OTLP_ENDPOINT wins over tracing.endpoint', {endpoint: 'http://file:4318'}, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318'}, {enabled: true, url: 'http://env:4318/v1/traces', configuredBy: 'OTEL_EXPORTER_OTLP_ENDPOINT', offReason: null}],
  ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the URL itself and wins', {endpoint: 'http://file:4318'}, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp'}, {enabled: true, url: 'https://traces.example/otlp', configuredBy: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', offReason: null}],
  ['tracing.enabled: false beats an endpoint in the file', {enabled: false, endpoint: 'http://file:4318'}, {}, {enabled: false, url: 'http://file:4318/v1/traces', configuredBy: null, offReason: 'disabled'}],
  ['tracing.enabled: false beats the environment', {enabled: false}, {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318'}, {enabled: false, url: 'http://env:4318/v1/traces', configuredBy: null, offReason: 'disabled'}],
  ['OTEL_SDK_DISABLED=true beats everything', {enabled: true, endpoint: 'http://file:4318'}, {OTEL_SDK_DISABLED: 'TRUE'}, {enabled: false, url: 'http://file:4318/v1/traces', configuredBy: null, offReason: 'sdk-disabled'}],
  ['OTEL_SDK_DISABLED other than true changes nothing', {endpoint: 'http://file:4318'}, {OTEL_SDK_DISABLED: 'false'}, {enabled: true, url: 'http://file:4318/v1/traces', configuredBy: 'tracing.endpoint', offReason: null}],
  ['an empty variable is unset', {}, {OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: ''}, {enabled: false, url: 'http://localhost:4318/v1/traces', configuredBy: null, offReason: 'no-collector'}],
]

describe('the tracing rule', () => {
  for (const [what, file, env, expected] of ROWS) {
    it(what, () => {
      const decision = resolveTracing(file, env)
      assert.deepEqual({enabled: decision.enabled, url: decision.url, configuredBy: decision.configuredBy, offReason: decision.offReason}, expected)
    })
  }

  it('the traces URL is the endpoint with /v1/traces', () => {
    assert.equal(tracesUrl('http://collector:4318//'), 'http://collector:4318/v1/traces')
  })

  it('refuses an endpoint variable that is not an http(s) URL, naming it', () => {
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) {
      for (const bad of ['collector:4318', 'grpc://collector:4317', 'not a url']) {
        assert.throws(
          () => resolveTracing({}, {[name]: bad}),
          (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_ENV_INVALID' && error.message.includes(name) && error.message.includes(bad),
          `${name}=${bad}`,
        )
      }
    }
  })

  it('the file decides alone without an environment: tracing.endpoint switches export on', () => {
    assert.deepEqual(parseConfigText('tracing:\n  endpoint: http://otel:4318\n', 't.yaml').tracing, {enabled: true, endpoint: 'http://otel:4318', protocol: 'http/protobuf'})
    assert.deepEqual(parseConfigText('tracing: {}\n', 't.yaml').tracing, {enabled: false, endpoint: 'http://localhost:4318', protocol: 'http/protobuf'})
    assert.deepEqual(parseConfigText('tracing:\n  enabled: true\n  protocol: grpc\n', 't.yaml').tracing, {enabled: true, endpoint: 'http://localhost:4317', protocol: 'grpc'})
  })

  it('a bad tracing.endpoint in the file is a config error with its line', () => {
    assert.throws(
      () => parseConfigText('metrics:\n  enabled: true\ntracing:\n  endpoint: collector:4318\n', 't.yaml'),
      (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_CONFIG_INVALID' && /line 4: tracing\.endpoint: must be an http:\/\/ or https:\/\/ URL/.test(error.message),
    )
  })

  it('loadConfig carries the decision and names the environment variables that made it', () => {
    const file = join(home, 'c.yaml')
    writeFileSync(file, 'tracing:\n  endpoint: http://file:4318\n')
    const loaded = loadConfig({file, env: {CLUTCHCALL_HOME: home, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4318/v1/traces', OTEL_SDK_DISABLED: 'true'}})
    assert.equal(loaded.tracing.enabled, false)
    assert.equal(loaded.tracing.offReason, 'sdk-disabled')
    assert.equal(loaded.config.tracing.enabled, false)
    assert.deepEqual(loaded.envOverrides, ['CLUTCHCALL_HOME', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_SDK_DISABLED'])
    const fresh = loadConfig({env: {CLUTCHCALL_HOME: home}})
    assert.equal(fresh.file, undefined)
    assert.deepEqual([fresh.tracing.enabled, fresh.tracing.offReason, fresh.envOverrides], [false, 'no-collector', ['CLUTCHCALL_HOME']])
  })

  it('loadConfig names the protocol variables in effect', () => {
    const loaded = loadConfig({env: {CLUTCHCALL_HOME: home, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf'}})
    assert.deepEqual(loaded.envOverrides, ['CLUTCHCALL_HOME', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL'])
    assert.equal(loaded.config.tracing.protocol, 'http/protobuf')
  })
})

type ProtocolRow = readonly [what: string, file: {enabled?: boolean; endpoint?: string; protocol?: 'http/protobuf' | 'grpc'}, env: NodeJS.ProcessEnv, expected: Pick<TracingDecision, 'protocol' | 'protocolSetBy' | 'url' | 'target' | 'configuredBy'>]

const PROTOCOL_ROWS: readonly ProtocolRow[] = [
  ['http/protobuf is the default', {endpoint: 'http://otel:4318'}, {}, {protocol: 'http/protobuf', protocolSetBy: null, url: 'http://otel:4318/v1/traces', target: 'http://otel:4318', configuredBy: 'tracing.endpoint'}],
  ['tracing.protocol: grpc sends to the endpoint itself', {endpoint: 'http://otel:4317', protocol: 'grpc'}, {}, {protocol: 'grpc', protocolSetBy: 'tracing.protocol', url: 'http://otel:4317', target: 'http://otel:4317', configuredBy: 'tracing.endpoint'}],
  ['grpc without an endpoint: localhost:4317', {enabled: true, protocol: 'grpc'}, {}, {protocol: 'grpc', protocolSetBy: 'tracing.protocol', url: 'http://localhost:4317', target: 'http://localhost:4317', configuredBy: 'tracing.enabled'}],
  ['OTEL_EXPORTER_OTLP_PROTOCOL=grpc wins over the file', {endpoint: 'http://otel:4317', protocol: 'http/protobuf'}, {OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc'}, {protocol: 'grpc', protocolSetBy: 'OTEL_EXPORTER_OTLP_PROTOCOL', url: 'http://otel:4317', target: 'http://otel:4317', configuredBy: 'tracing.endpoint'}],
  ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL wins over OTEL_EXPORTER_OTLP_PROTOCOL', {enabled: true}, {OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc'}, {protocol: 'grpc', protocolSetBy: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', url: 'http://localhost:4317', target: 'http://localhost:4317', configuredBy: 'tracing.enabled'}],
  ['the traces-specific variable back to http/protobuf', {protocol: 'grpc', endpoint: 'http://otel:4318'}, {OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' HTTP/PROTOBUF '}, {protocol: 'http/protobuf', protocolSetBy: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', url: 'http://otel:4318/v1/traces', target: 'http://otel:4318', configuredBy: 'tracing.endpoint'}],
  ['grpc with OTEL_EXPORTER_OTLP_ENDPOINT: used as given, no /v1/traces', {}, {OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'https://otel.example:4317/'}, {protocol: 'grpc', protocolSetBy: 'OTEL_EXPORTER_OTLP_PROTOCOL', url: 'https://otel.example:4317/', target: 'https://otel.example:4317/', configuredBy: 'OTEL_EXPORTER_OTLP_ENDPOINT'}],
  ['grpc with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', {}, {OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:4317'}, {protocol: 'grpc', protocolSetBy: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', url: 'http://traces:4317', target: 'http://traces:4317', configuredBy: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'}],
  ['an empty protocol variable is unset', {endpoint: 'http://otel:4318'}, {OTEL_EXPORTER_OTLP_PROTOCOL: '', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: ' '}, {protocol: 'http/protobuf', protocolSetBy: null, url: 'http://otel:4318/v1/traces', target: 'http://otel:4318', configuredBy: 'tracing.endpoint'}],
]

describe('the tracing protocol', () => {
  for (const [what, file, env, expected] of PROTOCOL_ROWS) {
    it(what, () => {
      const decision = resolveTracing(file, env)
      assert.deepEqual({protocol: decision.protocol, protocolSetBy: decision.protocolSetBy, url: decision.url, target: decision.target, configuredBy: decision.configuredBy}, expected)
    })
  }

  it('refuses http/json and unknown protocols in the environment, naming the variable', () => {
    for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
      assert.throws(
        () => resolveTracing({}, {[name]: 'http/json'}),
        (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_ENV_INVALID' && error.message.includes(name) && /http\/json is not supported.*protobuf only/.test(error.message),
      )
      assert.throws(
        () => resolveTracing({}, {[name]: 'thrift'}),
        (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_ENV_INVALID' && error.message.includes(name) && error.message.includes('"thrift" is not an OTLP protocol'),
      )
    }
  })

  it('refuses a gRPC endpoint with a path, naming the setting', () => {
    const refused = (file: {endpoint?: string; protocol?: 'grpc'}, env: NodeJS.ProcessEnv, name: string) =>
      assert.throws(
        () => resolveTracing(file, env),
        (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_ENV_INVALID' && error.message.includes(name) && error.message.includes('has a path'),
        name,
      )
    refused({}, {OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318/otlp'}, 'OTEL_EXPORTER_OTLP_ENDPOINT')
    refused({protocol: 'grpc'}, {OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://otel:4318/v1/traces'}, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT')
    refused({endpoint: 'http://otel:4318/otlp'}, {OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc'}, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL')
    // Over HTTP a path is the collector's prefix, as before.
    assert.equal(resolveTracing({endpoint: 'http://otel:4318/otlp'}, {}).url, 'http://otel:4318/otlp/v1/traces')
  })

  it('in the file: http/json and a gRPC endpoint with a path are config errors with their lines', () => {
    assert.throws(
      () => parseConfigText('tracing:\n  enabled: true\n  protocol: http/json\n', 't.yaml'),
      (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_CONFIG_INVALID' && /line 3: tracing\.protocol: http\/json is not supported/.test(error.message),
    )
    assert.throws(
      () => parseConfigText('tracing:\n  protocol: grpc2\n', 't.yaml'),
      (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_CONFIG_INVALID' && /line 2: tracing\.protocol: must be http\/protobuf or grpc/.test(error.message),
    )
    assert.throws(
      () => parseConfigText('tracing:\n  endpoint: http://otel:4317/v1/traces\n  protocol: grpc\n', 't.yaml'),
      (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_CONFIG_INVALID' && /line 2: tracing\.endpoint: with protocol grpc, "http:\/\/otel:4317\/v1\/traces" has a path/.test(error.message),
    )
  })
})
