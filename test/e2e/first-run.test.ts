// The first run of a fresh install (docs/telemetry-defaults.md): no config
// file, no OTEL_* variables, no collector anywhere. `start` binds the embedded
// defaults (SIP 127.0.0.1:5060 UDP and TCP, metrics 127.0.0.1:9091) and prints
// exactly those addresses, tracing is off because no collector is configured,
// one call goes through, and `smoke` passes with the trace check skipped.
// A collector that IS configured and down still fails the smoke's trace check,
// and the stop after it does not wait for that collector.
//
// The first case uses the default ports on purpose (that is the embedded
// default under test); it fails, saying which, when one of them is taken.
import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import {readFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {describe, it} from 'node:test'
import {freePort, testConfig, TestHome} from '../helpers/cli.js'
import {waitFor} from '../helpers/gateway.js'
import {runSipp, uacShortCall} from '../helpers/peers.js'

interface Check {
  name: string
  outcome: 'ok' | 'fail' | 'skip'
  detail: string
}

const DEFAULT_SIP_PORT = 5060
const DEFAULT_METRICS_PORT = 9091

const tcpPortFree = (port: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const server = createServer()
    server.once('error', (error: NodeJS.ErrnoException) => resolve(`TCP 127.0.0.1:${port} (${error.code})`))
    server.listen({host: '127.0.0.1', port, exclusive: true}, () => server.close(() => resolve(undefined)))
  })

const udpPortFree = (port: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close()
      resolve(`UDP 127.0.0.1:${port} (${error.code})`)
    })
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(undefined)))
  })

/** The local addresses of TCP sockets listening on `port`, from the kernel's own table (what was really bound). */
const listeningAddresses = (port: number): string[] => {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  const addresses: string[] = []
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = ''
    try {
      text = readFileSync(file, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (state !== '0A' || !local?.endsWith(`:${hexPort}`)) continue
      const hex = local.slice(0, -5)
      // IPv4 in /proc/net/tcp is one little-endian 32-bit word.
      addresses.push(hex.length === 8 ? [3, 2, 1, 0].map((byte) => parseInt(hex.slice(byte * 2, byte * 2 + 2), 16)).join('.') : `ipv6:${hex}`)
    }
  }
  return addresses
}

const byName = (checks: readonly Check[]): Record<string, Check> => Object.fromEntries(checks.map((check) => [check.name, check]))

describe('first run: no config, no collector, the default ports', () => {
  it('start binds and prints the defaults, one call goes through, smoke passes with the trace check skipped, stop is clean', async (t) => {
    const busy = (await Promise.all([udpPortFree(DEFAULT_SIP_PORT), tcpPortFree(DEFAULT_SIP_PORT), tcpPortFree(DEFAULT_METRICS_PORT)])).filter((port) => port !== undefined)
    assert.deepEqual(busy, [], `this test runs the embedded defaults and needs their ports free; in use: ${busy.join(', ')}`)
    const home = new TestHome()
    t.after(() => home.cleanup())

    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))
    assert.equal(started.body.result.configFile, null)
    const listeners = started.body.result.listeners as Array<{name: string; transport: string; address: string; port?: number; url?: string}>
    const where = listeners.filter((listener) => listener.name !== 'admin' && listener.name !== 'rtp').map(({name, transport, address, port, url}) => ({name, transport, address, port, url}))
    assert.deepEqual(where, [
      {name: 'sip', transport: 'udp', address: '127.0.0.1', port: DEFAULT_SIP_PORT, url: undefined},
      {name: 'sip', transport: 'tcp', address: '127.0.0.1', port: DEFAULT_SIP_PORT, url: undefined},
      {name: 'metrics', transport: 'http', address: '127.0.0.1', port: DEFAULT_METRICS_PORT, url: `http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics`},
    ])
    // What the kernel says is bound is what start printed: loopback only, no wildcard.
    assert.deepEqual(listeningAddresses(DEFAULT_METRICS_PORT), ['127.0.0.1'])
    assert.deepEqual(listeningAddresses(DEFAULT_SIP_PORT), ['127.0.0.1'])

    const status = await home.json(['status'])
    assert.equal(status.code, 0)
    assert.deepEqual(status.body.result.telemetry.tracing, {enabled: false, target: null, state: 'off', reason: 'no-collector', configuredBy: null, protocol: null, protocolSetBy: null})
    assert.deepEqual(status.body.result.telemetry.metrics, {enabled: true, target: `http://127.0.0.1:${DEFAULT_METRICS_PORT}/metrics`, state: 'serving'})
    const human = await home.run(['status'])
    assert.match(human.stdout, /tracing\s+│\s+off \(no collector configured\)\s+│\s+-/)
    assert.match(human.stdout, new RegExp(`metrics\\s+│\\s+http\\s+│\\s+http://127\\.0\\.0\\.1:${DEFAULT_METRICS_PORT}/metrics\\s`))

    // One call, as the front page suggests: SIPp against the default listener.
    const sipp = await runSipp({scenarioXml: uacShortCall(500), target: `127.0.0.1:${DEFAULT_SIP_PORT}`, service: 'first-run'})
    const call = await sipp.done
    assert.equal(call.code, 0, call.output)

    const smoke = await home.json(['smoke', '--duration', '1'])
    assert.equal(smoke.code, 0, JSON.stringify(smoke.body, null, 2))
    const checks = byName(smoke.body.result.checks)
    assert.deepEqual(smoke.body.result.checks.map((check: Check) => [check.name, check.outcome]), [['daemon', 'ok'], ['call', 'ok'], ['metrics', 'ok'], ['cdr', 'ok'], ['hep', 'skip'], ['trace', 'skip'], ['quic', 'skip']])
    assert.equal(checks.trace?.detail, 'tracing off (no collector configured; set tracing.endpoint, OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT to export traces and check them)')
    assert.match(checks.call?.detail ?? '', new RegExp(`^sip:smoke@127\\.0\\.0\\.1:${DEFAULT_SIP_PORT}: 200 OK`))

    const stopped = await home.json(['stop'])
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    const log = readFileSync(home.path('daemon.log'), 'utf8')
    assert.match(log, /"msg":"tracing off \(no collector configured\)"/)
    // No sink, no export thread, nothing to warn about.
    assert.doesNotMatch(log, /"msg":"tracing on"|traces cannot be exported/)
  })
})

describe('a configured collector that is down', () => {
  it('fails the smoke on the trace check, shows failing in status, and the stop does not wait for it', async (t) => {
    const home = new TestHome()
    t.after(() => home.cleanup())
    // A loopback port nothing listens on: every export is refused.
    const endpoint = `http://127.0.0.1:${await freePort()}`
    home.writeConfig(testConfig(await freePort(), `tracing:\n  endpoint: ${endpoint}\n`))
    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))

    const smoke = await home.json(['smoke', '--duration', '1'])
    assert.equal(smoke.code, 1, JSON.stringify(smoke.body, null, 2))
    assert.equal(smoke.body.error?.code, 'CC_ERR_SMOKE_FAILED')
    const report = smoke.body.error?.data
    assert.deepEqual(report.checks.map((check: Check) => [check.name, check.outcome]), [['daemon', 'ok'], ['call', 'ok'], ['metrics', 'ok'], ['cdr', 'ok'], ['hep', 'skip'], ['trace', 'fail'], ['quic', 'skip']])
    assert.match(byName(report.checks).trace?.detail ?? '', new RegExp(`^the collector at ${endpoint.replace(/[.]/g, '\\.')} did not acknowledge trace ${report.traceId}`))

    const status = await waitFor('tracing failing', async () => {
      const body = (await home.json(['status'])).body
      return body.result?.telemetry?.tracing?.state === 'failing' ? body : undefined
    })
    assert.deepEqual(status.result.telemetry.tracing, {enabled: true, target: endpoint, state: 'failing', reason: null, configuredBy: 'tracing.endpoint', protocol: 'http/protobuf', protocolSetBy: null})

    const stopped = await home.json(['stop'])
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    const log = readFileSync(home.path('daemon.log'), 'utf8')
    assert.match(log, /"msg":"tracing stops without waiting for the collector: its last export failed"/)
  })
})
