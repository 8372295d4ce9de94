#!/usr/bin/env node
// ClutchCall beside Kamailio + rtpengine, the same SIPp load through each, in
// one run on this machine:
//
//   SIPp caller --> system under test --> SIPp callee (-rtp_echo, answers PCMA)
//
// where the system is either a clutchcall daemon (a B2BUA: one inbound trunk,
// a dialplan that bridges to the callee's trunk, the media relayed by its
// shards) or Debian's Kamailio (a record-routing proxy) with Debian's rtpengine
// relaying the media in userspace. Both legs are PCMA, so neither transcodes;
// with CALLEE_CODEC=PCMU the callee answers PCMU alone and both systems
// transcode A-law <-> µ-law (ClutchCall: the callee's trunk has `codecs:
// [PCMU]`; rtpengine: `codec-mask-PCMA codec-transcode-PCMU` on the offer).
//
//  (setup) INVITE -> 200 -> ACK -> BYE at once at each of RATES calls/s for
//      SETUP_S seconds: CPU per call of the system (ClutchCall: the daemon's
//      process; Kamailio: all its processes plus rtpengine's), INVITE -> 200
//      p50/p99 (SIPp -trace_rtt), failed calls; goal: ClutchCall <= 1.2x
//      Kamailio+rtpengine at every rate, p99 < 50 ms at 800 calls/s.
//  (media) MEDIA_LEVELS concurrent calls, each streaming PCMA (20 ms frames)
//      that the callee echoes, held HOLD_S seconds with all calls up: CPU per
//      call-second over the hold; goal: ClutchCall <= 1.2x at 600 calls
//      (without transcoding; with it, no worse than the 0.52-0.83x measured
//      when the goal was set).
//
// First WARMUP_CALLS calls go through each system unmeasured: a gateway runs
// for days, and the first thousands of calls after a start pay for V8's JIT
// compiling the call path (measured: 6.4 ms of CPU per call in the first
// 2,000 calls at 200/s, 3.8 ms from the 4,000th on). Each measurement then
// runs ROUNDS times, the systems alternating; the medians are compared.
// Before each one the script waits up to QUIET_WAIT_S for the machine to be
// idle (it is shared).
//
//   npm run bench:vs-kamailio
//   RATES=200,400 MEDIA_LEVELS=300 HOLD_S=20 ROUNDS=1 npm run bench:vs-kamailio
//
// Environment: RATES (200,400,800), SETUP_S (10), MEDIA_LEVELS (300,600),
// HOLD_S (30), RAMP_CPS (100), ROUNDS (2), PARTS (setup,media), CALLEE_CODEC
// (PCMA: no transcoding; PCMU: both systems transcode),
// WARMUP_CALLS (4000, at 200 calls/s; 0 measures a cold daemon),
// KAMAILIO_CHILDREN (4, its UDP workers), RTPENGINE_THREADS (cores),
// QUIET_WAIT_S (60), KEEP=1 keeps the temporary directory. Needs a build
// (npm run build), sipp, kamailio and rtpengine (Debian's rtpengine-daemon)
// on the PATH.
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {bridgeConfig} from './lib/bridge-config.js'
import {daemonIn} from './lib/daemon.js'
import {startKamailioRtpengine} from './lib/kamailio-rtpengine.js'
import {CLK_TCK, CORES, listEnv, median, numberEnv, percentile, sleep, waitForQuietMachine} from './lib/measure.js'
import {processTicks} from './lib/proc.js'
import {elapsedSeconds, freeUdpPort, rawAudioFromPcap, runSipp, sippErrors, sippRtts, sippStats} from './lib/sipp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const scenarios = join(root, 'bench', 'scenarios')
const PCAP = '/usr/share/sip-tester/g711a.pcap'
const RATES = listEnv('RATES', '200,400,800')
const SETUP_S = numberEnv('SETUP_S', 10)
const MEDIA_LEVELS = listEnv('MEDIA_LEVELS', '300,600')
const HOLD_S = numberEnv('HOLD_S', 30)
const RAMP_CPS = numberEnv('RAMP_CPS', 100)
const ROUNDS = Math.max(1, numberEnv('ROUNDS', 2))
const PARTS = new Set((process.env.PARTS ?? 'setup,media').split(','))
const CALLEE_CODEC = process.env.CALLEE_CODEC ?? 'PCMA'
if (CALLEE_CODEC !== 'PCMA' && CALLEE_CODEC !== 'PCMU') throw new Error(`CALLEE_CODEC: PCMA (no transcoding) or PCMU (A-law <-> µ-law transcoding), not "${CALLEE_CODEC}"`)
const TRANSCODING = CALLEE_CODEC === 'PCMU'
/** The callee's scenario: it answers with this one codec whatever it is offered. */
const CALLEE_SCENARIO = `uas-echo-${CALLEE_CODEC.toLowerCase()}.xml`
const QUIET_WAIT_S = numberEnv('QUIET_WAIT_S', 60)
const WARMUP_CALLS = numberEnv('WARMUP_CALLS', 4000)
const WARMUP_RATE = 200
const SERVICE = '+18880000000'
const SETUP_GOAL = 1.2
const P99_GOAL_MS = 50
const MEDIA_GOAL = 1.2
/** The transcoding ratio measured when the goals were set (the performance issue): it must not get worse. */
const TRANSCODED_BEFORE = '0.52-0.83x'
// Port ranges that do not overlap: the daemon's RTP, rtpengine's, and SIPp's caller media.
const DAEMON_RTP = [10_000, 17_999]
const RTPENGINE_RTP = [40_000, 49_999]
const SIPP_CALLER_MEDIA = 20_000
const SIPP_CALLEE_MEDIA = 36_000

const log = (line = '') => process.stdout.write(`${line}\n`)
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '-')
const sumTicks = (pids) => pids.reduce((sum, pid) => sum + processTicks(pid), 0)

const dir = mkdtempSync(join(tmpdir(), 'cc-bench-vs-kamailio-'))
for (const file of ['uac-setup-routed.xml', 'uac-hold-routed-pcma.xml', CALLEE_SCENARIO]) copyFileSync(join(scenarios, file), join(dir, file))
writeFileSync(join(dir, 'g711a.raw'), rawAudioFromPcap(PCAP))

const running = new Set()
const cleanups = []
let stopping = false
const cleanup = async () => {
  for (const child of running) child.kill('SIGKILL')
  for (const step of cleanups.reverse()) await step()
  if (process.env.KEEP !== '1') rmSync(dir, {recursive: true, force: true})
  else log(`kept ${dir}`)
}
process.once('SIGINT', async () => {
  stopping = true
  await cleanup()
  process.exit(130)
})

// ---- the callee: one SIPp for both systems ----
const calleePort = await freeUdpPort()
const callee = runSipp(['-sf', CALLEE_SCENARIO, '-i', '127.0.0.1', '-p', String(calleePort), '-mi', '127.0.0.1', '-mp', String(SIPP_CALLEE_MEDIA), '-rtp_echo', '-nostdin', '-trace_err'], dir)
running.add(callee.child)
cleanups.push(async () => callee.child.kill('SIGKILL'))

// ---- the systems ----
const clutchcallHome = join(dir, 'clutchcall')
mkdirSync(clutchcallHome)
writeFileSync(
  join(clutchcallHome, 'clutchcall.yaml'),
  `sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n` +
    `rtp:\n  address: 127.0.0.1\n  port_min: ${DAEMON_RTP[0]}\n  port_max: ${DAEMON_RTP[1]}\n` +
    'metrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\n' +
    bridgeConfig({service: SERVICE, callees: [{id: 'callee', port: calleePort, ...(TRANSCODING ? {codecs: ['PCMU']} : {})}]}),
)
const daemon = daemonIn(clutchcallHome)
let started
try {
  started = daemon.start()
} catch (error) {
  log(error.message)
  await cleanup()
  process.exit(1)
}
cleanups.push(async () => daemon.stop())

const kamailioDir = join(dir, 'kamailio')
mkdirSync(kamailioDir)
const kamailioPort = await freeUdpPort()
let reference
try {
  reference = await startKamailioRtpengine({
    dir: kamailioDir, address: '127.0.0.1', port: kamailioPort, ngPort: await freeUdpPort(), callee: `127.0.0.1:${calleePort}`,
    rtpMin: RTPENGINE_RTP[0], rtpMax: RTPENGINE_RTP[1], children: numberEnv('KAMAILIO_CHILDREN', 4), threads: numberEnv('RTPENGINE_THREADS', CORES),
    offerFlags: TRANSCODING ? 'codec-mask-PCMA codec-transcode-PCMU' : '',
  })
} catch (error) {
  log(`Kamailio + rtpengine did not start: ${error.message}`)
  await cleanup()
  process.exit(1)
}
cleanups.push(() => reference.stop())

const systems = [
  {name: 'clutchcall', label: 'ClutchCall', target: `127.0.0.1:${started.sipPort}`, pids: () => [started.pid]},
  {name: 'kamailio', label: 'Kamailio+rtpengine', target: `127.0.0.1:${kamailioPort}`, pids: () => reference.pids(), parts: () => ({kamailio: reference.kamailioPids(), rtpengine: [reference.rtpenginePid]})},
]
const version = (command, args, pattern) => {
  const result = spawnSync(command, args, {encoding: 'utf8'})
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.match(pattern)?.[0] ?? '?'
}
log(`bench:vs-kamailio — node ${process.version}, ${CORES} cores, ${new Date().toISOString()}; ClutchCall pid ${started.pid}; Kamailio ${version('kamailio', ['-v'], /\d+\.\d+\.\d+/)} (${numberEnv('KAMAILIO_CHILDREN', 4)} UDP workers) + rtpengine ${version('rtpengine', ['--version'], /\d+\.\d+\.\d+\.\d+\S*/)} (userspace, ${numberEnv('RTPENGINE_THREADS', CORES)} threads); SIPp caller and callee on the same cores`)
log(`machine load average at start: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; ${ROUNDS} round(s), systems alternating, medians compared`)

const quiet = async () => {
  const result = await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 2000, busyBelow: 25})
  if (result.busy >= 25) log(`       (machine still ${result.busy.toFixed(0)}% busy with other work after ${result.waitedS.toFixed(0)} s: measuring anyway)`)
}

/** CPU seconds of each part of a system between two tick samples. */
const partSeconds = (before, after) => Object.fromEntries(Object.keys(after).map((name) => [name, (after[name] - before[name]) / CLK_TCK]))
const sampleParts = (system) => (system.parts ? Object.fromEntries(Object.entries(system.parts()).map(([name, pids]) => [name, sumTicks(pids)])) : {})

// ---- (setup) ----
const setupRun = async (system, rate, calls = rate * SETUP_S) => {
  await quiet()
  const sippPort = await freeUdpPort()
  const sipp = runSipp([
    system.target, '-sf', 'uac-setup-routed.xml', '-s', SERVICE, '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(sippPort), '-mp', String(SIPP_CALLER_MEDIA),
    '-m', String(calls), '-r', String(rate), '-rp', '1000', '-l', String(Math.max(200, rate * 4)),
    '-nostdin', '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-trace_err', '-timeout', `${Math.ceil(calls / rate) * 4 + 40}s`, '-timeout_error',
  ], dir)
  running.add(sipp.child)
  const pids = system.pids()
  const before = sumTicks(pids)
  const beforeParts = sampleParts(system)
  const result = await sipp.done
  running.delete(sipp.child)
  // The last BYEs' transactions end a moment after SIPp saw their 200s.
  await sleep(1000)
  const cpuSeconds = (sumTicks(pids) - before) / CLK_TCK
  const parts = partSeconds(beforeParts, sampleParts(system))
  const stats = sippStats(dir, 'uac-setup-routed', sipp.child.pid) ?? {}
  const rtts = sippRtts(dir, 'uac-setup-routed', sipp.child.pid).map((row) => row.ms).sort((a, b) => a - b)
  const succeeded = Number(stats['SuccessfulCall(C)'] ?? 0)
  return {
    succeeded, failed: Number(stats['FailedCall(C)'] ?? Number.NaN), retrans: Number(stats['Retransmissions(C)'] ?? Number.NaN),
    achieved: succeeded / Math.max(1, elapsedSeconds(stats['ElapsedTime(C)'])), code: result.code,
    msPerCall: (1000 * cpuSeconds) / Math.max(1, succeeded), partsMsPerCall: Object.fromEntries(Object.entries(parts).map(([name, seconds]) => [name, (1000 * seconds) / Math.max(1, succeeded)])),
    p50: percentile(rtts, 0.5), p99: percentile(rtts, 0.99), errors: sippErrors(dir, 'uac-setup-routed', sipp.child.pid),
  }
}

// ---- (media) ----
const mediaRun = async (system, level) => {
  await quiet()
  const rampS = Math.ceil(level / RAMP_CPS)
  const slackS = 3
  const sippPort = await freeUdpPort()
  const sipp = runSipp([
    system.target, '-sf', 'uac-hold-routed-pcma.xml', '-s', SERVICE, '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(sippPort), '-mp', String(SIPP_CALLER_MEDIA),
    '-m', String(level), '-l', String(level), '-r', String(RAMP_CPS), '-d', String((HOLD_S + rampS + slackS + 2) * 1000),
    '-nostdin', '-trace_stat', '-fd', '1', '-trace_err', '-rtp_threadtasks', '50', '-timeout', `${HOLD_S + 3 * rampS + 120}s`, '-timeout_error',
  ], dir)
  running.add(sipp.child)
  const currentCalls = () => Number(sippStats(dir, 'uac-hold-routed-pcma', sipp.child.pid)?.['CurrentCall'] ?? Number.NaN)
  await sleep((rampS + slackS) * 1000)
  const pids = system.pids()
  const upAtStart = currentCalls()
  const before = sumTicks(pids)
  const beforeParts = sampleParts(system)
  const startedAt = performance.now()
  await sleep(HOLD_S * 1000)
  const seconds = (performance.now() - startedAt) / 1000
  const cpuSeconds = (sumTicks(pids) - before) / CLK_TCK
  const parts = partSeconds(beforeParts, sampleParts(system))
  const upAtEnd = currentCalls()
  const result = await sipp.done
  running.delete(sipp.child)
  const stats = sippStats(dir, 'uac-hold-routed-pcma', sipp.child.pid) ?? {}
  const callSeconds = level * seconds
  return {
    upAtStart, upAtEnd, failed: Number(stats['FailedCall(C)'] ?? Number.NaN), code: result.code,
    msPerCallSecond: (1000 * cpuSeconds) / callSeconds, cores: cpuSeconds / seconds,
    partsMsPerCallSecond: Object.fromEntries(Object.entries(parts).map(([name, value]) => [name, (1000 * value) / callSeconds])),
    errors: sippErrors(dir, 'uac-hold-routed-pcma', sipp.child.pid),
  }
}

const partsText = (parts) => (Object.keys(parts).length ? ` (${Object.entries(parts).map(([name, value]) => `${name} ${fixed(value, 3)}`).join(', ')})` : '')
const errorsText = (errors) => (errors.length ? `; SIPp errors: ${errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}` : '')
const verdict = (ok) => (ok ? 'pass' : 'FAIL')
const summary = []

try {
  if (WARMUP_CALLS > 0) {
    for (const system of systems) {
      const run = await setupRun(system, WARMUP_RATE, WARMUP_CALLS)
      log(`warm-up: ${WARMUP_CALLS} calls at ${WARMUP_RATE}/s through ${system.label}, not counted (${fixed(run.msPerCall, 3)} ms of CPU per call, ${run.failed} failed)`)
    }
  }
  if (PARTS.has('setup')) {
    log('')
    log(`(setup) INVITE -> 200 -> ACK -> BYE at once, ${SETUP_S} s per rate; CPU ms per call (all processes of the system)`)
    for (const rate of RATES) {
      const runs = {clutchcall: [], kamailio: []}
      for (let round = 1; round <= ROUNDS && !stopping; round++) {
        for (const system of round % 2 === 1 ? systems : [...systems].reverse()) {
          const run = await setupRun(system, rate)
          runs[system.name].push(run)
          log(`  ${String(rate).padStart(4)}/s r${round} ${system.label.padEnd(18)} ${fixed(run.msPerCall, 3).padStart(7)} ms/call${partsText(run.partsMsPerCall)}  ` +
            `${run.succeeded} ok ${run.failed} failed ${run.retrans} retrans, ${fixed(run.achieved, 0)}/s, INVITE->200 p50 ${run.p50} p99 ${run.p99} ms${errorsText(run.errors)}`)
        }
      }
      const ours = median(runs.clutchcall.map((run) => run.msPerCall))
      const theirs = median(runs.kamailio.map((run) => run.msPerCall))
      const p99 = median(runs.clutchcall.map((run) => run.p99))
      const ratio = ours / theirs
      const p99Ok = rate < 800 || p99 < P99_GOAL_MS
      summary.push(`setup ${rate}/s: ${fixed(ours, 3)} vs ${fixed(theirs, 3)} ms per call = ${fixed(ratio)}x (goal <= ${SETUP_GOAL}: ${verdict(ratio <= SETUP_GOAL)}); ` +
        `INVITE->200 p99 ${p99} vs ${median(runs.kamailio.map((run) => run.p99))} ms${rate >= 800 ? ` (goal < ${P99_GOAL_MS} ms: ${verdict(p99Ok)})` : ''}`)
    }
  }
  if (PARTS.has('media') && !stopping) {
    log('')
    log(`(media) ${TRANSCODING ? 'PCMA from the caller, PCMU to the callee (both systems transcode)' : 'PCMA calls both legs (no transcoding)'}, echoed by the callee; CPU ms per call-second over ${HOLD_S} s with all calls up`)
    for (const level of MEDIA_LEVELS) {
      const runs = {clutchcall: [], kamailio: []}
      for (let round = 1; round <= ROUNDS && !stopping; round++) {
        for (const system of round % 2 === 1 ? systems : [...systems].reverse()) {
          const run = await mediaRun(system, level)
          runs[system.name].push(run)
          log(`  ${String(level).padStart(4)} calls r${round} ${system.label.padEnd(18)} ${fixed(run.msPerCallSecond, 3).padStart(7)} ms/call-s${partsText(run.partsMsPerCallSecond)}  ` +
            `${fixed(run.cores * 100, 0)}% of a core; calls up ${run.upAtStart} -> ${run.upAtEnd}, ${run.failed} failed${errorsText(run.errors)}`)
        }
      }
      const ours = median(runs.clutchcall.map((run) => run.msPerCallSecond))
      const theirs = median(runs.kamailio.map((run) => run.msPerCallSecond))
      const ratio = ours / theirs
      const goal = TRANSCODING ? ` (transcoding; ${TRANSCODED_BEFORE} when the goal was set: no worse)` : level === 600 ? ` (goal <= ${MEDIA_GOAL}: ${verdict(ratio <= MEDIA_GOAL)})` : ''
      summary.push(`media ${level} calls: ${fixed(ours, 3)} vs ${fixed(theirs, 3)} ms per call-second = ${fixed(ratio)}x${goal}`)
    }
  }
  log('')
  log('ClutchCall vs Kamailio+rtpengine (medians):')
  for (const line of summary) log(`  ${line}`)
} finally {
  await cleanup()
}
