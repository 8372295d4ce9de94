#!/usr/bin/env node
// Tracing cost benchmark: the call setup rate of a daemon with tracing off
// against one with tracing on, in one run (goal: on >= 90 % of off).
//
// Two daemons in temporary homes on their echo dialplan, one with
// `tracing.enabled: false`, one exporting to a real receiver in this process:
// with PROTOCOL=http/protobuf (the default) OTLP/HTTP, a plain HTTP server
// answering 200 to `POST /v1/traces`; with PROTOCOL=grpc OTLP/gRPC
// (`tracing.protocol: grpc`), a @grpc/grpc-js server answering
// `opentelemetry.proto.collector.trace.v1.TraceService/Export` with an empty
// ExportTraceServiceResponse (the request bytes kept as they came, the way
// the HTTP receiver keeps bodies). It only keeps the bodies during a run; after the run,
// outside the measured window, it decodes them with the official
// opentelemetry-proto definitions (the test suite's `otlp-proto-root`) to
// count the spans, and the run waits until every call's root span has
// arrived, so each "on" run includes its whole export.
//
// SIPp (bench/scenarios/uac-setup-bye.xml: INVITE, 200, ACK, BYE at once)
// places CALLS calls with at most CONCURRENCY in flight and no rate limit, so
// the daemon sets calls up as fast as it can; the rate is the 200 OKs per
// second (first to last, from SIPp's -trace_rtt times). Off and on
// alternate, ROUNDS rounds, the order flipped every round (off,on / on,off)
// so drift on this shared machine falls on both alike; each daemon has a
// warm-up run first. Reports each run, the medians, the on/off ratio (the
// median of the rounds' on/off ratios: each round pairs two runs seconds
// apart, which cancels the load of other processes better than a ratio of
// medians; that one is shown too) and whether the goal is met, plus the
// daemon's CPU per call, whole and main thread (the thread that limits the
// setup rate), which other processes disturb less than the rate.
//
//   npm run bench:tracing
//   PROTOCOL=grpc npm run bench:tracing        (or npm run bench:tracing:grpc)
//   PROTOCOL=both npm run bench:tracing        (off, HTTP and gRPC daemons in the same rounds: each on/off, and grpc/http)
//   ROUNDS=15 CALLS=5000 npm run bench:tracing
//
// Environment: PROTOCOL (http/protobuf, grpc or both), ROUNDS (11: the rounds' ratios spread ±30 % on a shared 2-core
// machine, so the median needs that many), CALLS (3000 per run), WARMUP (2000 calls per
// daemon), CONCURRENCY (30: SIPp -l), SHARDS (auto), QUIET_WAIT_S (10: before
// each round, wait up to this long for other processes to quieten),
// SIPP_MEDIA_PORT (SIPp's RTP port; default a free one per run), KEEP=1
// keeps the temporary homes. One and a half to three minutes (depending on
// how long it waits for a quiet machine). Needs a build (npm run build), the
// dev dependencies (otlp-proto-root) and sipp on the PATH.
import {spawnSync} from 'node:child_process'
import {EventEmitter} from 'node:events'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Admin} from './lib/admin.js'
import {daemonIn} from './lib/daemon.js'
import {CLK_TCK, CORES, machineTicks, median, numberEnv, percentile, readTicks, waitForQuietMachine} from './lib/measure.js'
import {freeUdpPort, runSipp, sippErrors, sippRtts, sippStats} from './lib/sipp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const ROUNDS = numberEnv('ROUNDS', 11)
const CALLS = numberEnv('CALLS', 3000)
const WARMUP = numberEnv('WARMUP', 2000)
const CONCURRENCY = numberEnv('CONCURRENCY', 30)
const SHARDS = process.env.SHARDS ?? 'auto'
const QUIET_WAIT_S = numberEnv('QUIET_WAIT_S', 10)
const SIPP_MEDIA_PORT = process.env.SIPP_MEDIA_PORT === undefined ? undefined : Number(process.env.SIPP_MEDIA_PORT)
const PROTOCOL = process.env.PROTOCOL ?? 'http/protobuf'
if (!['http/protobuf', 'grpc', 'both'].includes(PROTOCOL)) {
  process.stderr.write(`PROTOCOL must be http/protobuf, grpc or both, not ${PROTOCOL}\n`)
  process.exit(2)
}
/** The protocols measured: one "on" daemon each. */
const PROTOCOLS = PROTOCOL === 'both' ? ['http/protobuf', 'grpc'] : [PROTOCOL]
/** How a daemon is named in the table: `off`, `http`, `grpc`. */
const LABEL = {'http/protobuf': 'http', grpc: 'grpc'}
const GOAL = 0.9
const SCENARIO = 'uac-setup-bye'
const log = (line = '') => process.stdout.write(`${line}\n`)
const fixed = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-')
const pct = (value) => `${fixed(value)}%`

// ---- the OTLP receiver ----

const require = createRequire(import.meta.url)
const {ExportTraceServiceRequest} = require('otlp-proto-root/build/src/generated/root.js').opentelemetry.proto.collector.trace.v1

class Receiver extends EventEmitter {
  constructor(protocol) {
    super()
    this.protocol = protocol
  }

  requests = 0
  bytes = 0
  spans = 0
  roots = 0
  undecoded = []
  server = createServer((request, response) => {
    const chunks = []
    request.on('data', (chunk) => chunks.push(chunk))
    request.on('end', () => {
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end()
        return
      }
      const body = Buffer.concat(chunks)
      this.requests++
      this.bytes += body.length
      this.undecoded.push(body)
      // An empty ExportTraceServiceResponse is zero bytes of protobuf.
      response.writeHead(200, {'content-type': 'application/x-protobuf'}).end()
      this.emit('request')
    })
  })

  async start() {
    if (this.protocol === 'grpc') return this.startGrpc()
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${this.server.address().port}`
  }

  /** TraceService/Export over gRPC: the request bytes kept undecoded, an empty response (zero bytes of protobuf). */
  async startGrpc() {
    const grpc = await import('@grpc/grpc-js')
    const exportMethod = {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestDeserialize: (bytes) => bytes,
      responseSerialize: () => Buffer.alloc(0),
    }
    this.grpcServer = new grpc.Server()
    this.grpcServer.addService({Export: exportMethod}, {
      Export: (call, callback) => {
        this.requests++
        this.bytes += call.request.length
        this.undecoded.push(call.request)
        callback(null, {})
        this.emit('request')
      },
    })
    const port = await new Promise((resolve, reject) =>
      this.grpcServer.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    )
    return `http://127.0.0.1:${port}`
  }

  /** Decodes what arrived since the last call: counts spans and root (`call`) spans. */
  decode() {
    for (const body of this.undecoded.splice(0)) {
      for (const resourceSpans of ExportTraceServiceRequest.decode(body).resourceSpans ?? []) {
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            this.spans++
            if (span.name === 'call') this.roots++
          }
        }
      }
    }
  }

  /** Resolves true once `roots` root spans have arrived in all (decoding as requests come in), false after `timeoutMs`. */
  untilRoots(roots, timeoutMs) {
    return new Promise((resolve) => {
      const finish = (reached) => {
        clearTimeout(timer)
        this.off('request', check)
        resolve(reached)
      }
      const check = () => {
        this.decode()
        if (this.roots >= roots) finish(true)
      }
      const timer = setTimeout(() => finish(false), timeoutMs)
      this.on('request', check)
      check()
    })
  }

  stop() {
    if (this.grpcServer) {
      this.grpcServer.forceShutdown()
      return Promise.resolve()
    }
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

// ---- the daemons ----

const receivers = new Map()
for (const protocol of PROTOCOLS) {
  const receiver = new Receiver(protocol)
  receivers.set(protocol, {receiver, endpoint: await receiver.start()})
}
const scenarioFile = join(root, 'bench', 'scenarios', `${SCENARIO}.xml`)

/** A daemon with tracing off (`protocol` undefined) or exporting with `protocol` to its receiver. */
const makeDaemon = async (protocol, rtpMin) => {
  const mode = protocol === undefined ? 'off' : LABEL[protocol]
  const home = mkdtempSync(join(tmpdir(), `cc-bench-tracing-${mode}-`))
  const to = protocol === undefined ? undefined : receivers.get(protocol)
  const tracing = to ? `tracing:\n  enabled: true\n  endpoint: ${to.endpoint}\n  protocol: ${protocol}\n` : 'tracing:\n  enabled: false\n'
  writeFileSync(
    join(home, 'clutchcall.yaml'),
    `sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n` +
      `rtp:\n  address: 127.0.0.1\n  port_min: ${rtpMin}\n  port_max: ${rtpMin + 3999}\n  shards: ${SHARDS}\n` +
      `metrics:\n  listen: 127.0.0.1:0\n${tracing}` +
      // This measures what tracing costs, not admission: overload control's 503s at the top of a run would make the
      // refused calls part of the rate (bench:abuse measures admission).
      'security:\n  overload:\n    enabled: false\n',
  )
  copyFileSync(scenarioFile, join(home, `${SCENARIO}.xml`))
  // The environment must not switch tracing or move the endpoint behind the config's back.
  const cli = daemonIn(home, {unset: ['OTEL_SDK_DISABLED', 'OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']})
  const {pid, sipPort} = cli.start()
  const admin = await Admin.connect(join(home, 'admin.sock'), 'bench-tracing')
  return {mode, protocol, receiver: to?.receiver, endpoint: to?.endpoint, home, cli, pid, sipPort, admin, runs: []}
}

const daemons = []
let sipp
const cleanup = () => {
  sipp?.child.kill('SIGKILL')
  for (const daemon of daemons) {
    daemon.admin.close()
    daemon.cli.stop()
    if (process.env.KEEP !== '1') rmSync(daemon.home, {recursive: true, force: true})
  }
  for (const {receiver} of receivers.values()) void receiver.stop()
}
process.once('SIGINT', () => {
  cleanup()
  process.exit(130)
})

let off
const ons = []
try {
  off = await makeDaemon(undefined, 10_000)
  daemons.push(off)
  for (const [index, protocol] of PROTOCOLS.entries()) {
    const on = await makeDaemon(protocol, 14_000 + 4000 * index)
    daemons.push(on)
    ons.push(on)
  }
} catch (error) {
  log(error.message)
  cleanup()
  process.exit(1)
}

// ---- one run ----

/** CALLS calls (or `calls`) against a daemon as fast as it sets them up; for tracing on, until the collector has every root span. */
const run = async (daemon, calls) => {
  const sippPort = await freeUdpPort()
  const mediaPort = SIPP_MEDIA_PORT ?? (await freeUdpPort()) & ~1
  const args = [
    `127.0.0.1:${daemon.sipPort}`, '-sf', `${SCENARIO}.xml`, '-s', 'bench', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(sippPort),
    '-mp', String(mediaPort), '-m', String(calls), '-l', String(CONCURRENCY), '-r', String(100 * CONCURRENCY), '-rp', '100',
    '-nostdin', '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-trace_err', '-timeout', `${Math.ceil(calls / 50) + 30}s`, '-timeout_error',
  ]
  const {receiver} = daemon
  const rootsBefore = receiver?.roots ?? 0
  const daemonBefore = readTicks(`/proc/${daemon.pid}/stat`)
  const mainBefore = readTicks(`/proc/${daemon.pid}/task/${daemon.pid}/stat`)
  const machineBefore = machineTicks()
  const selfBefore = process.cpuUsage()
  const started = performance.now()
  sipp = runSipp(args, daemon.home)
  const {pid} = sipp.child
  // SIPp's CPU, for what other processes took meanwhile: its /proc entry goes with it, so it is sampled.
  let sippTicks = 0
  const sampler = setInterval(() => (sippTicks = Math.max(sippTicks, readTicks(`/proc/${pid}/stat`))), 200)
  const result = await sipp.done
  clearInterval(sampler)
  sipp = undefined
  // What other processes took while SIPp ran: the machine minus the daemon, SIPp and this script.
  const sippSeconds = (performance.now() - started) / 1000
  const machineAtExit = machineTicks()
  const ownTicks = readTicks(`/proc/${daemon.pid}/stat`) - daemonBefore + sippTicks
  const selfUsage = process.cpuUsage(selfBefore)
  const other =
    (100 * CORES * (machineAtExit.busy - machineBefore.busy)) / Math.max(1, machineAtExit.total - machineBefore.total) -
    (100 * ownTicks) / CLK_TCK / sippSeconds -
    (selfUsage.user + selfUsage.system) / 1e4 / sippSeconds
  const stats = sippStats(daemon.home, SCENARIO, pid) ?? {}
  const succeeded = Number(stats['SuccessfulCall(C)'] ?? 0)
  let exported = true
  if (receiver) {
    receiver.decode()
    exported = await receiver.untilRoots(rootsBefore + succeeded, 15_000)
  }
  const daemonTicks = readTicks(`/proc/${daemon.pid}/stat`) - daemonBefore
  const mainTicks = readTicks(`/proc/${daemon.pid}/task/${daemon.pid}/stat`) - mainBefore
  const idle = await daemon.admin.waitForIdle(20_000)
  const rows = sippRtts(daemon.home, SCENARIO, pid)
  const rtts = rows.map((row) => row.ms).sort((a, b) => a - b)
  const span = rows.length > 1 ? (rows.at(-1).atMs - rows[0].atMs) / 1000 : Number.NaN
  return {
    mode: daemon.mode,
    calls,
    succeeded,
    failed: Number(stats['FailedCall(C)'] ?? Number.NaN),
    retrans: Number(stats['Retransmissions(C)'] ?? Number.NaN),
    code: result.code,
    rate: (rows.length - 1) / span,
    p50: percentile(rtts, 0.5),
    p99: percentile(rtts, 0.99),
    cpuMsPerCall: (1000 * daemonTicks) / CLK_TCK / Math.max(1, succeeded),
    mainMsPerCall: (1000 * mainTicks) / CLK_TCK / Math.max(1, succeeded),
    other: Math.max(0, other),
    // This script's CPU per call while SIPp ran (the receiver's share in the "on" runs: it competes with the daemon for the cores).
    benchMsPerCall: (selfUsage.user + selfUsage.system) / 1000 / Math.max(1, succeeded),
    spans: receiver ? receiver.roots - rootsBefore : 0,
    exported,
    idle,
    errors: sippErrors(daemon.home, SCENARIO, pid),
  }
}

const runLine = (label, entry) =>
  `${label.padEnd(9)} ${entry.mode.padEnd(4)} ${String(entry.succeeded).padStart(6)} ${String(entry.failed).padStart(6)} ${String(entry.retrans).padStart(7)}  ${fixed(entry.rate).padStart(6)}  ` +
  `${String(entry.p50).padStart(4)} ${String(entry.p99).padStart(4)}   ${fixed(entry.cpuMsPerCall, 2).padStart(5)} ${fixed(entry.mainMsPerCall, 2).padStart(5)}   ${pct(entry.other).padStart(5)}   ${entry.mode === 'off' ? '-' : `${entry.spans}${entry.exported ? '' : ' (missing!)'}`}`

const clean = (entry) => entry.code === 0 && entry.failed === 0 && entry.succeeded === entry.calls

// ---- the run ----

const QUIET = 25
const sippVersion = spawnSync('sipp', ['-v'], {encoding: 'utf8'}).stdout.match(/v[\d.]+\S*/)?.[0] ?? '?'
log(`bench:tracing (${PROTOCOLS.join(' and ')}) — node ${process.version}, ${CORES} cores, SIPp ${sippVersion} on the same machine, ${new Date().toISOString()}`)
const receiverText = (daemon) =>
  daemon.protocol === 'grpc' ? `${daemon.endpoint} over OTLP/gRPC, a @grpc/grpc-js server in this script` : `${daemon.endpoint}/v1/traces, a plain HTTP server in this script`
log(`daemons: off pid ${off.pid} (tracing.enabled: false), ${ons.map((on) => `${on.mode} pid ${on.pid} (exporting to ${receiverText(on)})`).join(', ')}; machine load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
log(`${ROUNDS} rounds of ${CALLS} calls per daemon (INVITE -> 200 -> ACK -> BYE, at most ${CONCURRENCY} in flight, no rate limit), order rotated every round; rate = 200 OKs per second`)
log('')
log('run       mode  calls failed retrans  rate/s  INVITE->200 ms  daemon ms CPU  other*  root spans')
log('                                               p50  p99   per call main            received')
for (const daemon of daemons) {
  const entry = await run(daemon, WARMUP)
  log(runLine('warm-up', entry))
  if (entry.succeeded === 0) {
    log(`no call went through (SIPp exit ${entry.code}): ${entry.errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}`)
    cleanup()
    process.exit(1)
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  const quiet = await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 1000, busyBelow: QUIET})
  if (quiet.busy >= QUIET) log(`          (machine ${pct(quiet.busy)} busy with other work after waiting ${fixed(quiet.waitedS)} s: measuring anyway)`)
  // Rotated (with two daemons: off,on then on,off), so drift on this shared machine falls on every daemon alike.
  const shift = (round - 1) % daemons.length
  for (const daemon of [...daemons.slice(shift), ...daemons.slice(0, shift)]) {
    const entry = await run(daemon, CALLS)
    daemon.runs.push(entry)
    log(runLine(`round ${round}`, entry))
    if (entry.errors.length > 0) log(`          SIPp errors: ${entry.errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}`)
  }
}

log('          (* % of a core other processes took while SIPp ran: the machine minus the daemon, SIPp and this script)')

/** The median of the rounds' ratios of `a`'s rate to `b`'s (each round pairs runs seconds apart), and the rounds' ratios. */
const pairedRatio = (a, b) => {
  const paired = b.runs.map((entry, index) => a.runs[index].rate / entry.rate)
  return {ratio: median(paired), paired}
}
const offRate = median(off.runs.map((entry) => entry.rate))
const offCpu = median(off.runs.map((entry) => entry.cpuMsPerCall))
const offMain = median(off.runs.map((entry) => entry.mainMsPerCall))
const offBench = median(off.runs.map((entry) => entry.benchMsPerCall))
log('')
const verdicts = []
for (const on of ons) {
  const onRate = median(on.runs.map((entry) => entry.rate))
  const {ratio, paired} = pairedRatio(on, off)
  const quietRounds = off.runs.map((entry, index) => [entry, on.runs[index]]).filter(([a, b]) => a.other < QUIET && b.other < QUIET)
  const onCpu = median(on.runs.map((entry) => entry.cpuMsPerCall))
  const onMain = median(on.runs.map((entry) => entry.mainMsPerCall))
  const onBench = median(on.runs.map((entry) => entry.benchMsPerCall))
  const status = await on.admin.request('daemon.status')
  const {receiver} = on
  receiver.decode()
  log(`${on.protocol} (daemon tracing protocol: ${status.telemetry?.tracing?.protocol ?? '?'}, state: ${status.telemetry?.tracing?.state ?? '?'})`)
  log(`  median setup rate: off ${fixed(offRate)} calls/s, on ${fixed(onRate)} calls/s (ratio of the medians ${fixed(onRate / offRate, 3)})`)
  log(`  on/off: ${fixed(ratio, 3)} (median of the rounds: ${paired.map((value) => fixed(value, 2)).join(', ')})`)
  log(`  rounds where other processes took < ${QUIET}% in both runs: ${quietRounds.length}${quietRounds.length > 0 ? `, their median on/off ${fixed(median(quietRounds.map(([a, b]) => b.rate / a.rate)), 3)}` : ''}`)
  log(`  median daemon CPU per call: off ${fixed(offCpu, 2)} ms, on ${fixed(onCpu, 2)} ms (+${fixed(onCpu - offCpu, 2)} ms, ${fixed((100 * (onCpu - offCpu)) / offCpu)}%); main thread off ${fixed(offMain, 2)} ms, on ${fixed(onMain, 2)} ms (+${fixed(onMain - offMain, 2)} ms: a main-thread-bound rate would be ${fixed(offMain / onMain, 2)} of off)`)
  log(`  this script's CPU per call while SIPp ran (the receiver, in the on runs): off ${fixed(offBench, 3)} ms, on ${fixed(onBench, 3)} ms`)
  log(`  exporter: ${receiver.requests} requests, ${fixed(receiver.bytes / 1e6, 1)} MB, ${receiver.spans} spans for ${receiver.roots} traced calls (${fixed(receiver.spans / Math.max(1, receiver.roots), 1)} spans per call)`)
  if (!on.runs.every((entry) => entry.exported)) log('  warning: some traced calls never reached the receiver')
  verdicts.push(`${on.protocol} ${fixed(ratio, 3)} ${ratio >= GOAL ? 'met' : 'not met'}`)
}
const grpcOn = ons.find((on) => on.protocol === 'grpc')
const httpOn = ons.find((on) => on.protocol === 'http/protobuf')
if (grpcOn && httpOn) {
  const {ratio, paired} = pairedRatio(grpcOn, httpOn)
  log(`grpc/http: ${fixed(ratio, 3)} (median of the rounds: ${paired.map((value) => fixed(value, 2)).join(', ')})`)
}
if (![...off.runs, ...ons.flatMap((on) => on.runs)].every(clean)) log('warning: some runs had failed calls or SIPp errors (see above): the rates are not clean')
log(`goal ≥ ${GOAL.toFixed(2)}: ${verdicts.join(', ')}`)

cleanup()
