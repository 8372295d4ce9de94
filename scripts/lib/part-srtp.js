// bench:calls part s: concurrent calls with TLS signalling and SRTP media,
// against the same path with plain UDP and RTP, in the same run.
//
// Debian's SIPp (3.6.1) has neither TLS nor SRTP, so SIPp cannot be the SRTP
// peer. Two daemons, each in its own temporary home, make the encrypted hop:
//
//   SIPp --UDP, RTP PCMA--> gateway A --trunk--> gateway B (echo dialplan)
//
// A bridges each of SIPp's calls to B through one of two trunks, chosen by
// the called number: `b-srtp` (sip:…;transport=tls, media_encryption:
// required: SIP over TLS, SRTP between A and B) or `b-plain` (UDP, RTP).
// B answers both on its built-in echo dialplan, so every packet SIPp sends
// is relayed by A to B, echoed by B, relayed back by A: on the SRTP path A
// encrypts and decrypts once per packet each way, B decrypts and encrypts.
// Both ends of the SRTP link are ours; our SRTP against libsrtp is proven by
// the baresip tests (test/integration/daemon/sip/srtp.test.ts).
//
// Each level runs both modes (their order alternates from level to level, so
// a machine getting busier does not always hit the same one), and prints
// calls held, MOS and loss from both gateways' CDRs, CPU per daemon and the
// ratio SRTP/plain of daemon CPU per call-second. The ramp stops at the
// first level where the SRTP calls fail (MOS < 4.3 or loss >= 0.1 % at
// either gateway, or calls not held), unless S_STOP_ON_FAIL=0.
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Admin} from './admin.js'
import {daemonIn} from './daemon.js'
import {holdLevel, LOSS_GOAL, MOS_GOAL} from './hold.js'
import {CORES, median, waitForQuietMachine} from './measure.js'
import {rawAudioFromPcap} from './sipp.js'
import {partTeardown} from './teardown.js'

/** What each mode dials: A's inbound trunk for the number picks the trunk to B. */
export const SRTP_MODES = {
  plain: {service: '+16660000000', label: 'UDP + RTP'},
  srtp: {service: '+15550000000', label: 'TLS + SRTP'},
  tls: {service: '+17770000000', label: 'TLS + RTP'},
}

const pct = (value) => `${value.toFixed(0)}%`
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '-')
const ms = (seconds) => `${fixed(seconds * 1000)}`
const ratioText = (value) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : '-')

/** A CA and one certificate it signed for 127.0.0.1, both gateways' (listener and client), made by openssl in `dir`. */
const makeCertificates = (dir) => {
  mkdirSync(dir)
  const openssl = (args) => execFileSync('openssl', args, {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']})
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']
  openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench:calls CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  writeFileSync(join(dir, 'gateway.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n')
  openssl(['req', '-new', ...ec, '-keyout', 'gateway.key', '-out', 'gateway.csr', '-subj', '/CN=127.0.0.1'])
  openssl(['x509', '-req', '-in', 'gateway.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'gateway.ext', '-out', 'gateway.crt'])
  return {ca: join(dir, 'ca.crt'), cert: join(dir, 'gateway.crt'), key: join(dir, 'gateway.key')}
}

const commonYaml = ({rtpMin, rtpMax, shards, certs}) =>
  'sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n    - { transport: tls, address: 127.0.0.1, port: 0 }\n' +
  `  tls: { cert: ${certs.cert}, key: ${certs.key} }\n` +
  `rtp:\n  address: 127.0.0.1\n  port_min: ${rtpMin}\n  port_max: ${rtpMax}\n  shards: ${shards}\n` +
  'metrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\n' +
  // This part measures media, not admission: on a shared machine whose other load starves the SIP thread for a
  // moment, overload control would refuse some of the ramp's INVITEs with 503 (part b and bench:abuse measure that).
  'security:\n  overload:\n    enabled: false\n'

/** B: the echo, with one inbound trunk per mode (the number says which, and with it whether SRTP is required). */
const yamlOfB = (options) =>
  `${commonYaml(options)}tenants:\n  - { id: echo, dialplan: default }\ntrunks:\n` +
  `  - { id: from-a-plain, tenant: echo, inbound: { cidrs: [127.0.0.1/32], numbers: ["${SRTP_MODES.plain.service}"] } }\n` +
  `  - { id: from-a-srtp, tenant: echo, media_encryption: required, inbound: { cidrs: [127.0.0.1/32], numbers: ["${SRTP_MODES.srtp.service}"] } }\n` +
  `  - { id: from-a-tls, tenant: echo, inbound: { cidrs: [127.0.0.1/32], numbers: ["${SRTP_MODES.tls.service}"] } }\n`

/** A: SIPp's calls come in on a trunk per mode, whose tenant's dialplan bridges them to B through that mode's trunk. */
const yamlOfA = (options, b) => {
  const outbound = {
    plain: `{ uri: "sip:127.0.0.1:${b.udpPort}" }`,
    srtp: `{ uri: "sip:127.0.0.1:${b.tlsPort};transport=tls", tls: { ca: ${options.certs.ca} } }`,
    tls: `{ uri: "sip:127.0.0.1:${b.tlsPort};transport=tls", tls: { ca: ${options.certs.ca} } }`,
  }
  let yaml = `${commonYaml(options)}tenants:\n`
  for (const mode of Object.keys(SRTP_MODES)) yaml += `  - { id: ${mode}, dialplan: to-b-${mode} }\n`
  yaml += 'trunks:\n'
  for (const [mode, {service}] of Object.entries(SRTP_MODES)) {
    yaml += `  - { id: sipp-${mode}, tenant: ${mode}, inbound: { cidrs: [127.0.0.1/32], numbers: ["${service}"] } }\n`
    yaml += `  - { id: b-${mode}, tenant: ${mode}, media_encryption: ${mode === 'srtp' ? 'required' : 'none'}, outbound: ${outbound[mode]} }\n`
  }
  yaml += 'dialplans:\n'
  for (const mode of Object.keys(SRTP_MODES)) {
    yaml += `  to-b-${mode}:\n    start: bridge\n    nodes:\n`
    yaml += `      bridge: { type: bridge, trunk: b-${mode}, timeout_s: 30, next: { answered: bye, failed: failed } }\n`
    yaml += '      failed: { type: hangup, cause: 41 }\n      bye: { type: hangup, cause: 16 }\n'
  }
  return yaml
}

const lagText = (lag) => {
  const worst = lag.reduce((most, shard) => (Number.isFinite(shard.value) && shard.value > most ? shard.value : most), 0)
  const over = lag.find((shard) => shard.over && shard.over.share > 0.01)
  return over ? `>${fixed(over.over.le / 1000, 0)}` : fixed(worst / 1000, 1)
}

/**
 * Runs part s. `options`: levels, modes (['plain', 'srtp'] by default), holdS, rampCps, shards ('auto' or a
 * number), rtpA/rtpB ([min, max] of each daemon's RTP range), sippMediaPort, quietWaitS, noisyRetries, stopOnFail
 * (true: the ramp ends at the first level where SRTP fails; false: every level runs, for the CPU figures), keep, pcap
 * (SIPp's g711a.pcap), scenarios (the folder of uac-hold-pcma.xml), log.
 */
export const runSrtpPart = async (options) => {
  const {levels, modes, holdS, rampCps, shards, rtpA, rtpB, sippMediaPort, quietWaitS, noisyRetries, stopOnFail = true, keep, pcap, scenarios, log} = options
  const home = mkdtempSync(join(tmpdir(), 'cc-bench-srtp-'))
  const homeA = join(home, 'a')
  const homeB = join(home, 'b')
  mkdirSync(homeA)
  mkdirSync(homeB)
  const certs = makeCertificates(join(home, 'tls'))
  copyFileSync(join(scenarios, 'uac-hold-pcma.xml'), join(home, 'uac-hold-pcma.xml'))
  writeFileSync(join(home, 'g711a.raw'), rawAudioFromPcap(pcap))
  const shardCount = shards === 'auto' ? CORES : Number(shards)

  const daemonB = daemonIn(homeB)
  const daemonA = daemonIn(homeA)
  const teardown = partTeardown({home, keep})
  const {running, admins, isStopping} = teardown
  teardown.daemons.push(daemonA, daemonB)

  let a
  let b
  try {
    writeFileSync(join(homeB, 'clutchcall.yaml'), yamlOfB({rtpMin: rtpB[0], rtpMax: rtpB[1], shards, certs}))
    b = daemonB.start()
    b.tlsPort = b.result.listeners.find((listener) => listener.name === 'sip' && listener.transport === 'tls').port
    b.udpPort = b.sipPort
    writeFileSync(join(homeA, 'clutchcall.yaml'), yamlOfA({rtpMin: rtpA[0], rtpMax: rtpA[1], shards, certs}, b))
    a = daemonA.start()
  } catch (error) {
    log(error.message)
    teardown.finish()
    return {levels: []}
  }
  const adminA = await Admin.connect(join(homeA, 'admin.sock'), 'bench-calls')
  const adminB = await Admin.connect(join(homeB, 'admin.sock'), 'bench-calls')
  admins.push(adminA, adminB)
  const gateways = [
    {pid: a.pid, admin: adminA, adminSocket: join(homeA, 'admin.sock'), metricsUrl: a.metricsUrl, rtpMin: rtpA[0], rtpMax: rtpA[1]},
    {pid: b.pid, admin: adminB, adminSocket: join(homeB, 'admin.sock'), metricsUrl: b.metricsUrl, rtpMin: rtpB[0], rtpMax: rtpB[1]},
  ]
  const waitForIdle = async (timeoutMs) => (await adminA.waitForIdle(timeoutMs)) && (await adminB.waitForIdle(timeoutMs))
  const waitForQuiet = () => waitForQuietMachine({maxWaitS: quietWaitS, sampleMs: 3000, busyBelow: 25})

  log('')
  log(`(s) TLS + SRTP against UDP + RTP, same run: SIPp --PCMA--> gateway A (pid ${a.pid}) --trunk--> gateway B (pid ${b.pid}, echo); ${shardCount} media shard(s) each`)
  log(`    node ${process.version}, ${CORES} cores, SIPp ${spawnSync('sipp', ['-v'], {encoding: 'utf8'}).stdout.match(/v[\d.]+\S*/)?.[0] ?? '?'}, ${new Date().toISOString()}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
  log(`    modes: ${modes.map((mode) => `${mode} = ${SRTP_MODES[mode].label}`).join(', ')}; each level held ${holdS} s with all calls up (ramp ${rampCps} calls/s); pass: MOS >= ${MOS_GOAL} and loss < 0.1 % at both gateways`)
  log('level  mode   held/peak  fail  MOS A/B     loss A/B %       CPU % A [main, shards +wait]         B [main, shards +wait]        SIPp  machine (other)  lag p99 ms A/B  CPU/call-s ms A + B = A+B')

  const results = []
  const runMode = async (level, mode) => {
    const entry = await holdLevel({
      level, holdS, rampCps, target: `127.0.0.1:${a.sipPort}`, service: SRTP_MODES[mode].service, cwd: home, sippMediaPort,
      // Setting up a bridged call over TLS takes two gateways' work: on a busy machine the last answer comes seconds after the ramp.
      gateways, shards: shardCount, running, isStopping, slackS: 15,
    })
    entry.mode = mode
    const [ga, gb] = entry.gateways
    entry.cpuPerCallSecondBoth = ga.cpuPerCallSecond + gb.cpuPerCallSecond
    const daemonText = (cpu) => `${pct(cpu.daemon).padStart(4)} [${pct(cpu.main)}, ${cpu.shards.map(pct).join('/')} +${cpu.shardWaits.map(pct).join('/')}]`
    log(
      `${String(level).padStart(5)}  ${mode.padEnd(5)}  ${String(entry.held).padStart(5)}/${String(entry.peak).padEnd(5)} ${String(Number.isNaN(entry.failed) ? '?' : entry.failed).padStart(4)}  ${fixed(ga.meanMos)}/${fixed(gb.meanMos)}  ${fixed(ga.loss * 100, 3)}/${fixed(gb.loss * 100, 3)}  ` +
        `${daemonText(ga.cpu).padEnd(34)} ${daemonText(gb.cpu).padEnd(30)} ${pct(entry.cpu.sipp).padStart(4)}  ${pct(entry.cpu.machine).padStart(5)} (${pct(entry.cpu.elsewhere)})  ` +
        `${`${lagText(ga.lag)}/${lagText(gb.lag)}`.padEnd(14)}  ${ms(ga.cpuPerCallSecond)} + ${ms(gb.cpuPerCallSecond)} = ${ms(entry.cpuPerCallSecondBoth)}  ${entry.pass ? 'pass' : 'FAIL'}`,
    )
    if (!entry.pass) {
      const why = []
      if (entry.held < level) why.push(`only ${entry.held} calls held (peak ${entry.peak}; fewest up at A ${entry.heldEach[0]}, at B ${entry.heldEach[1]})`)
      if (entry.failed > 0) why.push(`${entry.failed} calls failed in SIPp (exit ${entry.sippCode})`)
      entry.gateways.forEach((gateway, index) => {
        const name = 'AB'[index]
        if (gateway.cdrs < level) why.push(`${gateway.cdrs} CDRs at ${name}`)
        if (gateway.meanMos < MOS_GOAL) why.push(`mean MOS ${fixed(gateway.meanMos)} at ${name}`)
        if (gateway.loss >= LOSS_GOAL) why.push(`loss ${fixed(gateway.loss * 100, 3)}% at ${name} (${gateway.lost} of ${gateway.received + gateway.lost}; kernel drops at its RTP sockets ${gateway.dropsWholeLevel})`)
      })
      if (entry.cpu.busiestOthers.length) why.push(`also busy: ${entry.cpu.busiestOthers.join(', ')}`)
      log(`       why: ${why.join('; ')}${entry.errors.length ? `; SIPp errors: ${entry.errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}` : ''}`)
    }
    return entry
  }

  for (const [index, level] of levels.entries()) {
    if (isStopping()) break
    const byMode = {}
    // Alternate the order, so that a machine getting busier over a level pair does not always weigh on the same mode.
    const order = index % 2 === 0 ? modes : [...modes].reverse()
    for (const mode of order) {
      if (!(await waitForIdle(60_000))) {
        log(`calls still up before level ${level} (${mode}); stopping`)
        teardown.stop()
        break
      }
      const quiet = await waitForQuiet()
      if (quiet.busy >= 25) log(`       (machine still ${pct(quiet.busy)} busy with other work after waiting ${quiet.waitedS.toFixed(0)} s: measuring anyway)`)
      let entry = await runMode(level, mode)
      if (!entry.pass && entry.cpu.elsewhere > 25 && noisyRetries > 0) {
        log(`       other processes took ${pct(entry.cpu.elsewhere)} during that level: once more`)
        await waitForIdle(60_000)
        await waitForQuiet()
        entry = await runMode(level, mode)
      }
      byMode[mode] = entry
    }
    const result = {level, byMode}
    if (byMode.srtp && byMode.plain) {
      const [sa, sb] = byMode.srtp.gateways
      const [pa, pb] = byMode.plain.gateways
      result.ratio = {a: sa.cpuPerCallSecond / pa.cpuPerCallSecond, b: sb.cpuPerCallSecond / pb.cpuPerCallSecond, both: byMode.srtp.cpuPerCallSecondBoth / byMode.plain.cpuPerCallSecondBoth}
      log(`       SRTP/plain daemon CPU per call-second at ${level}: A ${ratioText(result.ratio.a)}, B ${ratioText(result.ratio.b)}, A+B ${ratioText(result.ratio.both)}${byMode.plain.pass ? '' : ' (the plain run failed: its CPU is of a degraded level)'}`)
    }
    results.push(result)
    const decisive = byMode.srtp ?? byMode[modes[0]]
    if (!decisive?.pass && stopOnFail) break
  }

  log('')
  log('(s) summary:')
  for (const mode of modes) {
    const passing = results.filter((result) => result.byMode[mode]?.pass).map((result) => result.level)
    const failing = results.find((result) => result.byMode[mode] && !result.byMode[mode].pass)
    log(`  ${mode} (${SRTP_MODES[mode].label}): most concurrent calls passing ${passing.length ? Math.max(...passing) : 'none'}${failing ? `; first failing level ${failing.level}` : ''}`)
  }
  const passedBoth = results.filter((result) => result.ratio && result.byMode.srtp.pass && result.byMode.plain.pass)
  // Without a level where both passed (a machine too busy for even the first), the ratio of the degraded levels, said so.
  const compared = passedBoth.length > 0 ? passedBoth : results.filter((result) => result.ratio)
  if (compared.length > 0) {
    const medianOf = (key) => median(compared.map((result) => result.ratio[key]))
    const both = medianOf('both')
    const which = passedBoth.length > 0 ? 'where both passed' : 'measured, NONE of them passing for both modes, so the figures are of degraded calls'
    log(`  SRTP/plain daemon CPU per call-second, median over the ${compared.length} level(s) ${which} (${compared.map((result) => result.level).join(', ')}): A ${ratioText(medianOf('a'))}, B ${ratioText(medianOf('b'))}, A+B ${ratioText(both)} — goal <= 1.30×: ${passedBoth.length === 0 ? 'not judged' : both <= 1.3 ? 'pass' : 'FAIL'}`)
    for (const mode of modes) {
      const perCall = median(compared.map((result) => result.byMode[mode]?.cpuPerCallSecondBoth))
      log(`  ${mode}: median A+B daemon CPU ${fixed(perCall * 1000)} ms per call-second (${fixed(1 / perCall, 0)} calls per core for both daemons together)`)
    }
  }
  const srtpPassing = results.filter((result) => result.byMode.srtp?.pass).map((result) => result.level)
  if (modes.includes('srtp')) log(`  goal >= 1,000 concurrent SRTP calls at MOS >= ${MOS_GOAL}, loss < 0.1 %: ${srtpPassing.length && Math.max(...srtpPassing) >= 1000 ? 'pass' : 'FAIL'} (this path has three daemon hops per packet and SIPp on the same ${CORES} cores)`)
  const lastSrtp = results.at(-1)?.byMode.srtp
  if (lastSrtp && !lastSrtp.pass) {
    const {cpu} = lastSrtp
    log(`  at ${lastSrtp.level} (srtp): machine ${pct(cpu.machine)} of ${CORES * 100}% (A ${pct(cpu.daemons[0].daemon)}, B ${pct(cpu.daemons[1].daemon)}, SIPp ${pct(cpu.sipp)}, this script ${pct(cpu.self)}, other processes ${pct(cpu.elsewhere)}); shard run-queue waits A ${cpu.daemons[0].shardWaits.map(pct).join('/')}, B ${cpu.daemons[1].shardWaits.map(pct).join('/')}`)
  }
  log(`  (HOLD_S=${holdS}; both daemons, SIPp and whatever else ran share the ${CORES} cores: "other" is the rest of the machine)`)
  teardown.finish()
  return {levels: results}
}
