#!/usr/bin/env node
// SIP abuse benchmark (docs/sip-abuse-control.md, "Benchmark"): a daemon in a
// temporary home with one trunk (inbound CIDR 127.0.0.2/32) on its echo
// dialplan and `security.trusted_cidrs: []`, so loopback is screened like any
// other source. Everything runs on this machine: SIPp competes with the
// gateway for the same cores, and the output says how much it took.
//
//  (1) single-source flood: from 127.0.0.3, a source in no trunk's CIDRs,
//      OPTIONS_RATE OPTIONS/s and INVITE_RATE INVITE/s (each sent once, never
//      retransmitted, nothing awaited) for FLOOD_S seconds, by a UDP sender
//      in a child process of this script or by SIPp (FLOODER), while
//      the trunk (127.0.0.2) places LEGIT_CPS calls/s of HOLD_S seconds with
//      PCMA audio (rtp_stream), from LEAD_S seconds before the flood until it
//      ends. Prints the send rates achieved, what the gateway did with the
//      flood (clutchcall_sip_requests_refused_total by method and reason,
//      clutchcall_security_bans_total, datagrams the kernel dropped at the SIP
//      socket), the legitimate calls' success, INVITE->200 and MOS (from the
//      gateway's CDRs, CHANNEL_HANGUP_COMPLETE), and the daemon's RSS
//      (/proc/<pid>/status VmRSS, every 250 ms): idle before the load, peak
//      during the flood, and how long after the flood it took to come back to
//      idle ± 20 % (watched for RECOVERY_S seconds).
//      Goals: success >= 99 %, mean MOS >= 4.3, RSS < 300 MB during the flood,
//      back to idle ± 20 % within RECOVERY_S s.
//  (2) overload from the trunk itself: a second daemon; SIPp from 127.0.0.2
//      places calls of STEP_HOLD_S seconds with audio at each rate of RATES for
//      STEP_S seconds, a caller that takes a 503 for an answer (and requires
//      its Retry-After), until `security.overload` has answered 503 in a step.
//      Per step: 200s, 503s and INVITEs that timed out as SIPp saw them,
//      retransmissions, INVITE->200, how long the daemon said it was
//      overloaded, the SIP socket's queue and kernel drops, and the MOS of the
//      calls it took. After the step where overload set in, EXTRA_STEPS more
//      rates go deeper into it. Goals, over those steps: 503s with Retry-After,
//      INVITEs timed out <= 0.1 % of those sent (the excess is answered 503,
//      not dropped), mean MOS of the accepted calls >= 4.3; and in every step
//      no call left up in the daemon 70 s after SIPp is done.
//
//   npm run bench:abuse                                   # FLOOD_S=60, both parts
//   npm run bench:abuse -- --flood-s 10 --parts 1         # a quick run of part 1
//   FLOOD_S=10 RECOVERY_S=30 RATES=200,400 STEP_S=5 npm run bench:abuse
//
// Every setting is an environment variable, or the flag in brackets:
//   FLOOD_S (--flood-s, 60)            flood length, seconds
//   OPTIONS_RATE (--options-rate, 10000), INVITE_RATE (--invite-rate, 2000)
//   FLOODER (--flooder, node)          node: a UDP sender in a child process of
//                                      this script; sipp: two SIPp (on the shared
//                                      2-core machine they fell short, at about
//                                      8,600 OPTIONS/s, where the sender keeps
//                                      10,000/s with less CPU)
//   LEGIT_CPS (--legit-cps, 50), HOLD_S (--hold-s, 5): the trunk's calls
//   LEAD_S (--lead-s, 5)               trunk calls before the flood starts
//   RECOVERY_S (--recovery-s, 60)      the RSS goal's window after the flood
//   RECOVERY_MAX_S (--recovery-max-s, 300): when RSS is not back within
//                                      RECOVERY_S, how long to watch on to say
//                                      when it comes back
//   PARTS (--parts, 1,2)
//   RATES (--rates, 100,200,300,400,500,600,800,1000), STEP_S (--step-s, 10),
//   STEP_HOLD_S (--step-hold-s, 2)     part (2)'s ramp and call length
//   EXTRA_STEPS (--extra-steps, 1)     rates run after the one where overload
//                                      set in, deeper into it
//   OVERLOAD_LAG_MS (--overload-lag-ms), OVERLOAD_UTILIZATION
//   (--overload-utilization), OVERLOAD_TRANSACTIONS (--overload-transactions):
//                                      security.overload of the part (2) daemon
//                                      (its defaults when not given; the output
//                                      says which)
//   QUIET_WAIT_S (--quiet-wait-s, 60)  before each part, wait up to this long
//                                      for other processes to quieten
//   RTP_MIN/RTP_MAX (40000/47999)      the daemons' RTP ports
//   SIPP_MEDIA_PORT (50000)            SIPp's first RTP port
//   KEEP=1                             keeps the temporary homes
// Needs a build (npm run build) and sipp on the PATH. Ctrl-C stops SIPp, the
// flooder and the daemons and removes the homes.
import {fork, spawnSync} from 'node:child_process'
import {copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Admin} from './lib/admin.js'
import {daemonIn} from './lib/daemon.js'
import {CLK_TCK, CORES, machineTicks, median, percentile, readTicks, rssBytes, sleep, waitForQuietMachine} from './lib/measure.js'
import {freeUdpPort, rawAudioFromPcap, runSipp, sippCounts, sippErrors, sippRtts, sippStats} from './lib/sipp.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const scenarios = join(root, 'bench', 'scenarios')
const FLOODER_FLAG = '--node-flooder'

// ---- FLOODER=node: the flood from a child process of this script ----

/**
 * Sends OPTIONS and INVITEs (each with its own Call-ID, tag and branch) from
 * one UDP socket bound to `from`, at the asked rates, for `seconds`: every
 * 2 ms it sends what is owed so far. Reports how many the kernel took and
 * over how long.
 */
const runNodeFlooder = async () => {
  const {createSocket} = await import('node:dgram')
  const {from, port, optionsRate, inviteRate, seconds} = await new Promise((resolve) => process.once('message', resolve))
  const socket = createSocket('udp4')
  await new Promise((resolve) => socket.bind(0, from, resolve))
  const local = socket.address().port
  const target = `127.0.0.1:${port}`
  const sdp = `v=0\r\no=flood 1 1 IN IP4 ${from}\r\ns=-\r\nc=IN IP4 ${from}\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8 0\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n`
  const request = (method, user, n, body = '') =>
    Buffer.from(
      `${method} sip:${user}@${target} SIP/2.0\r\nVia: SIP/2.0/UDP ${from}:${local};branch=z9hG4bK-flood-${n}\r\nFrom: <sip:flood@${from}:${local}>;tag=f${n}\r\n` +
        `To: <sip:${user}@${target}>\r\nCall-ID: ${n}-flood@${from}\r\nCSeq: 1 ${method}\r\nContact: <sip:flood@${from}:${local}>\r\nMax-Forwards: 70\r\n` +
        `${body ? 'Content-Type: application/sdp\r\n' : ''}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  const sent = {options: 0, invites: 0}
  const done = {options: 0, invites: 0}
  let n = 0
  const send = (kind, bytes) => {
    sent[kind]++
    socket.send(bytes, port, '127.0.0.1', (error) => {
      if (!error) done[kind]++
    })
  }
  const started = performance.now()
  const total = {options: Math.round(optionsRate * seconds), invites: Math.round(inviteRate * seconds)}
  await new Promise((resolve) => {
    const tick = () => {
      const elapsed = (performance.now() - started) / 1000
      const owed = (kind, rate) => Math.min(total[kind], Math.floor(rate * elapsed)) - sent[kind]
      for (let i = owed('options', optionsRate); i > 0; i--) send('options', request('OPTIONS', 'probe', n++))
      for (let i = owed('invites', inviteRate); i > 0; i--) send('invites', request('INVITE', '+15557770000', n++, sdp))
      if ((sent.options >= total.options && sent.invites >= total.invites) || elapsed > seconds + 20) resolve()
      else setTimeout(tick, 2)
    }
    tick()
  })
  const secondsTaken = (performance.now() - started) / 1000
  // The last sends' callbacks.
  await new Promise((resolve) => setTimeout(resolve, 200))
  process.send({options: done.options, invites: done.invites, seconds: secondsTaken}, () => process.exit(0))
}
if (process.argv.includes(FLOODER_FLAG)) {
  await runNodeFlooder()
  await new Promise(() => {})
}
const PCAP = '/usr/share/sip-tester/g711a.pcap'

// ---- settings: --flag value, else the environment, else the default ----

const argv = process.argv.slice(2)
const raw = (flag, env) => {
  const index = argv.indexOf(`--${flag}`)
  return index >= 0 && argv[index + 1] !== undefined ? argv[index + 1] : process.env[env]
}
const numberSetting = (flag, env, fallback) => {
  const value = raw(flag, env)
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isFinite(number) || number < 0) throw new Error(`--${flag} / ${env} must be a number, not ${value}`)
  return number
}
const FLOOD_S = numberSetting('flood-s', 'FLOOD_S', 60)
const OPTIONS_RATE = numberSetting('options-rate', 'OPTIONS_RATE', 10_000)
const INVITE_RATE = numberSetting('invite-rate', 'INVITE_RATE', 2000)
const LEGIT_CPS = numberSetting('legit-cps', 'LEGIT_CPS', 50)
const HOLD_S = numberSetting('hold-s', 'HOLD_S', 5)
const LEAD_S = numberSetting('lead-s', 'LEAD_S', 5)
const RECOVERY_S = numberSetting('recovery-s', 'RECOVERY_S', 60)
const RECOVERY_MAX_S = Math.max(RECOVERY_S, numberSetting('recovery-max-s', 'RECOVERY_MAX_S', 300))
const PARTS = new Set((raw('parts', 'PARTS') ?? '1,2').split(',').map((part) => part.trim()))
const RATES = (raw('rates', 'RATES') ?? '100,200,300,400,500,600,800,1000').split(',').map(Number).filter((rate) => rate > 0)
const STEP_S = numberSetting('step-s', 'STEP_S', 10)
const STEP_HOLD_S = numberSetting('step-hold-s', 'STEP_HOLD_S', 2)
const EXTRA_STEPS = numberSetting('extra-steps', 'EXTRA_STEPS', 1)
const OVERLOAD_LAG_MS = raw('overload-lag-ms', 'OVERLOAD_LAG_MS')
const OVERLOAD_TRANSACTIONS = raw('overload-transactions', 'OVERLOAD_TRANSACTIONS')
const OVERLOAD_UTILIZATION = raw('overload-utilization', 'OVERLOAD_UTILIZATION')
const QUIET_WAIT_S = numberSetting('quiet-wait-s', 'QUIET_WAIT_S', 60)
const FLOODER = raw('flooder', 'FLOODER') ?? 'node'
if (FLOODER !== 'sipp' && FLOODER !== 'node') throw new Error(`--flooder / FLOODER is sipp or node, not ${FLOODER}`)
const RTP_MIN = numberSetting('rtp-min', 'RTP_MIN', 40_000)
const RTP_MAX = numberSetting('rtp-max', 'RTP_MAX', 47_999)
const SIPP_MEDIA_PORT = numberSetting('sipp-media-port', 'SIPP_MEDIA_PORT', 50_000)

const TRUNK_IP = '127.0.0.2'
const FLOOD_IP = '127.0.0.3'
const SAMPLE_MS = 250
const MOS_GOAL = 4.3
const SUCCESS_GOAL = 0.99
const RSS_CAP = 300 * 1024 * 1024
const RECOVERY_BAND = 0.2
const TIMEOUT_GOAL = 0.001
/** A call the caller gave up on ends 64·T1 = 32 s after its unacknowledged 200 OK: how long to wait for the last ones. */
const LEFT_UP_WAIT_S = 70

const log = (line = '') => process.stdout.write(`${line}\n`)
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '-')
const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : '-')
const pct = (value, digits = 0) => (Number.isFinite(value) ? `${value.toFixed(digits)}%` : '-')
const verdict = (pass) => (pass ? 'PASS' : 'FAIL')
const int = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-')

// ---- processes, cleaned up on exit and Ctrl-C ----

const homes = []
const daemons = []
const children = new Set()
const admins = new Set()
let stopping = false
const cleanup = () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  for (const admin of admins) admin.close()
  admins.clear()
  for (const daemon of daemons.splice(0)) daemon.stop()
  if (process.env.KEEP !== '1') for (const home of homes.splice(0)) rmSync(home, {recursive: true, force: true})
  else for (const home of homes) log(`kept ${home}`)
}
process.once('SIGINT', () => {
  stopping = true
  log('\ninterrupted: stopping SIPp and the daemons')
  cleanup()
  process.exit(130)
})

/** SIPp in `cwd`, remembered until it exits; `startedAt`/`exitedAt` are performance.now() times. */
const sipp = (args, cwd) => {
  const run = runSipp(args, cwd)
  children.add(run.child)
  const startedAt = performance.now()
  const result = {child: run.child, pid: run.child.pid, startedAt, exitedAt: Number.NaN, exited: false}
  result.done = run.done.then((outcome) => {
    result.exitedAt = performance.now()
    result.exited = true
    children.delete(run.child)
    return outcome
  })
  return result
}

// ---- the gateway ----

/** A daemon in a fresh temporary home: the trunk, the bench's scenarios and the audio SIPp plays. */
const startGateway = async (name, securityExtra = '') => {
  const home = mkdtempSync(join(tmpdir(), `cc-bench-abuse-${name}-`))
  homes.push(home)
  writeFileSync(
    join(home, 'clutchcall.yaml'),
    `sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n` +
      `rtp:\n  address: 127.0.0.1\n  port_min: ${RTP_MIN}\n  port_max: ${RTP_MAX}\n` +
      `metrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\n` +
      `trunks:\n  - { id: carrier, tenant: default, inbound: { cidrs: [${TRUNK_IP}/32] } }\n` +
      `security:\n  trusted_cidrs: []\n${securityExtra}`,
  )
  for (const file of ['flood-options.xml', 'flood-invite.xml', 'uac-hold-pcma.xml', 'uac-hold-pcma-or-503.xml']) copyFileSync(join(scenarios, file), join(home, file))
  writeFileSync(join(home, 'g711a.raw'), rawAudioFromPcap(PCAP))
  const daemon = daemonIn(home)
  const started = daemon.start()
  daemons.push(daemon)
  const admin = await Admin.connect(join(home, 'admin.sock'), `bench-abuse-${name}`)
  admins.add(admin)
  return {home, daemon, admin, pid: started.pid, sipPort: started.sipPort, metricsUrl: started.metricsUrl}
}

const stopGateway = (gw) => {
  gw.admin.close()
  admins.delete(gw.admin)
  gw.daemon.stop()
  daemons.splice(daemons.indexOf(gw.daemon), 1)
}

/** Every CHANNEL_HANGUP_COMPLETE from now on (a second admin connection, so the first stays free for requests). */
const collectHangups = async (gw) => {
  const events = await Admin.connect(join(gw.home, 'admin.sock'), 'bench-abuse-events')
  admins.add(events)
  const hangups = []
  await events.subscribe((event) => {
    if (event.type === 'CHANNEL_HANGUP_COMPLETE') hangups.push(event)
  })
  return {
    hangups,
    close() {
      events.close()
      admins.delete(events)
    },
  }
}

// ---- metrics and /proc ----

const scrape = async (url) => (await fetch(url)).text()
/** The samples of one family: [{labels, value}]. */
const samplesOf = (text, family) =>
  [...text.matchAll(new RegExp(`^${family}(?:\\{([^}]*)\\})? (\\S+)$`, 'gm'))].map((match) => ({
    labels: Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]])),
    value: Number(match[2]),
  }))
/** A family's increase between two scrapes, per label set (keyed by `key(labels)`). */
const increase = (before, after, family, key) => {
  const earlier = new Map(samplesOf(before, family).map((sample) => [key(sample.labels), sample.value]))
  const result = new Map()
  for (const sample of samplesOf(after, family)) {
    const delta = sample.value - (earlier.get(key(sample.labels)) ?? 0)
    if (delta > 0) result.set(key(sample.labels), delta)
  }
  return result
}

/** The kernel's drop counter and receive queue of the UDP socket bound to 127.0.0.1:`port` (/proc/net/udp). */
const udpSocket = (port) => {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 13 || fields[1] !== `0100007F:${hexPort}`) continue
    return {drops: Number(fields[12]), queue: Number.parseInt(fields[4].split(':')[1], 16)}
  }
  return {drops: 0, queue: 0}
}

const processTicks = (pid) => readTicks(`/proc/${pid}/stat`)
/** Nanoseconds the daemon's main thread has waited on a run queue, runnable but not running (/proc/<pid>/task/<pid>/schedstat). */
const mainThreadWaitNs = (pid) => {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[1])
  } catch {
    return Number.NaN
  }
}
/** CPU ticks of the daemon (all threads, and its main thread: SIP, admission, calls), of `others` (their last figure once they exit) and of the machine. */
const cpuSnapshot = (pid, others = [], previous = undefined) => ({
  at: performance.now(),
  daemon: processTicks(pid),
  main: readTicks(`/proc/${pid}/task/${pid}/stat`),
  mainWait: mainThreadWaitNs(pid),
  others: others.map((other, index) => Math.max(processTicks(other), previous?.others[index] ?? 0)),
  machine: machineTicks(),
})
/** % of one core between two snapshots; mainWait: % of the time the main thread was runnable but had no core. */
const cpuBetween = (before, after) => {
  const seconds = (after.at - before.at) / 1000
  const ofCore = (ticks) => (100 * ticks) / CLK_TCK / seconds
  return {
    daemon: ofCore(after.daemon - before.daemon),
    main: ofCore(after.main - before.main),
    mainWait: (100 * (after.mainWait - before.mainWait)) / 1e9 / seconds,
    others: after.others.map((ticks, index) => ofCore(ticks - (before.others[index] ?? 0))),
    machine: (100 * CORES * (after.machine.busy - before.machine.busy)) / Math.max(1, after.machine.total - before.machine.total),
  }
}

/** RSS every SAMPLE_MS, and daemon.status every second, until stopped: [{at, rss}], [{at, status}]. */
const startSampler = (gw) => {
  const rss = []
  const status = []
  let ticks = 0
  let inFlight = false
  const timer = setInterval(() => {
    rss.push({at: performance.now(), rss: rssBytes(gw.pid)})
    if (ticks++ % Math.round(1000 / SAMPLE_MS) !== 0 || inFlight) return
    inFlight = true
    const at = performance.now()
    gw.admin
      .request('daemon.status')
      .then((result) => status.push({at, status: result}))
      .catch(() => {})
      .finally(() => (inFlight = false))
  }, SAMPLE_MS)
  return {rss, status, stop: () => clearInterval(timer)}
}
const within = (samples, from, to) => samples.filter((sample) => sample.at >= from && sample.at <= to)
/** The main isolate's V8 heap from prom-client's default metrics (the media shards' heaps are not in them). */
const heapOf = (text) => ({used: samplesOf(text, 'nodejs_heap_size_used_bytes')[0]?.value ?? Number.NaN, total: samplesOf(text, 'nodejs_heap_size_total_bytes')[0]?.value ?? Number.NaN})
const heapText = (heap) => `${fixed(heap.used / 1024 / 1024, 0)}/${fixed(heap.total / 1024 / 1024, 0)} MB`

const quiet = async () => {
  const waited = await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 3000, busyBelow: 25})
  if (waited.busy >= 25) log(`  (the machine was still ${pct(waited.busy)} busy with other work after waiting ${waited.waitedS.toFixed(0)} s: measuring anyway)`)
  else if (waited.waitedS > 4) log(`  (waited ${waited.waitedS.toFixed(0)} s for other work on the machine to quieten)`)
}

/** Mean, median, 5th percentile and minimum MOS of some CDRs, and how many are under the goal. */
const mosFigures = (cdrs) => {
  const values = cdrs.map((cdr) => cdr.estimated_mos).filter(Number.isFinite).sort((a, b) => a - b)
  const received = cdrs.reduce((sum, cdr) => sum + cdr.packets_received, 0)
  const lost = cdrs.reduce((sum, cdr) => sum + cdr.packets_lost, 0)
  return {
    count: values.length,
    mean: values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length),
    median: median(values),
    p5: percentile(values, 0.05),
    min: values[0] ?? Number.NaN,
    under: values.filter((value) => value < MOS_GOAL).length,
    loss: lost / Math.max(1, received + lost),
    jitter: median(cdrs.map((cdr) => cdr.jitter_ms)),
  }
}
const mosText = (mos) => `mean ${fixed(mos.mean)}, median ${fixed(mos.median)}, p5 ${fixed(mos.p5)}, min ${fixed(mos.min)} (${mos.under} of ${mos.count} under ${MOS_GOAL}); loss ${fixed(mos.loss * 100, 3)}%, jitter median ${fixed(mos.jitter, 1)} ms`

const sippVersion = spawnSync('sipp', ['-v'], {encoding: 'utf8'}).stdout?.match(/v[\d.]+\S*/)?.[0]
if (sippVersion === undefined) {
  log('bench:abuse needs sipp on the PATH (Debian: sip-tester)')
  process.exit(1)
}
log(`bench:abuse — node ${process.version}, ${CORES} cores, SIPp ${sippVersion} on the same machine, ${new Date().toISOString()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
log(`command: ${['npm run bench:abuse', ...(argv.length ? ['--', ...argv] : [])].join(' ')}; FLOOD_S=${FLOOD_S} OPTIONS_RATE=${OPTIONS_RATE} INVITE_RATE=${INVITE_RATE} LEGIT_CPS=${LEGIT_CPS} HOLD_S=${HOLD_S} RECOVERY_S=${RECOVERY_S} PARTS=${[...PARTS].join(',')} RATES=${RATES.join(',')} STEP_S=${STEP_S} STEP_HOLD_S=${STEP_HOLD_S}`)

const goals = []
const goal = (part, text, pass, figure) => {
  goals.push({part, text, pass, figure})
  log(`  ${verdict(pass)}  ${text}: ${figure}`)
}

// ---- (1) the flood ----

/**
 * The flood from FLOOD_IP for FLOOD_S s: two SIPp (FLOODER=sipp) or this
 * script's UDP sender (FLOODER=node). `pids` for the CPU figures; `done`
 * resolves with what was sent, {options, invites}: {count, seconds}.
 */
const startFlood = async (gw) => {
  if (FLOODER === 'node') {
    const child = fork(fileURLToPath(import.meta.url), [FLOODER_FLAG], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
    children.add(child)
    child.send({from: FLOOD_IP, port: gw.sipPort, optionsRate: OPTIONS_RATE, inviteRate: INVITE_RATE, seconds: FLOOD_S})
    const done = new Promise((resolve, reject) => {
      child.once('message', (report) => resolve({options: {count: report.options, seconds: report.seconds}, invites: {count: report.invites, seconds: report.seconds}}))
      child.once('exit', (code) => reject(new Error(`the UDP flooder exited (${code}) without a report`)))
    }).finally(() => children.delete(child))
    return {pids: [child.pid], done}
  }
  const [optionsPort, invitePort, inviteMediaPort] = [await freeUdpPort(), await freeUdpPort(), await freeUdpPort()]
  const optionsFlood = sipp(
    [`127.0.0.1:${gw.sipPort}`, '-sf', 'flood-options.xml', '-s', 'probe', '-i', FLOOD_IP, '-p', String(optionsPort), '-m', String(Math.round(OPTIONS_RATE * FLOOD_S)), '-r', String(OPTIONS_RATE), '-rp', '1000', '-nostdin', '-trace_stat', '-fd', '1', '-timeout', `${FLOOD_S + 20}s`],
    gw.home,
  )
  const inviteFlood = sipp(
    [`127.0.0.1:${gw.sipPort}`, '-sf', 'flood-invite.xml', '-s', '+15557770000', '-i', FLOOD_IP, '-mi', FLOOD_IP, '-p', String(invitePort), '-mp', String(inviteMediaPort), '-m', String(Math.round(INVITE_RATE * FLOOD_S)), '-r', String(INVITE_RATE), '-rp', '1000', '-nostdin', '-trace_stat', '-fd', '1', '-timeout', `${FLOOD_S + 20}s`],
    gw.home,
  )
  const sent = (run, scenario) => {
    const stats = sippStats(gw.home, scenario, run.pid) ?? {}
    return {count: Number(stats.TotalCallCreated ?? stats['OutgoingCall(C)'] ?? Number.NaN), seconds: (run.exitedAt - run.startedAt) / 1000}
  }
  const done = Promise.all([optionsFlood.done, inviteFlood.done]).then(() => ({options: sent(optionsFlood, 'flood-options'), invites: sent(inviteFlood, 'flood-invite')}))
  return {pids: [optionsFlood.pid, inviteFlood.pid], done}
}

const partFlood = async () => {
  log('')
  log(`(1) flood from ${FLOOD_IP} (in no trunk's CIDRs): ${int(OPTIONS_RATE)} OPTIONS/s + ${int(INVITE_RATE)} INVITE/s for ${FLOOD_S} s; meanwhile the trunk ${TRUNK_IP} places ${LEGIT_CPS} calls/s of ${HOLD_S} s with PCMA audio`)
  const gw = await startGateway('flood')
  log(`  daemon pid ${gw.pid}, SIP udp 127.0.0.1:${gw.sipPort}; security: trusted_cidrs [], everything else at its default (rate_limit ${'100'}/s per source, ban 300 s, unknown_sources drop)`)
  await quiet()
  const sampler = startSampler(gw)
  // Idle: the daemon has started and settled; nothing has called it yet.
  await sleep(3000)
  const idleFrom = performance.now()
  await sleep(5000)
  const idleRss = median(within(sampler.rss, idleFrom, performance.now()).map((sample) => sample.rss))
  const heapIdle = heapOf(await scrape(gw.metricsUrl))
  log(`  idle RSS (median of ${within(sampler.rss, idleFrom, performance.now()).length} samples over 5 s, before any call): ${mb(idleRss)}; SIP thread's V8 heap ${heapText(heapIdle)}`)

  const hangups = await collectHangups(gw)
  const legitCalls = Math.round(LEGIT_CPS * (LEAD_S + FLOOD_S))
  const legitPort = await freeUdpPort()
  const legit = sipp(
    [
      `127.0.0.1:${gw.sipPort}`, '-sf', 'uac-hold-pcma.xml', '-s', 'legit', '-i', TRUNK_IP, '-mi', TRUNK_IP, '-p', String(legitPort), '-mp', String(SIPP_MEDIA_PORT),
      '-m', String(legitCalls), '-r', String(LEGIT_CPS), '-d', String(HOLD_S * 1000), '-nostdin', '-trace_stat', '-fd', '1', '-trace_err',
      '-trace_rtt', '-rtt_freq', '1', '-rtp_threadtasks', '50', '-timeout', `${LEAD_S + FLOOD_S + HOLD_S + 120}s`, '-timeout_error',
    ],
    gw.home,
  )
  await sleep(LEAD_S * 1000)
  if (stopping) return

  const metricsBefore = await scrape(gw.metricsUrl)
  const rssBeforeFlood = median(within(sampler.rss, performance.now() - 2000, performance.now()).map((sample) => sample.rss))
  const socketBefore = udpSocket(gw.sipPort)
  const flood = await startFlood(gw)
  const floodFrom = performance.now()
  const cpuBefore = cpuSnapshot(gw.pid, [...flood.pids, legit.pid])
  let cpuLast = cpuBefore
  let queuePeak = 0
  const cpuWatch = setInterval(() => {
    cpuLast = cpuSnapshot(gw.pid, [...flood.pids, legit.pid], cpuLast)
    queuePeak = Math.max(queuePeak, udpSocket(gw.sipPort).queue)
  }, 500)
  const sentFlood = await flood.done
  clearInterval(cpuWatch)
  const floodTo = performance.now()
  const cpu = cpuBetween(cpuBefore, cpuLast)
  const socketAfter = udpSocket(gw.sipPort)
  if (stopping) return

  // After the flood: RSS watched for RECOVERY_S (the legitimate calls still up end meanwhile).
  const metricsFloodEnd = await scrape(gw.metricsUrl)
  const recoveryUntil = floodTo + RECOVERY_S * 1000
  while (performance.now() < recoveryUntil && !stopping) await sleep(500)
  const metricsAfter = await scrape(gw.metricsUrl)
  const legitResult = await legit.done
  const inBand = (rss) => Math.abs(rss - idleRss) <= RECOVERY_BAND * idleRss
  // Not back yet: watched on, up to RECOVERY_MAX_S, to say when it did come back (the goal is judged at RECOVERY_S all the same).
  const backFor = (ms) => {
    const recent = within(sampler.rss, performance.now() - ms, performance.now())
    return recent.length >= ms / SAMPLE_MS - 2 && recent.every((sample) => inBand(sample.rss))
  }
  if (!inBand(sampler.rss.at(-1)?.rss ?? Number.NaN)) {
    const watchUntil = floodTo + RECOVERY_MAX_S * 1000
    while (performance.now() < watchUntil && !stopping && !backFor(5000)) await sleep(1000)
  }
  sampler.stop()
  const metricsWatchEnd = await scrape(gw.metricsUrl)
  const cdrDeadline = Date.now() + 20_000
  const legitHangups = () => hangups.hangups.filter((event) => event.trunk_id === 'carrier')
  while (legitHangups().length < legitCalls && Date.now() < cdrDeadline) await sleep(250)
  hangups.close()

  // The flood as sent and as received.
  const options = {...sentFlood.options, rate: sentFlood.options.count / sentFlood.options.seconds}
  const invites = {...sentFlood.invites, rate: sentFlood.invites.count / sentFlood.invites.seconds}
  log('')
  log(`  flood sent (${FLOODER === 'sipp' ? "SIPp's own count over its wall time" : "this script's UDP sender (FLOODER=node): datagrams the kernel took, over the sending time"}): OPTIONS ${int(options.count)} in ${fixed(options.seconds, 1)} s = ${int(options.rate)}/s (asked ${int(OPTIONS_RATE)}/s); INVITE ${int(invites.count)} in ${fixed(invites.seconds, 1)} s = ${int(invites.rate)}/s (asked ${int(INVITE_RATE)}/s)`)
  const refused = increase(metricsBefore, metricsAfter, 'clutchcall_sip_requests_refused_total', (labels) => `${labels.method}/${labels.reason}`)
  const bans = increase(metricsBefore, metricsAfter, 'clutchcall_security_bans_total', (labels) => labels.reason)
  const refusedTotal = [...refused.values()].reduce((sum, value) => sum + value, 0)
  const kernelDrops = socketAfter.drops - socketBefore.drops
  log(`  what the gateway did with it: ${int(refusedTotal)} requests refused (dropped unanswered): ${[...refused].sort((a, b) => b[1] - a[1]).map(([key, value]) => `${key} ${int(value)}`).join(', ') || 'none'}`)
  log(`    bans: ${[...bans].map(([reason, value]) => `${reason} ${int(value)}`).join(', ') || 'none'}; banned sources now ${samplesOf(metricsAfter, 'clutchcall_security_banned_sources')[0]?.value ?? '-'}; datagrams the kernel dropped at the SIP socket (receive buffer full) ${int(kernelDrops)}, fullest receive queue ${int(queuePeak)} bytes`)
  const floodStatus = within(sampler.status, floodFrom, floodTo)
  const overloadRefusals = increase(metricsBefore, metricsAfter, 'clutchcall_call_attempts_refused_total', (labels) => labels.reason).get('overload') ?? 0
  log(`    SIP transactions held during the flood: max ${int(Math.max(0, ...floodStatus.map((sample) => sample.status.sip.transactions)))} (the legitimate calls' included); overloaded (security.overload): ${floodStatus.filter((sample) => sample.status.sip.overloaded).length} of ${floodStatus.length} status samples, ${int(overloadRefusals)} trunk INVITEs answered 503 for it`)
  log(`  CPU during the flood, % of one core: daemon ${pct(cpu.daemon)} (main thread ${pct(cpu.main)}, and ${pct(cpu.mainWait)} of the time runnable without a core), flooder${flood.pids.length > 1 ? 's' : ''} ${cpu.others.slice(0, -1).map((share) => pct(share)).join(' + ')}, SIPp trunk caller ${pct(cpu.others.at(-1))}, machine ${pct(cpu.machine)} of ${CORES * 100}%`)

  // The legitimate calls.
  const stats = sippStats(gw.home, 'uac-hold-pcma', legit.pid) ?? {}
  const succeeded = Number(stats['SuccessfulCall(C)'] ?? 0)
  const failed = Number(stats['FailedCall(C)'] ?? Number.NaN)
  const retransmissions = Number(stats['Retransmissions(C)'] ?? Number.NaN)
  const rtts = sippRtts(gw.home, 'uac-hold-pcma', legit.pid).map((row) => row.ms).sort((a, b) => a - b)
  const cdrs = legitHangups()
  const completed = cdrs.filter((cdr) => cdr.status === 'completed')
  const mos = mosFigures(completed)
  log(`  legitimate calls: ${int(legitCalls)} placed, ${int(succeeded)} succeeded in SIPp, ${int(failed)} failed (exit ${legitResult.code}), ${int(retransmissions)} retransmissions; INVITE->200 p50 ${fixed(percentile(rtts, 0.5), 0)} ms, p99 ${fixed(percentile(rtts, 0.99), 0)} ms, max ${fixed(rtts.at(-1), 0)} ms`)
  log(`    CDRs: ${completed.length} completed of ${cdrs.length}; MOS ${mosText(mos)}`)
  const errors = sippErrors(gw.home, 'uac-hold-pcma', legit.pid)
  if (errors.length) log(`    SIPp errors: ${errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}`)

  // RSS.
  const floodRss = within(sampler.rss, floodFrom, floodTo).map((sample) => sample.rss)
  const peak = Math.max(...floodRss.filter(Number.isFinite))
  // Back: the first sample from which every later one of the window stays in the band.
  const backAfter = (samples) => {
    let backAt
    for (let index = samples.length - 1; index >= 0 && inBand(samples[index].rss); index--) backAt = samples[index].at
    return backAt === undefined ? Number.NaN : (backAt - floodTo) / 1000
  }
  const after = within(sampler.rss, floodTo, recoveryUntil)
  const recoveredS = backAfter(after)
  const lastRss = after.at(-1)?.rss ?? Number.NaN
  const watched = within(sampler.rss, floodTo, Number.POSITIVE_INFINITY)
  const cameBackS = backAfter(watched)
  const marks = [0, 10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600].filter((s) => s <= (watched.at(-1).at - floodTo) / 1000).map((s) => {
    const sample = watched.find((entry) => entry.at >= floodTo + s * 1000) ?? watched.at(-1)
    return `+${s}s ${mb(sample?.rss)}`
  })
  log(`  RSS: idle ${mb(idleRss)}; with the trunk's calls up, just before the flood ${mb(rssBeforeFlood)}; peak during the flood ${mb(peak)} (VmRSS every ${SAMPLE_MS} ms)`)
  log(`    after the flood: ${marks.join(', ')}; band idle ± ${RECOVERY_BAND * 100}% = ${mb(idleRss * (1 - RECOVERY_BAND))}–${mb(idleRss * (1 + RECOVERY_BAND))}`)
  log(`    back in the band ${Number.isFinite(recoveredS) ? `${fixed(recoveredS, 1)} s after the flood stopped, and stayed there` : `not within ${RECOVERY_S} s (${mb(lastRss)} then)${Number.isFinite(cameBackS) ? `; it came back ${fixed(cameBackS, 0)} s after the flood` : `; not within ${fixed((watched.at(-1).at - floodTo) / 1000, 0)} s either`}`}; the last trunk calls ended about ${fixed(HOLD_S, 0)} s after the flood`)
  log(`    SIP thread's V8 heap (used/total): idle ${heapText(heapIdle)}, before the flood ${heapText(heapOf(metricsBefore))}, at its end ${heapText(heapOf(metricsFloodEnd))}, ${RECOVERY_S} s later ${heapText(heapOf(metricsAfter))}, at the end ${heapText(heapOf(metricsWatchEnd))}`)

  log('')
  goal(1, `legitimate calls succeed >= ${SUCCESS_GOAL * 100}%`, succeeded / legitCalls >= SUCCESS_GOAL, `${fixed((100 * succeeded) / legitCalls, 2)}% (${succeeded} of ${legitCalls})`)
  if (succeeded / legitCalls < SUCCESS_GOAL) {
    log(`        why: of the ${int(legitCalls - succeeded)} calls that did not succeed, ${int(overloadRefusals)} were answered 503 by security.overload (the SIP thread saturated), the others lost to timeouts or errors (SIPp errors above); the kernel dropped ${int(kernelDrops)} datagrams at the SIP socket, the trunk's among the flood's`)
    log(`        the SIP thread ran ${pct(cpu.main)} of a core and waited for one ${pct(cpu.mainWait)} of the time; the machine was ${pct(cpu.machine)} busy of ${CORES * 100}%${cpu.mainWait > 30 ? ': the SIP thread was starved of CPU by everything else on the machine, and even the cheap drops of a banned flood filled its socket' : ''}`)
  }
  goal(1, `mean MOS of the legitimate calls >= ${MOS_GOAL}`, mos.count > 0 && mos.mean >= MOS_GOAL, `${fixed(mos.mean)} over ${mos.count} CDRs (median ${fixed(mos.median)})`)
  goal(1, 'RSS < 300 MB during the flood', peak < RSS_CAP, `peak ${mb(peak)}`)
  goal(1, `RSS back to idle ± ${RECOVERY_BAND * 100}% within ${RECOVERY_S} s of the flood's end`, Number.isFinite(recoveredS), Number.isFinite(recoveredS) ? `${fixed(recoveredS, 1)} s (idle ${mb(idleRss)}, then ${mb(lastRss)})` : `still ${mb(lastRss)} against idle ${mb(idleRss)}`)
  if (!Number.isFinite(recoveredS)) {
    const endStatus = sampler.status.at(-1)?.status
    log(`        what holds it: after the flood the daemon held ${endStatus?.sip.transactions ?? '-'} SIP transactions, ${endStatus?.calls.active ?? '-'} calls and ${endStatus?.sip.bannedSources ?? '-'} ban; the SIP thread's V8 heap had grown from ${heapText(heapIdle)} (used/total) idle to ${heapText(heapOf(metricsFloodEnd))} with the trunk's calls,`)
    log(`        and V8 gives such growth back at its next major GC, not when the load ends (${heapText(heapOf(metricsWatchEnd))} at the end); the rest is outside that heap (the media shards' threads, native buffers), which the metrics do not show`)
  }
  if (Math.min(options.rate / OPTIONS_RATE, invites.rate / INVITE_RATE) < 0.95) log(`  note: the flooder sent less than asked (${int(options.rate)} OPTIONS/s, ${int(invites.rate)} INVITE/s): the goals above were met, or not, under that lesser flood`)
  stopGateway(gw)
}

// ---- (2) overload from the trunk ----

const partOverload = async () => {
  log('')
  const overrides = []
  if (OVERLOAD_LAG_MS !== undefined) overrides.push(`max_event_loop_lag_ms: ${Number(OVERLOAD_LAG_MS)}`)
  if (OVERLOAD_TRANSACTIONS !== undefined) overrides.push(`max_transactions: ${Number(OVERLOAD_TRANSACTIONS)}`)
  if (OVERLOAD_UTILIZATION !== undefined) overrides.push(`max_event_loop_utilization: ${Number(OVERLOAD_UTILIZATION)}`)
  log(`(2) overload from the trunk ${TRUNK_IP} (rate limit exempt, trunk_sources: exempt): calls of ${STEP_HOLD_S} s with PCMA audio at ${RATES.join(', ')} calls/s, ${STEP_S} s each, until the gateway answers 503 (security.overload)`)
  const gw = await startGateway('overload', overrides.length ? `  overload: { ${overrides.join(', ')} }\n` : '')
  log(`  daemon pid ${gw.pid}, SIP udp 127.0.0.1:${gw.sipPort}; security.overload: ${overrides.length ? `${overrides.join(', ')} (set for this bench; the rest at its defaults)` : 'the defaults (max_event_loop_lag_ms 500, max_event_loop_utilization 0.95, max_transactions 100000)'}`)
  await quiet()
  log('   rate  sent   200    503  timeout  other  retrans  INVITE->200 p50/p99 ms  overloaded  daemon CPU (main, main waiting)  machine  SIP socket queue/drops  MOS of the accepted calls                      left up')
  const steps = []
  let stepsAfterTrigger = 0
  for (const rate of RATES) {
    if (stopping) break
    const sampler = startSampler(gw)
    const hangups = await collectHangups(gw)
    const metricsBefore = await scrape(gw.metricsUrl)
    const service = `r${rate}`
    const calls = Math.round(rate * STEP_S)
    const port = await freeUdpPort()
    const run = sipp(
      [
        `127.0.0.1:${gw.sipPort}`, '-sf', 'uac-hold-pcma-or-503.xml', '-s', service, '-i', TRUNK_IP, '-mi', TRUNK_IP, '-p', String(port), '-mp', String(SIPP_MEDIA_PORT),
        '-m', String(calls), '-r', String(rate), '-rp', '1000', '-d', String(STEP_HOLD_S * 1000), '-max_invite_retrans', '4', '-nostdin', '-trace_stat', '-fd', '1',
        '-trace_counts', '-trace_err', '-trace_rtt', '-rtt_freq', '1', '-rtp_threadtasks', '50', '-timeout', `${STEP_S + STEP_HOLD_S + 90}s`, '-timeout_error',
      ],
      gw.home,
    )
    const cpuBefore = cpuSnapshot(gw.pid)
    const socketBefore = udpSocket(gw.sipPort)
    let cpuLast = cpuBefore
    let queuePeak = 0
    const cpuWatch = setInterval(() => {
      cpuLast = cpuSnapshot(gw.pid)
      queuePeak = Math.max(queuePeak, udpSocket(gw.sipPort).queue)
    }, 500)
    const result = await run.done
    clearInterval(cpuWatch)
    const cpu = cpuBetween(cpuBefore, cpuLast)
    const kernelDrops = udpSocket(gw.sipPort).drops - socketBefore.drops
    // Calls the daemon still has up once SIPp is done were abandoned by the caller: they must end by themselves (no ACK: 64·T1).
    const leftAtExit = (await gw.admin.request('daemon.status')).calls.active
    const idle = await gw.admin.waitForIdle(LEFT_UP_WAIT_S * 1000)
    const leftAfter = idle ? 0 : await gw.admin.active()
    sampler.stop()
    const metricsAfter = await scrape(gw.metricsUrl)
    hangups.close()

    const counts = sippCounts(gw.home, 'uac-hold-pcma-or-503', run.pid)
    const stats = sippStats(gw.home, 'uac-hold-pcma-or-503', run.pid) ?? {}
    const sentInvites = counts['0_INVITE_Sent'] ?? 0
    const ok = counts['5_200_Recv'] ?? 0
    const refused503 = counts['4_503_Recv'] ?? 0
    const timeouts = counts['0_INVITE_Timeout'] ?? 0
    const failedCalls = Number(stats['FailedCall(C)'] ?? 0)
    const retrans = counts['0_INVITE_Retrans'] ?? 0
    const rtts = sippRtts(gw.home, 'uac-hold-pcma-or-503', run.pid).map((row) => row.ms).sort((a, b) => a - b)
    const overloadedS = within(sampler.status, 0, Number.POSITIVE_INFINITY).filter((sample) => sample.status.sip.overloaded).length
    const statusSamples = sampler.status.length
    const cdrs = hangups.hangups.filter((event) => event.to_number === service)
    const accepted = cdrs.filter((cdr) => cdr.status === 'completed')
    const mos = mosFigures(accepted)
    const overloadRefusals = [...increase(metricsBefore, metricsAfter, 'clutchcall_call_attempts_refused_total', (labels) => labels.reason)].find(([reason]) => reason === 'overload')?.[1] ?? 0
    const step = {rate, sentInvites, ok, refused503, timeouts, other: Math.max(0, failedCalls - timeouts), retrans, rtts, overloadedS, statusSamples, cpu, mos, leftAtExit, leftAfter, overloadRefusals, kernelDrops, queuePeak, code: result.code, errors: sippErrors(gw.home, 'uac-hold-pcma-or-503', run.pid)}
    steps.push(step)
    log(
      `  ${String(rate).padStart(5)} ${String(sentInvites).padStart(5)} ${String(ok).padStart(5)} ${String(refused503).padStart(6)} ${String(timeouts).padStart(8)} ${String(step.other).padStart(6)} ${String(retrans).padStart(8)}  ${`${fixed(percentile(rtts, 0.5), 0)}/${fixed(percentile(rtts, 0.99), 0)}`.padStart(21)}  ` +
        `${`${overloadedS} of ${statusSamples} s`.padStart(10)}  ${`${pct(cpu.daemon)} (${pct(cpu.main)}, ${pct(cpu.mainWait)})`.padStart(30)}  ${pct(cpu.machine).padStart(7)}  ${`${int(queuePeak / 1024)} KB/${int(kernelDrops)}`.padStart(22)}  ${`${fixed(mos.mean)} mean, ${fixed(mos.min)} min, ${mos.under} < ${MOS_GOAL} of ${mos.count}`.padEnd(45)}  ${leftAtExit}${leftAfter > 0 ? ` (${leftAfter} after ${LEFT_UP_WAIT_S} s)` : ''}`,
    )
    if (step.errors.length && (timeouts > 0 || step.other > 0)) log(`         SIPp errors: ${step.errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}`)
    // Overload has set in: EXTRA_STEPS more rates, deeper into it, then stop.
    if (refused503 > 0 || overloadRefusals > 0) stepsAfterTrigger++
    if (stepsAfterTrigger > EXTRA_STEPS) break
  }
  log('  (sent: INVITEs placed; 200/503: final answers SIPp got; timeout: INVITEs that got no final answer after 4 retransmissions; other: calls that failed otherwise, e.g. a 503 without Retry-After;')
  log('   overloaded: daemon.status samples, one a second, with sip.overloaded; main waiting: time the main thread was runnable but had no core; SIP socket queue/drops: the fullest')
  log('   receive queue of the SIP socket and the datagrams the kernel dropped there; left up: calls the daemon still had when SIPp was done, which must end by themselves)')
  const trigger = steps.find((step) => step.refused503 > 0 || step.overloadRefusals > 0)
  log('')
  if (trigger === undefined) {
    const last = steps.at(-1)
    goal(2, 'security.overload answers 503 to the excess', false, `no 503 up to ${last?.rate ?? '-'} calls/s (timeouts ${last?.timeouts ?? '-'}, INVITE->200 p99 ${fixed(percentile(last?.rtts ?? [], 0.99), 0)} ms): raise RATES, or lower OVERLOAD_UTILIZATION / OVERLOAD_LAG_MS / OVERLOAD_TRANSACTIONS`)
  } else {
    // The step where overload set in and those beyond it: each is held to the goals.
    const overloaded = steps.slice(steps.indexOf(trigger))
    const sum = (key) => overloaded.reduce((total, step) => total + step[key], 0)
    const moses = overloaded.map((step) => step.mos)
    const acceptedCount = moses.reduce((total, mos) => total + mos.count, 0)
    const accepted = {
      count: acceptedCount,
      mean: moses.reduce((total, mos) => total + mos.mean * mos.count, 0) / Math.max(1, acceptedCount),
      min: Math.min(...moses.map((mos) => mos.min)),
      under: moses.reduce((total, mos) => total + mos.under, 0),
    }
    log(`  overload set in at ${trigger.rate} calls/s: ${trigger.refused503} INVITEs answered 503 (the daemon counted ${trigger.overloadRefusals} refusals for overload), ${trigger.ok} answered 200, ${trigger.timeouts} timed out${overloaded.length > 1 ? `; the goals below cover that step and ${overloaded.length - 1} beyond it (${overloaded.map((step) => step.rate).join(', ')} calls/s)` : ''}`)
    goal(2, 'security.overload answers 503 with Retry-After to the excess', sum('refused503') > 0 && sum('other') === 0, `${sum('refused503')} × 503, all with Retry-After${sum('other') > 0 ? ` (but ${sum('other')} calls failed otherwise)` : ''}`)
    goal(2, `INVITEs timed out <= ${TIMEOUT_GOAL * 100}% of those sent (the excess answered, not dropped)`, sum('timeouts') <= TIMEOUT_GOAL * sum('sentInvites'), `${sum('timeouts')} of ${sum('sentInvites')} (${fixed((100 * sum('timeouts')) / Math.max(1, sum('sentInvites')), 2)}%), ${sum('retrans')} INVITE retransmissions`)
    goal(2, `mean MOS of the accepted calls >= ${MOS_GOAL}`, accepted.count > 0 && accepted.mean >= MOS_GOAL, `${fixed(accepted.mean)} over ${accepted.count} calls, min ${fixed(accepted.min)}, ${accepted.under} under ${MOS_GOAL}`)
  }
  const leaked = steps.filter((step) => step.leftAfter > 0)
  goal(2, `no call left up in the daemon ${LEFT_UP_WAIT_S} s after SIPp is done`, leaked.length === 0, leaked.length === 0 ? `every step: 0 (at SIPp's end up to ${Math.max(...steps.map((step) => step.leftAtExit))} still ending)` : leaked.map((step) => `${step.leftAfter} at ${step.rate} calls/s`).join(', '))
  stopGateway(gw)
}

try {
  if (PARTS.has('1')) await partFlood()
  if (PARTS.has('2') && !stopping) await partOverload()
} finally {
  if (!stopping) cleanup()
}
log('')
log(`summary: ${goals.filter((entry) => entry.pass).length} of ${goals.length} goals met`)
for (const entry of goals) log(`  (${entry.part}) ${verdict(entry.pass)}  ${entry.text}: ${entry.figure}`)
process.exitCode = goals.every((entry) => entry.pass) ? 0 : 1
