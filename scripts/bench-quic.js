#!/usr/bin/env node
// Benchmark: the SDK over QUIC against a daemon in a temporary home (quic on,
// a JWT issuer made here), with the test suite's QUIC client (dist/test/
// helpers/quic-client.js, on the same library). Measures, on loopback:
//   - QUIC handshake time as the client sees it (Initial, Retry, Initial with
//     token, established), HANDSHAKES sequential handshakes, p50/p99; and the
//     daemon's own histogram (clutchcall_quic_handshake_seconds{result="ok"}) over them;
//   - the round trip of call.create (request frame on a new stream to its
//     response), CALLS sequential calls to the gateway's own SIP listener
//     (its default dialplan answers and echoes), each hung up before the next.
// Needs `npm run build` first. Concurrent calls with audio are not measured here.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {exportJWK, generateKeyPair, SignJWT} from 'jose'
import {daemonIn} from './lib/daemon.js'
import {CORES, percentile, waitForQuietMachine} from './lib/measure.js'

const HANDSHAKES = Number(process.env.HANDSHAKES ?? 200)
const CALLS = Number(process.env.CALLS ?? 100)
const QUIET_WAIT_S = Number(process.env.QUIET_WAIT_S ?? 60)

const {QuicSdkClient} = await import('../dist/test/helpers/quic-client.js')

const {privateKey, publicKey} = await generateKeyPair('ES256', {extractable: true})
const jwk = {...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig'}
const token = () =>
  new SignJWT({tenant: 'default'}).setProtectedHeader({alg: 'ES256', kid: 'bench'}).setIssuedAt().setIssuer('https://bench/').setAudience('clutchcall').setExpirationTime('10m').sign(privateKey)

const home = mkdtempSync(join(tmpdir(), 'cc-bench-quic-'))
writeFileSync(
  join(home, 'clutchcall.yaml'),
  `metrics:\n  listen: 127.0.0.1:0\nsip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\ntracing:\n  enabled: false\ncdr:\n  enabled: false\nquic:\n  enabled: true\n  listen: 127.0.0.1:0\n  limits: { max_connections_per_source: 100 }\nauth:\n  jwt: ${JSON.stringify({keys: [jwk], issuer: 'https://bench/', audience: 'clutchcall', algorithms: ['ES256']})}\n`,
)
const daemon = daemonIn(home)
const summary = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return `p50 ${percentile(sorted, 0.5).toFixed(2)} ms, p99 ${percentile(sorted, 0.99).toFixed(2)} ms, min ${sorted[0].toFixed(2)}, max ${sorted.at(-1).toFixed(2)} (n=${sorted.length})`
}
const histogram = async (url) => {
  const text = await (await fetch(url)).text()
  const value = (name) => Number(new RegExp(`^clutchcall_quic_handshake_seconds_${name}\\{result="ok"\\} ([\\d.e+-]+)`, 'm').exec(text)?.[1] ?? 0)
  return {count: value('count'), sum: value('sum')}
}

try {
  await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 1000, busyBelow: 25})
  const {result, sipPort, metricsUrl} = daemon.start()
  const port = result.listeners.find((listener) => listener.name === 'quic').port
  const sha256 = daemon.cli(['status']).result.quic.certificate.sha256
  // One handshake first: the native library and TLS contexts warm up on both sides.
  await (await QuicSdkClient.connect(port, {sha256})).client.close()
  const before = await histogram(metricsUrl)
  const handshakes = []
  for (let index = 0; index < HANDSHAKES; index++) {
    const {client, handshakeMs} = await QuicSdkClient.connect(port, {sha256})
    handshakes.push(handshakeMs)
    await client.close()
  }
  const after = await histogram(metricsUrl)
  const client = (await QuicSdkClient.connect(port, {sha256})).client
  const opened = await client.open(await token())
  if (opened.kind !== 'response') throw new Error(`session.open refused: ${JSON.stringify(opened.payload)}`)
  // An RPC with no media behind it: the transport's own round trip.
  const plain = []
  for (let index = 0; index < CALLS; index++) {
    const start = performance.now()
    await client.request('call.hangup', {call_sid: `CA${'0'.repeat(32)}`})
    plain.push(performance.now() - start)
  }
  const rtts = []
  for (let index = 0; index < CALLS; index++) {
    const start = performance.now()
    const created = await client.request('call.create', {to: `sip:echo@127.0.0.1:${sipPort}`})
    rtts.push(performance.now() - start)
    if (created.kind !== 'response') throw new Error(`call.create refused: ${JSON.stringify(created.payload)}`)
    const ended = await client.request('call.hangup', {call_sid: created.payload.call_sid})
    if (ended.kind !== 'response') throw new Error(`call.hangup refused: ${JSON.stringify(ended.payload)}`)
  }
  await client.close()
  const observed = after.count - before.count
  process.stdout.write(
    `bench:quic on ${CORES} cores, loopback, client and daemon on this machine\n` +
      `  handshake (client):            ${summary(handshakes)}\n` +
      `  handshake (daemon histogram):  ${observed} observed, mean ${observed > 0 ? (((after.sum - before.sum) / observed) * 1000).toFixed(2) : 'n/a'} ms\n` +
      `  RPC round trip (call.hangup of no call): ${summary(plain)}\n` +
      `  call.create round trip:        ${summary(rtts)}\n`,
  )
} finally {
  daemon.stop()
  rmSync(home, {recursive: true, force: true})
}
