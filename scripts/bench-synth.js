#!/usr/bin/env node
// Synthetic caller benchmark: a daemon in a temporary home on its echo
// dialplan, and CALLS concurrent synthetic calls from this process (the synth
// library, as `clutchcall synth call` runs it), everything on this machine.
//
//  (a) clean: CALLS calls started at RAMP_CPS per second, each held HOLD_S
//      seconds. Reports the synth's own CPU (process.cpuUsage: per call, and
//      per call-second while all calls are up), its event-loop delay, the
//      daemon's CPU in the same window (context), and what the calls measured
//      on a path with no impairment (the floor of loss and jitter).
//  (b) impaired: the same number of calls, each through its own lossy relay
//      (test/helpers/lossy-relay.ts, in a child process so its CPU is not
//      counted as the synth's): DROP of the RTP dropped in each direction,
//      DELAY_SHARE of the rest delayed uniformly by 0..MAX_DELAY_MS. Reports
//      how far the reported loss is from the packets each relay really
//      dropped, and the reported jitter from what the delays imply (RFC 3550
//      jitter converges to the mean |transit difference|: one relay leg for
//      outbound, both legs for the echo coming back).
//
//   npm run bench:synth
//   CALLS=100 HOLD_S=30 npm run bench:synth
//
// Environment: CALLS (200), HOLD_S (20), RAMP_CPS (50), DROP (0.03),
// DELAY_SHARE (0.5), MAX_DELAY_MS (18), PARTS (a,b), KEEP=1 keeps the
// temporary home. Needs a build (npm run build).
import {spawn, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {monitorEventLoopDelay} from 'node:perf_hooks'
import {createInterface} from 'node:readline'
import {fileURLToPath} from 'node:url'
import {numberEnv} from './lib/measure.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')

// ---- relay child: `bench-synth.js --relays N HOST PORT` ----

if (process.argv[2] === '--relays') {
  const {LossyRelay} = await import('../dist/test/helpers/lossy-relay.js')
  const [count, host, port] = [Number(process.argv[3]), process.argv[4], Number(process.argv[5])]
  const impairment = JSON.parse(process.argv[6])
  const relays = []
  for (let index = 0; index < count; index++) relays.push(await LossyRelay.start({address: host, port}, {...impairment, seed: index + 1}))
  process.stdout.write(`${JSON.stringify(relays.map((relay) => relay.sipPort))}\n`)
  const lines = createInterface({input: process.stdin})
  lines.on('line', () => process.stdout.write(`${JSON.stringify(relays.map((relay) => ({toCallee: relay.toCallee, toCaller: relay.toCaller})))}\n`))
  lines.on('close', () => {
    for (const relay of relays) relay.close()
    process.exit(0)
  })
} else {
  await main()
}

async function main() {
  const {runSynth} = await import('../dist/src/synth/runner.js')
  const {parseTarget} = await import('../dist/src/synth/options.js')
  const {expectedJitterMs} = await import('../dist/test/helpers/lossy-relay.js')

  const CALLS = numberEnv('CALLS', 200)
  const HOLD_S = numberEnv('HOLD_S', 20)
  const RAMP_CPS = numberEnv('RAMP_CPS', 50)
  const PARTS = new Set((process.env.PARTS ?? 'a,b').split(','))
  const impairment = {dropShare: numberEnv('DROP', 0.03), delayShare: numberEnv('DELAY_SHARE', 0.5), maxDelayMs: numberEnv('MAX_DELAY_MS', 18)}
  const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout.trim()) || 100

  const log = (line = '') => process.stdout.write(`${line}\n`)
  const fixed = (value, digits = 2) => (value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits))
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
  const mean = (values) => (values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length)
  const quantile = (values, share) => {
    if (values.length === 0) return Number.NaN
    const sorted = [...values].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]
  }
  const daemonTicks = (pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      return Number(fields[11]) + Number(fields[12])
    } catch {
      return 0
    }
  }

  const home = mkdtempSync(join(tmpdir(), 'cc-bench-synth-'))
  const env = {...process.env, CLUTCHCALL_HOME: home}
  delete env.CLUTCHCALL_CONFIG
  const cli = (args) => JSON.parse(spawnSync(process.execPath, [bin, ...args, '--json'], {env, encoding: 'utf8'}).stdout)
  writeFileSync(
    join(home, 'clutchcall.yaml'),
    `sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n    - { transport: tcp, address: 127.0.0.1, port: 0 }\n` +
      `rtp:\n  address: 127.0.0.1\n  port_min: 20000\n  port_max: 29999\nmetrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\n`,
  )
  const started = cli(['start'])
  if (started.status !== 0) {
    log(`the daemon did not start: ${JSON.stringify(started.error)}`)
    process.exit(1)
  }
  const daemonPid = started.result.pid
  const sipPort = started.result.listeners.find((listener) => listener.name === 'sip' && listener.transport === 'udp').port
  let relayChild
  const cleanup = () => {
    relayChild?.kill('SIGKILL')
    spawnSync(process.execPath, [bin, 'stop', '--force', '--timeout', '5', '--json'], {env, stdio: 'ignore'})
    if (process.env.KEEP !== '1') rmSync(home, {recursive: true, force: true})
  }
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })

  const settingsFor = (uri, count) => ({target: parseTarget(uri), durationS: HOLD_S, count, concurrency: count, rate: RAMP_CPS, headers: [], ringTimeoutS: 30})
  const thresholds = {expectStatus: [200], minMos: 4}

  /** Runs `start()` and measures this process's CPU over the whole run and over the window when every call is up. */
  const measured = async (start) => {
    const lag = monitorEventLoopDelay({resolution: 1})
    const rampS = CALLS / RAMP_CPS
    const windowStartMs = (rampS + 2) * 1000
    const windowS = Math.max(1, HOLD_S - 4)
    let window
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    const sampler = (async () => {
      await sleep(windowStartMs)
      lag.enable()
      const cpu = process.cpuUsage()
      const ticks = daemonTicks(daemonPid)
      const at = performance.now()
      await sleep(windowS * 1000)
      const used = process.cpuUsage(cpu)
      window = {cpuMs: (used.user + used.system) / 1000, daemonMs: ((daemonTicks(daemonPid) - ticks) * 1000) / CLK_TCK, seconds: (performance.now() - at) / 1000}
      lag.disable()
    })()
    const calls = await start()
    await sampler
    const total = process.cpuUsage(cpu0)
    return {calls, totalCpuMs: (total.user + total.system) / 1000, elapsedS: (performance.now() - t0) / 1000, window, lagP99Ms: lag.percentile(99) / 1e6, lagMaxMs: lag.max / 1e6}
  }

  const cpuReport = (run) => {
    const {window} = run
    log(`  synth CPU, whole run:      ${fixed(run.totalCpuMs / 1000, 1)} s for ${run.calls.length} calls = ${fixed(run.totalCpuMs / run.calls.length, 0)} ms per ${HOLD_S}-s call (set-up, media, teardown)`)
    log(`  synth CPU, all calls up:   ${fixed((100 * window.cpuMs) / 1000 / window.seconds, 1)} % of a core for ${CALLS} calls = ${fixed(window.cpuMs / CALLS / window.seconds, 2)} ms per call-second (${fixed((1000 * window.seconds) / (window.cpuMs / CALLS), 0)} calls per core)`)
    log(`  synth event-loop delay:    p99 ${fixed(run.lagP99Ms, 1)} ms, max ${fixed(run.lagMaxMs, 1)} ms (while all calls are up)`)
    log(`  daemon CPU (context):      ${fixed((100 * window.daemonMs) / 1000 / window.seconds, 1)} % of a core`)
  }

  const figures = (calls) => {
    const answered = calls.filter((call) => call.sipStatus === 200 && call.inbound !== null)
    const pick = (path) => answered.map(path).filter((value) => typeof value === 'number')
    return {
      answered: answered.length,
      passed: calls.filter((call) => call.passed).length,
      mosIn: pick((call) => call.inbound.mos),
      mosOut: pick((call) => call.outbound?.mos),
      lossIn: pick((call) => call.inbound.lossPercent),
      lossOut: pick((call) => call.outbound?.lossPercent),
      jitterIn: pick((call) => call.inbound.jitterMs),
      jitterOut: pick((call) => call.outbound?.jitterMs),
      rtt: pick((call) => call.rttMs),
      pdd: calls.map((call) => call.pddMs).filter((value) => typeof value === 'number'),
    }
  }
  const spread = (values, digits = 2) => `mean ${fixed(mean(values), digits)}, p95 ${fixed(quantile(values, 0.95), digits)}, max ${fixed(Math.max(...values), digits)}`

  log(`bench:synth — ${CALLS} concurrent synthetic calls of ${HOLD_S} s from one process (ramp ${RAMP_CPS} calls/s), the daemon's echo dialplan, ${new Date().toISOString()}`)
  let clean
  try {
    if (PARTS.has('a')) {
      log('')
      log('(a) clean path')
      const run = await measured(async () => (await runSynth({settings: settingsFor(`sip:+15550000000@127.0.0.1:${sipPort}`, CALLS), thresholds})).calls)
      clean = figures(run.calls)
      log(`  calls: ${run.calls.length}, answered ${clean.answered}, passed ${clean.passed} (MOS ≥ 4), ${fixed(run.elapsedS, 1)} s`)
      cpuReport(run)
      log(`  MOS in / out:              ${spread(clean.mosIn)} / ${spread(clean.mosOut)}`)
      log(`  loss % in / out:           max ${fixed(Math.max(...clean.lossIn), 2)} / ${fixed(Math.max(...clean.lossOut), 2)}`)
      log(`  jitter ms in / out:        ${spread(clean.jitterIn)} / ${spread(clean.jitterOut)}  (the floor: sender pacing, two event loops)`)
      log(`  RTT ms (RTCP):             ${spread(clean.rtt)};  PDD ms: ${spread(clean.pdd, 1)}`)
    }

    if (PARTS.has('b')) {
      log('')
      log(`(b) through ${CALLS} lossy relays: ${fixed(100 * impairment.dropShare, 1)} % of RTP dropped each way, ${fixed(100 * impairment.delayShare, 0)} % of the rest delayed 0-${impairment.maxDelayMs} ms`)
      relayChild = spawn(process.execPath, [fileURLToPath(import.meta.url), '--relays', String(CALLS), '127.0.0.1', String(sipPort), JSON.stringify(impairment)], {stdio: ['pipe', 'pipe', 'inherit']})
      const replies = createInterface({input: relayChild.stdout})
      const nextReply = () => new Promise((resolve) => replies.once('line', (line) => resolve(JSON.parse(line))))
      const ports = await nextReply()
      const run = await measured(async () => {
        const results = await Promise.all(
          ports.map(async (port, index) => {
            await sleep((1000 * index) / RAMP_CPS)
            const report = await runSynth({settings: settingsFor(`sip:+1555${String(index).padStart(7, '0')}@127.0.0.1:${port}`, 1), thresholds})
            return report.calls[0]
          }),
        )
        return results
      })
      relayChild.stdin.write('stats\n')
      const truth = await nextReply()
      relayChild.stdin.end()
      const oneLeg = expectedJitterMs(impairment, 1)
      const twoLegs = expectedJitterMs(impairment, 2)
      const lossErrOut = []
      const lossErrIn = []
      const lossPpOut = []
      const lossPpIn = []
      const jitterErrOut = []
      const jitterErrIn = []
      run.calls.forEach((call, index) => {
        const relay = truth[index]
        if (call === undefined || call.sipStatus !== 200 || call.inbound === null) return
        if (call.outbound?.packetsLost !== null && call.outbound?.packetsLost !== undefined) {
          lossErrOut.push(Math.abs(call.outbound.packetsLost - relay.toCallee.rtpDropped))
          lossPpOut.push(Math.abs(call.outbound.lossPercent - (100 * relay.toCallee.rtpDropped) / (relay.toCallee.rtpDropped + relay.toCallee.rtpForwarded)))
          jitterErrOut.push(call.outbound.jitterMs - oneLeg)
        }
        lossErrIn.push(Math.abs(call.inbound.packetsLost - relay.toCaller.rtpDropped))
        lossPpIn.push(Math.abs(call.inbound.lossPercent - (100 * relay.toCaller.rtpDropped) / (relay.toCaller.rtpDropped + relay.toCaller.rtpForwarded)))
        jitterErrIn.push(call.inbound.jitterMs - twoLegs)
      })
      const impaired = figures(run.calls.filter(Boolean))
      log(`  calls: ${run.calls.length}, answered ${impaired.answered}, ${fixed(run.elapsedS, 1)} s`)
      cpuReport(run)
      log(`  loss vs the relays' drops: outbound |error| ${spread(lossErrOut)} packets (${spread(lossPpOut, 3)} points of loss %)`)
      log(`                             inbound  |error| ${spread(lossErrIn)} packets (${spread(lossPpIn, 3)} points of loss %)`)
      log(`  jitter outbound: expected ${fixed(oneLeg)} ms (one leg), reported ${spread(impaired.jitterOut)}; error mean ${fixed(mean(jitterErrOut))} ms, |error| p95 ${fixed(quantile(jitterErrOut.map(Math.abs), 0.95))} ms`)
      log(`  jitter inbound:  expected ${fixed(twoLegs)} ms (two legs), reported ${spread(impaired.jitterIn)}; error mean ${fixed(mean(jitterErrIn))} ms, |error| p95 ${fixed(quantile(jitterErrIn.map(Math.abs), 0.95))} ms`)
      if (clean) log(`                  (clean-path floor: ${fixed(mean(clean.jitterOut))} ms out, ${fixed(mean(clean.jitterIn))} ms in)`)
      log(`  MOS in / out:    ${spread(impaired.mosIn)} / ${spread(impaired.mosOut)}`)
    }
  } finally {
    cleanup()
  }
}
