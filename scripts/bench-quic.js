#!/usr/bin/env node
// Benchmark: the SDK over QUIC against a daemon in a temporary home (quic on,
// a JWT issuer made here), with the test suite's QUIC client (dist/test/
// helpers/quic-client.js, on the same library). Measures, on loopback:
//   - QUIC handshake time as the client sees it (Initial, Retry, Initial with
//     token, established), HANDSHAKES sequential handshakes, p50/p99; and the
//     daemon's own histogram (clutchcall_quic_handshake_seconds{result="ok"}) over them;
//   - the round trip of call.create (request frame on a new stream to its
//     response), CALLS sequential calls, each hung up before the next.
//   - concurrent QUIC calls with audio (QUIC_LEVELS, default 100,200,300):
//     that many clients in this process, each with one call and a 20 ms PCMU
//     tone in datagrams, held HOLD_S seconds; calls held, echoed audio, MOS
//     and loss from the calls' CHANNEL_HANGUP_COMPLETE (the QUIC leg's CDR),
//     and the daemon's CPU per call-second over the hold; and the datagrams the
//     kernel dropped over the level (ramp and hold) at the gateway's QUIC socket
//     (lost audio in the QUIC leg's CDR) and at the SIPp callee's echo socket
//     (bridged: echo that never comes back, not in that CDR).
//   - the SIP reference of the same run (SIP_LEVELS, default QUIC_LEVELS):
//     SIPp places that many PCMA calls and holds them HOLD_S seconds
//     (scripts/lib/hold.js, as `bench:calls` part a); the daemon's CPU per
//     call-second over that hold is a SIP call's cost, and each QUIC level
//     prints its ratio to the SIP level of the same size (goal: <= 1.5x).
//     SIP_LEVELS= (empty) skips it.
// MODE says where the calls go, both kinds alike:
//   bridged (default): to a SIPp callee that echoes RTP (-rtp_echo), through
//     a trunk: QUIC client -> gateway -> SIPp (PCMU, bench/scenarios/
//     uas-echo-pcmu.xml) against SIPp -> gateway -> SIPp (PCMA, uas-echo-
//     pcma.xml). Each call is one client-facing leg and one B-leg on the
//     daemon, neither transcoded, so the ratio is the QUIC leg's cost against
//     a SIP leg's: like for like.
//   echo: to the gateway's own echo dialplan. A QUIC call's B-leg is then an
//     INVITE to the same daemon, so each QUIC call is two calls there (the
//     SDK call and the inbound SIP call that echoes), against a SIP call's
//     one: the ratio includes a whole extra call.
// The daemon runs without overload control (as bench:calls part s): this
// measures media (bench:abuse measures admission), and in echo mode each QUIC
// call's B-leg is an INVITE to the same daemon, which overload control
// refuses with 503 whenever the busy SIP thread lags during the ramp.
// KEEP=1 keeps the temporary home (the daemon's log, SIPp's files).
// Needs `npm run build` first. QUIC_LEVELS= (empty) skips the concurrent calls.
import {copyFileSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {exportJWK, generateKeyPair, SignJWT} from 'jose'
import {Admin} from './lib/admin.js'
import {bridgeConfig} from './lib/bridge-config.js'
import {daemonIn} from './lib/daemon.js'
import {holdLevel} from './lib/hold.js'
import {freeUdpPort, rawAudioFromPcap, runSipp} from './lib/sipp.js'
import {CLK_TCK, CORES, percentile, readTicks, sleep, waitForQuietMachine} from './lib/measure.js'
import {dropTracker} from './lib/proc.js'

const HANDSHAKES = Number(process.env.HANDSHAKES ?? 200)
const CALLS = Number(process.env.CALLS ?? 100)
const QUIET_WAIT_S = Number(process.env.QUIET_WAIT_S ?? 60)
const QUIC_LEVELS = (process.env.QUIC_LEVELS ?? '100,200,300').split(',').filter(Boolean).map(Number)
const HOLD_S = Number(process.env.HOLD_S ?? 20)
const SIP_LEVELS = (process.env.SIP_LEVELS ?? QUIC_LEVELS.join(',')).split(',').filter(Boolean).map(Number)
const MOS_GOAL = 4.3
/** The daemon's RTP ports (SIP legs only: a QUIC leg binds none), and SIPp's first media port outside them. */
const RTP_MIN = 10_000
const RTP_MAX = 17_999
const SIPP_MEDIA_PORT = 20_000
const RATIO_GOAL = 1.5
const MODE = process.env.MODE ?? 'bridged'
if (MODE !== 'bridged' && MODE !== 'echo') throw new Error(`MODE: bridged or echo, not "${MODE}"`)
const BRIDGED = MODE === 'bridged'
/** Calls on the daemon per QUIC call: in echo mode its B-leg comes back to the same daemon as an inbound call. */
const DAEMON_CALLS_PER_QUIC_CALL = BRIDGED ? 1 : 2
/** Called numbers (bridged): the SIP reference's, routed by the inbound trunk to the PCMA callee, and the QUIC calls'. */
const SIP_SERVICE = '+18880000000'
const QUIC_SERVICE = '+18880000001'
const TENANT = BRIDGED ? 'bench' : 'default'
/** The SIPp callees' media ports (bridged): one echo port each. */
const CALLEE_MEDIA = {pcma: 36_000, pcmu: 38_000}

const {QuicSdkClient} = await import('../dist/test/helpers/quic-client.js')

const {privateKey, publicKey} = await generateKeyPair('ES256', {extractable: true})
const jwk = {...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig'}
const token = () =>
  new SignJWT({tenant: TENANT}).setProtectedHeader({alg: 'ES256', kid: 'bench'}).setIssuedAt().setIssuer('https://bench/').setAudience('clutchcall').setExpirationTime('10m').sign(privateKey)

const home = mkdtempSync(join(tmpdir(), 'cc-bench-quic-'))
const scenarios = join(fileURLToPath(new URL('..', import.meta.url)), 'bench', 'scenarios')
for (const file of ['uac-hold-pcma.xml', 'uas-echo-pcma.xml', 'uas-echo-pcmu.xml']) copyFileSync(join(scenarios, file), join(home, file))
const callees = []
/** call.create's parameters: the PCMU callee through its trunk (bridged), or the gateway's own echo. */
const destination = (sipPort) => (BRIDGED ? {to: QUIC_SERVICE, trunk: 'callee-pcmu'} : {to: `sip:echo@127.0.0.1:${sipPort}`})
/** Bridged: a SIPp callee per codec, each echoing every RTP packet it gets; the config's trunks to them. */
const bridgedConfig = async () => {
  const ports = {}
  for (const codec of ['pcma', 'pcmu']) {
    ports[codec] = await freeUdpPort()
    const callee = runSipp(['-sf', `uas-echo-${codec}.xml`, '-i', '127.0.0.1', '-p', String(ports[codec]), '-mi', '127.0.0.1', '-mp', String(CALLEE_MEDIA[codec]), '-rtp_echo', '-nostdin', '-trace_err'], home)
    callees.push(callee.child)
  }
  return bridgeConfig({service: SIP_SERVICE, callees: [{id: 'callee-pcma', port: ports.pcma}, {id: 'callee-pcmu', port: ports.pcmu}], overload: false})
}
/** The callees go when the script does, however it ends (a media port left held fails the next run's callee). */
const stopCallees = () => {
  for (const callee of callees) callee.kill('SIGKILL')
}
process.once('exit', stopCallees)
writeFileSync(
  join(home, 'clutchcall.yaml'),
  `metrics:\n  listen: 127.0.0.1:0\nsip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\nrtp:\n  address: 127.0.0.1\n  port_min: ${RTP_MIN}\n  port_max: ${RTP_MAX}\ntracing:\n  enabled: false\ncdr:\n  enabled: false\n` +
    (BRIDGED ? await bridgedConfig() : 'security:\n  overload: { enabled: false }\n') +
    `quic:\n  enabled: true\n  listen: 127.0.0.1:0\n  limits: { max_connections_per_source: ${Math.max(100, ...QUIC_LEVELS) + 10} }\nauth:\n  jwt: ${JSON.stringify({keys: [jwk], issuer: 'https://bench/', audience: 'clutchcall', algorithms: ['ES256']})}\n`,
)
writeFileSync(join(home, 'g711a.raw'), rawAudioFromPcap('/usr/share/sip-tester/g711a.pcap'))
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

/** `level` clients, each holding one call (to the callee of MODE) with a 20 ms tone, for HOLD_S seconds. */
const concurrentCalls = async (level, port, sha256, sipPort, daemonPid) => {
  const admin = await Admin.connect(join(home, 'admin.sock'), 'bench-quic')
  const cdrs = new Map()
  await admin.subscribe((event) => {
    if (event.type === 'CHANNEL_HANGUP_COMPLETE' && event.direction === 'outbound') cdrs.set(event.call_sid, event)
  })
  const clients = []
  const sids = []
  // A client whose handshake, session.open or call.create fails (refused, or its connection closed on a loaded
  // machine) is counted and the level goes on without it: the level then fails on the calls it holds.
  const setupFailures = new Map()
  const quicDrops = dropTracker(port, port)
  const calleeDrops = BRIDGED ? dropTracker(CALLEE_MEDIA.pcmu, CALLEE_MEDIA.pcmu) : undefined
  const setUp = async (index) => {
    const {client} = await QuicSdkClient.connect(port, {sha256})
    clients.push(client)
    const opened = await client.open(await token())
    if (opened.kind !== 'response') throw new Error(`session.open refused: ${JSON.stringify(opened.payload)}`)
    client.startTone()
    const created = await client.request('call.create', destination(sipPort))
    if (created.kind !== 'response') throw new Error(`call.create ${index + 1} refused: ${JSON.stringify(created.payload)}`)
    sids.push({sid: created.payload.call_sid, client})
  }
  try {
    for (let index = 0; index < level; index++) {
      try {
        await setUp(index)
      } catch (error) {
        const reason = String(error?.message ?? error).replace(/call\.create \d+ /, 'call.create ')
        setupFailures.set(reason, (setupFailures.get(reason) ?? 0) + 1)
      }
    }
    const upDeadline = Date.now() + 30_000
    while ((await admin.active()) < DAEMON_CALLS_PER_QUIC_CALL * level && Date.now() < upDeadline) await sleep(500)
    const ticksBefore = readTicks(`/proc/${daemonPid}/stat`)
    const toneBefore = clients.reduce((sum, client) => sum + client.receivedTone, 0)
    const sentBefore = clients.reduce((sum, client) => sum + client.sentTone, 0)
    const unsentBefore = clients.reduce((sum, client) => sum + client.unsentTone, 0)
    const start = performance.now()
    const clientCpuBefore = process.cpuUsage()
    const samples = []
    while (performance.now() - start < HOLD_S * 1000) {
      samples.push(Math.floor((await admin.active()) / DAEMON_CALLS_PER_QUIC_CALL))
      await sleep(1000)
    }
    const seconds = (performance.now() - start) / 1000
    const clientCpu = process.cpuUsage(clientCpuBefore)
    const daemonSeconds = (readTicks(`/proc/${daemonPid}/stat`) - ticksBefore) / CLK_TCK
    const echoed = clients.reduce((sum, client) => sum + client.receivedTone, 0) - toneBefore
    const sent = clients.reduce((sum, client) => sum + client.sentTone, 0) - sentBefore
    const unsent = clients.reduce((sum, client) => sum + client.unsentTone, 0) - unsentBefore
    for (const client of clients) client.stopTone()
    const kernelDrops = {quic: quicDrops.stop(), callee: calleeDrops?.stop()}
    await Promise.all(sids.map(({sid, client}) => client.request('call.hangup', {call_sid: sid}).catch(() => undefined)))
    const cdrDeadline = Date.now() + 20_000
    while (sids.some(({sid}) => !cdrs.has(sid)) && Date.now() < cdrDeadline) await sleep(200)
    const ours = sids.map(({sid}) => cdrs.get(sid)).filter(Boolean)
    const mos = ours.map((cdr) => cdr.estimated_mos)
    const received = ours.reduce((sum, cdr) => sum + cdr.packets_received, 0)
    const lost = ours.reduce((sum, cdr) => sum + cdr.packets_lost, 0)
    const held = samples.length > 0 ? Math.min(...samples) : 0
    const meanMos = mos.reduce((sum, value) => sum + value, 0) / Math.max(1, mos.length)
    const callSeconds = (samples.reduce((sum, value) => sum + value, 0) / Math.max(1, samples.length)) * seconds
    return {
      level, held, setupFailures: [...setupFailures].map(([reason, count]) => `${count}× ${reason}`), cdrs: ours.length, notCompleted: ours.filter((cdr) => cdr.status !== 'completed').length,
      echoShare: echoed / Math.max(1, sent), unsentShare: unsent / Math.max(1, sent + unsent), meanMos, minMos: mos.length > 0 ? Math.min(...mos) : Number.NaN, loss: lost / Math.max(1, received + lost),
      kernelDrops,
      daemonCpu: (100 * daemonSeconds) / seconds, clientCpu: (clientCpu.user + clientCpu.system) / 1e4 / seconds, cpuPerCallSecond: daemonSeconds / Math.max(1, callSeconds),
      pass: held >= level && ours.length >= level && meanMos >= MOS_GOAL,
    }
  } finally {
    // Their sampling timers go however the level ends (stop() again after a normal end only samples once more).
    quicDrops.stop()
    calleeDrops?.stop()
    await Promise.all(clients.map((client) => client.close()))
    await admin.waitForIdle(30_000)
    admin.close()
  }
}

try {
  await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 1000, busyBelow: 25})
  const {result, sipPort, metricsUrl, pid: daemonPid} = daemon.start()
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
    const created = await client.request('call.create', destination(sipPort))
    rtts.push(performance.now() - start)
    if (created.kind !== 'response') throw new Error(`call.create refused: ${JSON.stringify(created.payload)}`)
    const ended = await client.request('call.hangup', {call_sid: created.payload.call_sid})
    if (ended.kind !== 'response') throw new Error(`call.hangup refused: ${JSON.stringify(ended.payload)}`)
  }
  await client.close()
  const levels = []
  for (const level of QUIC_LEVELS) levels.push(await concurrentCalls(level, port, sha256, sipPort, daemonPid))
  // The SIP reference: the same daemon's echo, called by SIPp.
  const sipLevels = new Map()
  const running = new Set()
  const admin = await Admin.connect(join(home, 'admin.sock'), 'bench-quic-sip')
  try {
    for (const level of SIP_LEVELS) {
      const entry = await holdLevel({
        level, holdS: HOLD_S, rampCps: 100, target: `127.0.0.1:${sipPort}`, service: BRIDGED ? SIP_SERVICE : 'bench', cwd: home, sippMediaPort: SIPP_MEDIA_PORT,
        gateways: [{pid: daemonPid, admin, adminSocket: join(home, 'admin.sock'), metricsUrl, rtpMin: RTP_MIN, rtpMax: RTP_MAX}],
        shards: CORES, running, isStopping: () => false,
      })
      sipLevels.set(level, entry)
    }
  } finally {
    for (const child of running) child.kill('SIGKILL')
    admin.close()
  }
  const sipPerCallSecond = (level) => sipLevels.get(level)?.gateways[0].cpuPerCallSecond
  const observed = after.count - before.count
  process.stdout.write(
    `bench:quic on ${CORES} cores, loopback, client and daemon on this machine; MODE=${MODE}: ${BRIDGED ? 'calls bridged to a SIPp callee that echoes (QUIC PCMU, SIP PCMA, no transcoding)' : "calls to the gateway's own echo (a QUIC call is two calls on the daemon)"}\n` +
      `  handshake (client):            ${summary(handshakes)}\n` +
      `  handshake (daemon histogram):  ${observed} observed, mean ${observed > 0 ? (((after.sum - before.sum) / observed) * 1000).toFixed(2) : 'n/a'} ms\n` +
      `  RPC round trip (call.hangup of no call): ${summary(plain)}\n` +
      `  call.create round trip:        ${summary(rtts)}\n` +
      levels
        .map(
          (entry) =>
            `  ${String(entry.level).padStart(4)} QUIC calls with audio: held ${entry.held}/${entry.level}, ${entry.cdrs} CDR(s) (${entry.notCompleted} not completed), echoed ${(entry.echoShare * 100).toFixed(1)} % of the tone (${(entry.unsentShare * 100).toFixed(2)} % refused by the clients' own QUIC), ` +
            `MOS mean ${entry.meanMos.toFixed(2)} min ${entry.minMos.toFixed(2)}, loss ${(entry.loss * 100).toFixed(2)} %, daemon ${entry.daemonCpu.toFixed(0)} % of a core (the clients' process ${entry.clientCpu.toFixed(0)} %), ` +
            `${(entry.cpuPerCallSecond * 1000).toFixed(2)} ms CPU per call-second${entry.pass ? '' : ` — goal (all held, MOS ≥ ${MOS_GOAL}) not met`}` +
            `; kernel drops: the gateway's QUIC socket ${entry.kernelDrops.quic}${entry.kernelDrops.callee === undefined ? '' : `, the SIPp callee's echo socket ${entry.kernelDrops.callee}`}` +
            (entry.setupFailures.length > 0 ? ` [calls not set up: ${entry.setupFailures.join('; ')}]` : '') +
            (sipPerCallSecond(entry.level) === undefined
              ? '\n'
              : `; ${(entry.cpuPerCallSecond / sipPerCallSecond(entry.level)).toFixed(2)}× the SIP level's (goal ≤ ${RATIO_GOAL}×)\n`),
        )
        .join('') +
      [...sipLevels.values()]
        .map(
          (entry) =>
            `  ${String(entry.level).padStart(4)} SIP calls (SIPp, PCMA, ${BRIDGED ? 'bridged to the SIPp echo' : "same daemon's echo"}): held ${entry.held}/${entry.level}, failed ${entry.failed}, MOS mean ${entry.gateways[0].meanMos.toFixed(2)}, ` +
            `loss ${(entry.gateways[0].loss * 100).toFixed(2)} %, ${(entry.gateways[0].cpuPerCallSecond * 1000).toFixed(2)} ms CPU per call-second${entry.pass ? '' : ' (the level did not pass: its CPU is of degraded calls)'}\n`,
        )
        .join(''),
  )
} finally {
  daemon.stop()
  // Their stderr pipes would keep this process up: they are stopped here, not only at exit.
  stopCallees()
  if (process.env.KEEP !== '1') rmSync(home, {recursive: true, force: true})
}
