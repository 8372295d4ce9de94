#!/usr/bin/env node
// What the active-call journal (crash-safe billing) costs.
//
//  (a) in-process, on the built modules: the event-loop time of one answer
//      record (encode + write() into the kernel), the fdatasyncs a burst of
//      answers needs (group commit), and the event-loop time and size of one
//      checkpoint of N connected calls; then the start-up time of recovering
//      N connected calls (read, replay, spool check, rows appended and fsync'd).
//  (b) two daemons on their echo dialplan, `cdr.journal.enabled: false` and
//      `true`, SIPp calling as fast as they set calls up (INVITE, 200, ACK,
//      BYE at once, at most CONCURRENCY in flight), ROUNDS rounds alternating
//      the order; reports the setup rate, INVITE -> 200 p50/p99 and daemon CPU
//      per call of each, and on/off (the median of the rounds' ratios).
//
//   npm run bench:journal
//   PARTS=a npm run bench:journal
//   ROUNDS=7 CALLS=3000 npm run bench:journal
//
// Environment: PARTS (a,b), ROUNDS (5), CALLS (2000 per run), WARMUP (1000),
// CONCURRENCY (30), CHECKPOINT_MS (5000, cdr.journal.checkpoint_interval_ms of
// the "on" daemon), SHARDS (auto), KEEP=1 keeps the temporary homes. Needs a
// build (npm run build) and, for (b), sipp on the PATH.
import {spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import pino from 'pino'
import {Admin} from './lib/admin.js'
import {daemonIn} from './lib/daemon.js'
import {CLK_TCK, CORES, median, numberEnv, percentile, readTicks} from './lib/measure.js'
import {freeUdpPort, runSipp, sippErrors, sippRtts, sippStats} from './lib/sipp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = (path) => join(root, 'dist', path)
const PARTS = new Set((process.env.PARTS ?? 'a,b').split(','))
const ROUNDS = numberEnv('ROUNDS', 5)
const CALLS = numberEnv('CALLS', 2000)
const WARMUP = numberEnv('WARMUP', 1000)
const CONCURRENCY = numberEnv('CONCURRENCY', 30)
const CHECKPOINT_MS = numberEnv('CHECKPOINT_MS', 5000)
const SHARDS = process.env.SHARDS ?? 'auto'
const SCENARIO = 'uac-setup-bye'
const log = (line = '') => process.stdout.write(`${line}\n`)
const fixed = (value, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-')

log(`bench:journal — node ${process.version}, ${CORES} cores, ${new Date().toISOString()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)

// ---- (a) in-process ----

if (PARTS.has('a')) {
  const {Call} = await import(dist('daemon/calls/call.js'))
  const {CallRegistry} = await import(dist('daemon/calls/registry.js'))
  const {ActiveCallJournal} = await import(dist('daemon/telemetry/cdr/journal.js'))
  const {recoverJournal} = await import(dist('daemon/telemetry/cdr/journal-recovery.js'))
  const {CdrSpool} = await import(dist('daemon/telemetry/cdr/spool.js'))
  const silent = pino({level: 'silent'})

  const setup = () => {
    const home = mkdtempSync(join(tmpdir(), 'cc-bench-journal-'))
    const calls = new CallRegistry()
    const spool = new CdrSpool(join(home, 'cdr-spool'))
    spool.open()
    const journal = new ActiveCallJournal({dir: join(home, 'journal'), checkpointIntervalMs: 3_600_000, calls, spool, log: silent})
    journal.start()
    return {home, calls, spool, journal}
  }
  const newCall = (calls, n) => new Call({tenant: 'acme', trunk: 'carrier-a', direction: 'inbound', from: '+15550001111', to: `+1555${String(n).padStart(7, '0')}`, sipCallId: `${n}@bench`}, calls, silent)

  log('')
  log('(a) in-process')
  /** The least disturbed of `times` runs of `body` over `count` items, in µs per item: other processes only ever add time. */
  const leastOf = (times, count, body) => {
    let best = Number.POSITIVE_INFINITY
    for (let time = 0; time < times; time++) {
      const started = performance.now()
      body(time)
      best = Math.min(best, ((performance.now() - started) * 1000) / count)
    }
    return best
  }
  for (const count of [1000, 5000]) {
    const {home, calls, journal} = setup()
    const made = Array.from({length: count}, (_, n) => newCall(calls, n))
    // The stage with nobody listening, for the baseline.
    const bare = new CallRegistry()
    const bareCalls = Array.from({length: count}, (_, n) => newCall(bare, n))
    const bareUs = leastOf(5, count, () => {
      for (const call of bareCalls) call.answering('PCMA')
    })
    // Five batches of answers (a batch of the same calls re-journals them: the same work as new ones).
    const answerUs = leastOf(5, count, () => {
      for (const call of made) call.answering('PCMA')
    })
    const fsyncsBefore = journal.counters.fsyncs
    await journal.commit()
    const burstFsyncs = journal.counters.fsyncs - fsyncsBefore
    // Answers spread out: one per turn of the event loop, the commits overlapping them.
    const spread = Array.from({length: 500}, (_, n) => newCall(calls, count + n))
    const spreadBefore = journal.counters.fsyncs
    const waits = []
    for (const call of spread) {
      call.answering('PCMA')
      waits.push(journal.commit())
      await new Promise((resolve) => setImmediate(resolve))
    }
    await Promise.all(waits)
    const spreadFsyncs = journal.counters.fsyncs - spreadBefore
    for (const call of made) call.answered('PCMA')
    // The checkpoint's synchronous part (refresh, encode, write) runs in the round that setImmediate starts; least of 3.
    let checkpointMs = Number.POSITIVE_INFINITY
    let sizeBefore = 0
    for (let time = 0; time < 3; time++) {
      const started = performance.now()
      const checkpoint = journal.requestCheckpoint()
      await new Promise((resolve) => setImmediate(resolve))
      checkpointMs = Math.min(checkpointMs, performance.now() - started)
      sizeBefore = journal.sizeBytes
      await checkpoint
    }
    const checkpointBytes = journal.counters.bytes
    // A reference for how loaded the machine is: serialising one CDR, which is a microsecond or so on an idle core.
    const sample = made[0].record
    const referenceUs = leastOf(5, count, () => {
      for (let n = 0; n < count; n++) JSON.stringify(sample)
    })
    log(`  ${count} calls: (reference: JSON.stringify of one CDR ${fixed(referenceUs, 2)} µs)`)
    log(`    answer record ${fixed(answerUs, 1)} µs of event loop per call, least of 5 batches (the stage with no journal: ${fixed(bareUs, 1)} µs); ${count} answers at once: ${burstFsyncs} fdatasync; 500 answers one per event-loop turn: ${spreadFsyncs} fdatasyncs`)
    log(`    checkpoint of ${count + 500} calls: ${fixed(checkpointMs, 1)} ms of event loop, least of 3 (refresh, encode, write; a compaction's share included when one is due), journal ${fixed(sizeBefore / 1024)} KiB (${fixed(checkpointBytes / 1024)} KiB appended in all)`)
    // Recovery: the daemon dies here, with every call connected.
    const spool = new CdrSpool(join(home, 'cdr-spool'))
    spool.open()
    const started = performance.now()
    const recovered = recoverJournal({journalDir: join(home, 'journal'), spool, log: silent})
    log(`    recovery at start: ${recovered.recovered.length} CDRs in ${fixed(performance.now() - started)} ms (read, replay, spool check, append, fsync)`)
    rmSync(home, {recursive: true, force: true})
  }
}

// ---- (b) daemons ----

if (PARTS.has('b')) {
  const scenarioFile = join(root, 'bench', 'scenarios', `${SCENARIO}.xml`)
  const makeDaemon = async (mode, rtpMin) => {
    const home = mkdtempSync(join(tmpdir(), `cc-bench-journal-${mode}-`))
    writeFileSync(
      join(home, 'clutchcall.yaml'),
      `sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n` +
        `rtp:\n  address: 127.0.0.1\n  port_min: ${rtpMin}\n  port_max: ${rtpMin + 3999}\n  shards: ${SHARDS}\n` +
        `metrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\n` +
        `cdr:\n  journal:\n    enabled: ${mode === 'on'}\n    checkpoint_interval_ms: ${CHECKPOINT_MS}\n`,
    )
    copyFileSync(scenarioFile, join(home, `${SCENARIO}.xml`))
    const cli = daemonIn(home)
    const {pid, sipPort} = cli.start()
    const admin = await Admin.connect(join(home, 'admin.sock'), 'bench-journal')
    return {mode, home, cli, pid, sipPort, admin, runs: []}
  }
  const daemons = []
  const cleanup = () => {
    for (const daemon of daemons) {
      daemon.admin.close()
      daemon.cli.stop()
      if (process.env.KEEP !== '1') rmSync(daemon.home, {recursive: true, force: true})
    }
  }
  process.once('SIGINT', () => {
    cleanup()
    process.exit(130)
  })
  const off = await makeDaemon('off', 10_000)
  daemons.push(off)
  const on = await makeDaemon('on', 14_000)
  daemons.push(on)

  const run = async (daemon, calls) => {
    const sippPort = await freeUdpPort()
    const mediaPort = (await freeUdpPort()) & ~1
    const args = [
      `127.0.0.1:${daemon.sipPort}`, '-sf', `${SCENARIO}.xml`, '-s', 'bench', '-i', '127.0.0.1', '-mi', '127.0.0.1', '-p', String(sippPort),
      '-mp', String(mediaPort), '-m', String(calls), '-l', String(CONCURRENCY), '-r', String(100 * CONCURRENCY), '-rp', '100',
      '-nostdin', '-trace_rtt', '-rtt_freq', '1', '-trace_stat', '-fd', '1', '-trace_err', '-timeout', `${Math.ceil(calls / 50) + 30}s`, '-timeout_error',
    ]
    const daemonBefore = readTicks(`/proc/${daemon.pid}/stat`)
    const mainBefore = readTicks(`/proc/${daemon.pid}/task/${daemon.pid}/stat`)
    const sipp = runSipp(args, daemon.home)
    const {pid} = sipp.child
    const result = await sipp.done
    const stats = sippStats(daemon.home, SCENARIO, pid) ?? {}
    const succeeded = Number(stats['SuccessfulCall(C)'] ?? 0)
    const daemonTicks = readTicks(`/proc/${daemon.pid}/stat`) - daemonBefore
    const mainTicks = readTicks(`/proc/${daemon.pid}/task/${daemon.pid}/stat`) - mainBefore
    await daemon.admin.waitForIdle(20_000)
    const rows = sippRtts(daemon.home, SCENARIO, pid)
    const rtts = rows.map((row) => row.ms).sort((a, b) => a - b)
    const span = rows.length > 1 ? (rows.at(-1).atMs - rows[0].atMs) / 1000 : Number.NaN
    return {
      mode: daemon.mode,
      succeeded,
      failed: Number(stats['FailedCall(C)'] ?? Number.NaN),
      code: result.code,
      rate: (rows.length - 1) / span,
      p50: percentile(rtts, 0.5),
      p99: percentile(rtts, 0.99),
      cpuMsPerCall: (1000 * daemonTicks) / CLK_TCK / Math.max(1, succeeded),
      mainMsPerCall: (1000 * mainTicks) / CLK_TCK / Math.max(1, succeeded),
      errors: sippErrors(daemon.home, SCENARIO, pid),
    }
  }
  const line = (label, entry) =>
    `  ${label.padEnd(9)} ${entry.mode.padEnd(4)} ${String(entry.succeeded).padStart(6)} ${String(entry.failed).padStart(6)}  ${fixed(entry.rate).padStart(6)}  ${String(entry.p50).padStart(4)} ${String(entry.p99).padStart(4)}   ${fixed(entry.cpuMsPerCall, 2).padStart(5)} ${fixed(entry.mainMsPerCall, 2).padStart(5)}`

  log('')
  log(`(b) daemons: journal off (pid ${off.pid}) and on (pid ${on.pid}, checkpoint every ${CHECKPOINT_MS} ms); ${ROUNDS} rounds of ${CALLS} calls, INVITE -> 200 -> ACK -> BYE, at most ${CONCURRENCY} in flight`)
  log('  run       mode  calls failed  rate/s  INVITE->200 ms  daemon ms CPU')
  log('                                       p50  p99   per call main')
  for (const daemon of [off, on]) log(line('warm-up', await run(daemon, WARMUP)))
  for (let round = 1; round <= ROUNDS; round++) {
    for (const daemon of round % 2 === 1 ? [off, on] : [on, off]) {
      const entry = await run(daemon, CALLS)
      daemon.runs.push(entry)
      log(line(`round ${round}`, entry))
      if (entry.errors.length > 0) log(`            SIPp errors: ${entry.errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}`)
    }
  }
  const ratio = median(off.runs.map((entry, index) => on.runs[index].rate / entry.rate))
  const cpu = (daemon, key) => median(daemon.runs.map((entry) => entry[key]))
  log('')
  log(`  median setup rate: off ${fixed(median(off.runs.map((entry) => entry.rate)))} calls/s, on ${fixed(median(on.runs.map((entry) => entry.rate)))} calls/s; on/off ${fixed(ratio, 3)} (median of the rounds' ratios)`)
  log(`  median INVITE->200 p50/p99: off ${median(off.runs.map((entry) => entry.p50))}/${median(off.runs.map((entry) => entry.p99))} ms, on ${median(on.runs.map((entry) => entry.p50))}/${median(on.runs.map((entry) => entry.p99))} ms`)
  log(`  median daemon CPU per call: off ${fixed(cpu(off, 'cpuMsPerCall'), 3)} ms, on ${fixed(cpu(on, 'cpuMsPerCall'), 3)} ms; main thread off ${fixed(cpu(off, 'mainMsPerCall'), 3)} ms, on ${fixed(cpu(on, 'mainMsPerCall'), 3)} ms`)
  cleanup()
}
