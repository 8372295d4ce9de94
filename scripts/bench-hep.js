#!/usr/bin/env node
// HEP capture benchmark (issue 5): the call setup rate with capture on vs off,
// in one run against one daemon this script starts, SIPp calling its echo
// dialplan with an immediate BYE (bench/scenarios/uac-setup-bye.xml, as in
// `bench:calls` part (b)). A UDP sink in this script receives and counts the
// HEP frames. Goal: the rate with capture on is >= 90 % of the rate off.
//
// Two kinds of run, each as REPEATS pairs of capture off and on, in
// alternating order (off/on, on/off, …) so a machine that gets busier or
// quieter meanwhile does not favour one side:
//  - fixed: SETUP_S seconds of calls at `-r FIXED_RATE`, comfortably below
//    the limit: both sides reach the rate; what capture costs shows as
//    main-thread CPU per call and INVITE->200 latency;
//  - max:   as many calls as the gateway completes, `-r MAX_RATE` offered
//    with at most LIMIT calls open at once (SIPp -l: a closed loop, so an
//    overloaded gateway is not buried in retransmissions), for SETUP_S
//    seconds, then SIPp stops placing calls (SIGUSR1) and finishes the
//    open ones. The setup rate is the completed calls over that time.
// Per run: calls/s, failed calls, retransmissions, INVITE->200 p50/p99, the
// daemon's main-thread CPU per call, machine CPU, HEP frames sent and
// received. Then the medians per side and the on/off ratio.
//
//   npm run bench:hep
//   FIXED_RATE=300 MAX_RATE=3000 LIMIT=50 REPEATS=3 SETUP_S=8 npm run bench:hep
//
// Environment: FIXED_RATE (300), MAX_RATE (3000), LIMIT (50), REPEATS (3),
// SETUP_S (8), RTCP (1: capture RTCP reports too), QUIET_WAIT_S (3: before
// each run, wait up to this long for other processes to quieten), KEEP=1 keeps
// the temporary home. A 3 s warm-up run comes first and is not counted.
// Needs a build (npm run build) and sipp on the PATH.
import {spawn, spawnSync} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import readline from 'node:readline'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
// The CLI's own admin client (src/admin/client.ts, as built): JSON-RPC over $CLUTCHCALL_HOME/admin.sock.
import {AdminClient} from '../dist/src/admin/client.js'
import {CLK_TCK, CORES, machineTicks, median, numberEnv, percentile, readTicks, sleep, waitForQuietMachine as waitUntilQuiet} from './lib/measure.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')
const scenario = join(root, 'bench', 'scenarios', 'uac-setup-bye.xml')

const FIXED_RATE = numberEnv('FIXED_RATE', 300)
const MAX_RATE = numberEnv('MAX_RATE', 3000)
const LIMIT = numberEnv('LIMIT', 50)
const REPEATS = numberEnv('REPEATS', 3)
const SETUP_S = numberEnv('SETUP_S', 8)
const RTCP = process.env.RTCP !== '0'
const GOAL = 0.9
const log = (line = '') => process.stdout.write(`${line}\n`)
const fixed = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-')


// ---- the HEP sink ----
// A collector runs on another machine; here it would take a share of the same
// two cores the gateway and SIPp are measured on. So the sink is a child
// process that is stopped (SIGSTOP) while a run is measured: the kernel still
// delivers every frame to its socket (the cost of that delivery is the
// gateway's send), queueing it or, once the buffer is full, dropping it and
// counting the drop. Between runs it is resumed, reads what is queued, and
// reports frames read + frames dropped at its socket: every frame that reached it.

const sinkProcess = spawn(
  process.execPath,
  [
    '-e',
    `const dgram = require('node:dgram'); const fs = require('node:fs'); const readline = require('node:readline')
     const socket = dgram.createSocket({type: 'udp4', recvBufferSize: 4 * 1024 * 1024})
     let frames = 0
     socket.on('message', () => frames++)
     const drops = () => {
       const port = socket.address().port.toString(16).toUpperCase().padStart(4, '0')
       const line = fs.readFileSync('/proc/net/udp', 'utf8').split('\\n').find((entry) => entry.trim().split(/\\s+/)[1] === '0100007F:' + port)
       return line ? Number(line.trim().split(/\\s+/)[12]) : 0
     }
     socket.bind(0, '127.0.0.1', () => console.log(JSON.stringify({port: socket.address().port})))
     readline.createInterface({input: process.stdin}).on('line', () => setTimeout(() => console.log(JSON.stringify({frames, drops: drops()})), 300))`,
  ],
  {stdio: ['pipe', 'pipe', 'inherit']},
)
const sinkLines = readline.createInterface({input: sinkProcess.stdout})
const sinkAnswer = () => new Promise((resolve) => sinkLines.once('line', (line) => resolve(JSON.parse(line))))
const sinkPort = (await sinkAnswer()).port
/** Frames that reached the sink's socket so far (resumes it to count). */
const sinkCount = async () => {
  sinkProcess.kill('SIGCONT')
  sinkProcess.stdin.write('count\n')
  const {frames, drops} = await sinkAnswer()
  return frames + drops
}
// ---- the daemon ----

const home = mkdtempSync(join(tmpdir(), 'cc-bench-hep-'))
const env = {...process.env, CLUTCHCALL_HOME: home}
delete env.CLUTCHCALL_CONFIG
const cli = (args) => JSON.parse(spawnSync(process.execPath, [bin, ...args, '--json'], {env, encoding: 'utf8'}).stdout)
// CDRs off: the signalling path alone is the base, so capture's share of it is not diluted. Overload control off: this
// measures what capture costs, not admission (the max runs push the daemon to its limit, where overload control would
// refuse calls with 503; bench:abuse measures that).
writeFileSync(
  join(home, 'clutchcall.yaml'),
  'sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n' +
    'rtp:\n  address: 127.0.0.1\n  port_min: 10000\n  port_max: 17999\n' +
    `metrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\ncdr:\n  enabled: false\nheplify:\n  enabled: false\n  endpoint: 127.0.0.1:${sinkPort}\n  capture_id: 2001\n` +
    'security:\n  overload:\n    enabled: false\n',
)
copyFileSync(scenario, join(home, 'uac-setup-bye.xml'))
const started = cli(['start'])
if (started.status !== 0) {
  log(`the daemon did not start: ${JSON.stringify(started.error)}`)
  process.exit(1)
}
const daemonPid = started.result.pid
const sipPort = started.result.listeners.find((listener) => listener.name === 'sip' && listener.transport === 'udp').port
// A daemon at its call-rate limit may answer slowly: a longer deadline per request than the CLI's 10 s.
const admin = await AdminClient.connect(join(home, 'admin.sock'), {client: 'bench-hep', timeoutMs: 60_000})

const running = new Set()
const cleanup = () => {
  for (const child of running) child.kill('SIGKILL')
  admin.close()
  sinkProcess.kill('SIGCONT')
  sinkProcess.kill('SIGKILL')
  spawnSync(process.execPath, [bin, 'stop', '--force', '--timeout', '5', '--json'], {env, stdio: 'ignore'})
  if (process.env.KEEP !== '1') rmSync(home, {recursive: true, force: true})
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanup()
    process.exit(130)
  })
}

const waitForIdle = async () => {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(250)) {
    if ((await admin.call('daemon.status')).calls.active === 0) return
  }
}

const freeUdpPort = () =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1', () => {
      const {port} = socket.address()
      socket.close(() => resolve(port))
    })
  })

const sippStats = (pid) => {
  const file = join(home, `uac-setup-bye_${pid}_.csv`)
  if (!existsSync(file)) return {}
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const names = lines[0].split(';')
  const values = lines.at(-1).split(';')
  return Object.fromEntries(names.map((name, index) => [name, values[index]]))
}

/** Before a run, up to QUIET_WAIT_S for the machine to be nearly idle: it is shared, and this measures the gateway. */
const QUIET_WAIT_S = numberEnv('QUIET_WAIT_S', 3)
const waitForQuietMachine = async () => (await waitUntilQuiet({maxWaitS: QUIET_WAIT_S, sampleMs: 1000, busyBelow: 20})).busy

/** One run, capture as set: `fixed` places rate × SETUP_S calls; `max` places calls for SETUP_S seconds with at most LIMIT open. */
const runOnce = async (kind, capture) => {
  const rate = kind === 'max' ? MAX_RATE : FIXED_RATE
  await waitForIdle()
  if (capture) await admin.call('hep.enable', {rtcp: RTCP})
  else await admin.call('hep.disable')
  const idleBusy = await waitForQuietMachine()
  const sippPort = await freeUdpPort()
  // SIPp binds an RTP socket even for calls that send no media: a free port, never a fixed one another process may hold.
  const mediaPort = (await freeUdpPort()) & ~1
  const total = kind === 'max' ? rate * SETUP_S * 10 : kind === 'warm-up' ? rate * 3 : rate * SETUP_S
  const limit = kind === 'max' ? LIMIT : Math.max(200, rate * 4)
  const args = [
    `127.0.0.1:${sipPort}`, '-sf', 'uac-setup-bye.xml', '-s', 'setup', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(sippPort),
    '-mp', String(mediaPort), '-m', String(total), '-r', String(rate), '-rp', '1000', '-l', String(limit),
    '-nostdin', '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-timeout', `${SETUP_S * 4 + 40}s`, '-timeout_error',
  ]
  const framesBefore = await sinkCount()
  sinkProcess.kill('SIGSTOP')
  const hepBefore = await admin.call('hep.status')
  const mainBefore = readTicks(`/proc/${daemonPid}/task/${daemonPid}/stat`)
  const daemonBefore = readTicks(`/proc/${daemonPid}/stat`)
  const machineBefore = machineTicks()
  const startedAt = performance.now()
  const child = spawn('sipp', args, {cwd: home, stdio: ['ignore', 'ignore', 'pipe']})
  running.add(child)
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-2000)))
  let sippTicks = 0
  const sippWatcher = setInterval(() => (sippTicks = Math.max(sippTicks, readTicks(`/proc/${child.pid}/stat`))), 200)
  const exited = new Promise((resolve) => child.once('exit', (exitCode) => resolve(exitCode ?? 1)))
  // `max`: stop placing calls after SETUP_S seconds; SIPp finishes the open ones and exits.
  const stopper = kind === 'max' ? setTimeout(() => child.kill('SIGUSR1'), SETUP_S * 1000) : undefined
  const code = await exited
  clearTimeout(stopper)
  clearInterval(sippWatcher)
  running.delete(child)
  const seconds = (performance.now() - startedAt) / 1000
  const mainTicks = readTicks(`/proc/${daemonPid}/task/${daemonPid}/stat`) - mainBefore
  const daemonTicks = readTicks(`/proc/${daemonPid}/stat`) - daemonBefore
  const machineAfter = machineTicks()
  await sleep(300)
  const framesAfter = await sinkCount()
  const hepAfter = await admin.call('hep.status')
  const stats = sippStats(child.pid)
  const rttFile = join(home, `uac-setup-bye_${child.pid}_rtt.csv`)
  const rtts = existsSync(rttFile) ? readFileSync(rttFile, 'utf8').split('\n').slice(1).map((line) => Number(line.split(';')[1])).filter(Number.isFinite).sort((a, b) => a - b) : []
  const succeeded = Number(stats['SuccessfulCall(C)'] ?? 0)
  return {
    kind,
    rate,
    capture,
    code,
    succeeded,
    failed: Number(stats['FailedCall(C)'] ?? Number.NaN),
    retrans: Number(stats['Retransmissions(C)'] ?? Number.NaN),
    // The run's own duration (SIPp start to exit, so calls that end late count against their run).
    achieved: succeeded / seconds,
    p50: percentile(rtts, 0.5),
    p99: percentile(rtts, 0.99),
    mainMsPerCall: (1000 * mainTicks) / CLK_TCK / Math.max(1, succeeded),
    daemonCpu: (100 * daemonTicks) / CLK_TCK / seconds,
    machine: (100 * CORES * (machineAfter.busy - machineBefore.busy)) / Math.max(1, machineAfter.total - machineBefore.total),
    sippCpu: (100 * sippTicks) / CLK_TCK / seconds,
    idleBusy,
    frames: framesAfter - framesBefore,
    sent: hepAfter.framesSent - hepBefore.framesSent,
    sendErrors: hepAfter.sendErrors - hepBefore.sendErrors,
    stderr,
  }
}

log(`bench:hep — node ${process.version}, ${CORES} cores, daemon pid ${daemonPid}, SIP 127.0.0.1:${sipPort}, HEP sink 127.0.0.1:${sinkPort}, RTCP ${RTCP ? 'on' : 'off'}, ${new Date().toISOString()}`)
log(`SIPp (${spawnSync('sipp', ['-v'], {encoding: 'utf8'}).stdout.match(/v[\d.]+\S*/)?.[0] ?? '?'}) on the same machine, immediate BYE, ${SETUP_S} s per run, ${REPEATS} off/on pairs per kind; load average at start ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
log(`fixed: -r ${FIXED_RATE}; max: -r ${MAX_RATE} offered, at most ${LIMIT} calls open (-l), completed calls per second`)
log('')
log('kind   capture  calls/s  calls  failed  retrans  INVITE->200 p50  p99 ms  main CPU/call  daemon CPU  SIPp  others*  HEP frames sent/received  errors')

// Warm-up, not counted: the JIT compiles the signalling and capture paths, the shards open their first streams.
await runOnce('warm-up', true)

const results = []
for (const kind of ['fixed', 'max']) {
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const order = repeat % 2 === 0 ? [false, true] : [true, false]
    for (const capture of order) {
      let run = await runOnce(kind, capture)
      // SIPp that could not start (a port taken meanwhile) is no measurement: once more.
      if (run.succeeded === 0 && run.code !== 0) run = await runOnce(kind, capture)
      results.push(run)
      log(
        `${kind.padEnd(5)}  ${(capture ? 'on' : 'off').padEnd(7)}  ${fixed(run.achieved, 1).padStart(7)}  ${String(run.succeeded).padStart(5)}  ${String(run.failed).padStart(6)}  ${String(run.retrans).padStart(7)}  ${fixed(run.p50).padStart(15)}  ${fixed(run.p99).padStart(6)}  ${fixed(run.mainMsPerCall, 3).padStart(10)} ms  ${fixed(run.daemonCpu).padStart(9)}%  ${fixed(run.sippCpu).padStart(3)}%  ${fixed(Math.max(0, run.machine - run.daemonCpu - run.sippCpu)).padStart(6)}%  ${`${run.sent}/${run.frames}`.padStart(24)}  ${String(run.sendErrors).padStart(6)}`,
      )
      if (run.code !== 0 && run.succeeded === 0) log(`       SIPp exit ${run.code}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`)
    }
  }
}
await admin.call('hep.disable')

log('  (* CPU of everything else on the machine during the run, in % of one core, this script included; the machine has 2 cores = 200 %)')
log('')
log('medians (capture off → on):')
const summary = {}
for (const kind of ['fixed', 'max']) {
  const side = (capture) => results.filter((run) => run.kind === kind && run.capture === capture)
  const off = side(false)
  const on = side(true)
  const achievedOff = median(off.map((run) => run.achieved))
  const achievedOn = median(on.map((run) => run.achieved))
  const cpuOff = median(off.map((run) => run.mainMsPerCall))
  const cpuOn = median(on.map((run) => run.mainMsPerCall))
  summary[kind] = {ratio: achievedOn / achievedOff, achievedOff, achievedOn}
  log(
    `  ${kind === 'fixed' ? `fixed -r ${FIXED_RATE}` : `max (-l ${LIMIT})`}: ${fixed(achievedOff, 1)} → ${fixed(achievedOn, 1)} calls/s (ratio ${fixed(achievedOn / achievedOff, 3)}); INVITE->200 p50 ${fixed(median(off.map((run) => run.p50)))} → ${fixed(median(on.map((run) => run.p50)))} ms, p99 ${fixed(median(off.map((run) => run.p99)))} → ${fixed(median(on.map((run) => run.p99)))} ms; ` +
      `main-thread CPU per call ${fixed(cpuOff, 3)} → ${fixed(cpuOn, 3)} ms; ${fixed(median(on.map((run) => run.frames / Math.max(1, run.succeeded))), 1)} frames per call; ` +
      `failed ${off.reduce((sum, run) => sum + run.failed, 0)} → ${on.reduce((sum, run) => sum + run.failed, 0)}, retransmissions ${off.reduce((sum, run) => sum + run.retrans, 0)} → ${on.reduce((sum, run) => sum + run.retrans, 0)}`,
  )
}
const ratio = summary.max?.ratio ?? Number.NaN
log(`goal: the setup rate with capture on >= ${GOAL * 100} % of the rate off: ${fixed(summary.max?.achievedOn, 1)} / ${fixed(summary.max?.achievedOff, 1)} calls/s = ${fixed(ratio * 100, 1)} % — ${ratio >= GOAL ? 'met' : 'NOT met'}`)

cleanup()
