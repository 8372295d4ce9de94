// bench:calls part r: concurrent bridged calls, the shape of a carrier's
// traffic through a B2BUA, level by level:
//
//   SIPp (PCMA, rtp_stream) --> gateway --outbound trunk--> SIPp callee (-rtp_echo)
//
// Each call is two SIP dialogs and two media legs on the daemon (the caller's
// and the B-leg), neither transcoded; the callee echoes every packet, so the
// daemon relays each packet twice, once each way. The daemon runs in its own
// temporary home, without overload control (this measures media; part b and
// bench:abuse measure admission). A level passes with every call held, none
// failed, and the daemon's CDRs (both legs) at mean MOS >= 4.3 and loss
// < 0.1 %; the ramp stops at the first level that fails.
import {copyFileSync, mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Admin} from './admin.js'
import {bridgeConfig} from './bridge-config.js'
import {daemonIn} from './daemon.js'
import {holdLevel, LOSS_GOAL, MOS_GOAL} from './hold.js'
import {CORES, waitForQuietMachine} from './measure.js'
import {freeUdpPort, rawAudioFromPcap, runSipp} from './sipp.js'
import {partTeardown} from './teardown.js'

/** The number SIPp calls: the inbound trunk's, bridged by the dialplan to the callee. */
const SERVICE = '+19990000000'

const pct = (value) => `${value.toFixed(0)}%`
const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '-')

/**
 * Runs part r. `options`: levels, holdS, rampCps, shards ('auto' or a number), rtp ([min, max] of the daemon's RTP
 * range: two ports a leg, four a call), sippMediaPort (the caller's first RTP port), calleeMediaPort (the callee's echo
 * port), quietWaitS, noisyRetries, keep, pcap (SIPp's g711a.pcap), scenarios (the folder of uac-hold-pcma.xml and
 * uas-echo-pcma.xml), log. Returns the levels' entries (scripts/lib/hold.js).
 */
export const runBridgedPart = async (options) => {
  const {levels, holdS, rampCps, shards, rtp, sippMediaPort, calleeMediaPort, quietWaitS, noisyRetries, keep, pcap, scenarios, log} = options
  const home = mkdtempSync(join(tmpdir(), 'cc-bench-bridged-'))
  for (const file of ['uac-hold-pcma.xml', 'uas-echo-pcma.xml']) copyFileSync(join(scenarios, file), join(home, file))
  writeFileSync(join(home, 'g711a.raw'), rawAudioFromPcap(pcap))
  const shardCount = shards === 'auto' ? CORES : Number(shards)
  const daemon = daemonIn(home)
  const teardown = partTeardown({home, keep})
  const {running, isStopping} = teardown
  teardown.daemons.push(daemon)
  let admin
  let calleePid

  let started
  try {
    const calleePort = await freeUdpPort()
    const callee = runSipp(['-sf', 'uas-echo-pcma.xml', '-i', '127.0.0.1', '-p', String(calleePort), '-mi', '127.0.0.1', '-mp', String(calleeMediaPort), '-rtp_echo', '-nostdin', '-trace_err'], home)
    running.add(callee.child)
    calleePid = callee.child.pid
    writeFileSync(
      join(home, 'clutchcall.yaml'),
      `sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n` +
        `rtp:\n  address: 127.0.0.1\n  port_min: ${rtp[0]}\n  port_max: ${rtp[1]}\n  shards: ${shards}\n` +
        'metrics:\n  listen: 127.0.0.1:0\ntracing:\n  enabled: false\n' +
        bridgeConfig({service: SERVICE, callees: [{id: 'callee', port: calleePort}], overload: false}),
    )
    started = daemon.start()
    admin = await Admin.connect(join(home, 'admin.sock'), 'bench-calls-bridged')
    teardown.admins.push(admin)
  } catch (error) {
    log(error.message)
    teardown.finish()
    return []
  }
  const gateway = {pid: started.pid, admin, adminSocket: join(home, 'admin.sock'), metricsUrl: started.metricsUrl, rtpMin: rtp[0], rtpMax: rtp[1]}

  log('')
  log(`(r) concurrent bridged PCMA calls: SIPp --> gateway (pid ${started.pid}, ${shardCount} media shard(s)) --trunk--> SIPp callee echoing RTP; ` +
    `each level held ${holdS} s with all calls up (ramp ${rampCps} calls/s); pass: MOS >= ${MOS_GOAL} and loss < 0.1 % over both legs' CDRs`)
  log('level  held/peak  fail  MOS           loss     daemon CPU [main, shards +wait]   SIPp (both)  machine (other)  gw drops  CPU/call-s')
  const results = []
  for (const level of levels) {
    if (isStopping()) break
    let entry
    for (let attempt = 0; attempt <= noisyRetries; attempt++) {
      if (!(await admin.waitForIdle(60_000))) {
        log(`calls still up before level ${level}; stopping`)
        teardown.stop()
        break
      }
      await waitForQuietMachine({maxWaitS: quietWaitS, sampleMs: 3000, busyBelow: 25})
      entry = await holdLevel({
        level, holdS, rampCps, target: `127.0.0.1:${started.sipPort}`, service: SERVICE, cwd: home, sippMediaPort,
        gateways: [gateway], shards: shardCount, running, isStopping, slackS: 5, sippPeers: [calleePid],
      })
      const {cpu} = entry
      log(
        `${String(level).padStart(5)}  ${String(entry.held).padStart(5)}/${String(entry.peak).padEnd(5)} ${String(Number.isNaN(entry.failed) ? '?' : entry.failed).padStart(4)}  ${fixed(entry.meanMos)} (min ${fixed(entry.minMos)})  ${fixed(entry.loss * 100, 3).padStart(6)}%  ` +
          `${pct(cpu.daemon).padStart(5)} [${pct(cpu.main)}, ${cpu.shards.map(pct).join('/')} +${cpu.shardWaits.map(pct).join('/')}]  ${pct(cpu.sipp).padStart(10)}  ${pct(cpu.machine).padStart(5)} (${pct(cpu.elsewhere)})  ` +
          `${String(entry.dropsWholeLevel).padStart(8)}  ${fixed(entry.cpuPerCallSecond * 1000)} ms  ${entry.pass ? 'pass' : 'FAIL'}`,
      )
      if (!entry.pass) {
        const why = []
        if (entry.held < level) why.push(`only ${entry.held} calls held (peak ${entry.peak})`)
        if (entry.failed > 0) why.push(`${entry.failed} calls failed in SIPp (exit ${entry.sippCode})`)
        if (entry.cdrs < level) why.push(`${entry.cdrs} CDRs`)
        if (entry.meanMos < MOS_GOAL) why.push(`mean MOS ${fixed(entry.meanMos)} < ${MOS_GOAL}`)
        if (entry.loss >= LOSS_GOAL) why.push(`loss ${fixed(entry.loss * 100, 3)}% (${entry.lost} of ${entry.received + entry.lost}; kernel drops at the gateway's RTP sockets ${entry.dropsWholeLevel})`)
        if (cpu.busiestOthers.length) why.push(`also busy: ${cpu.busiestOthers.join(', ')}`)
        log(`       why: ${why.join('; ')}${entry.errors.length ? `; SIPp errors: ${entry.errors.map(([text, count]) => `${count}× ${text}`).join(' | ')}` : ''}`)
      }
      // The machine is shared: a level that failed while other processes took a real share of it gets another try.
      if (entry.pass || cpu.elsewhere <= 25 || attempt === noisyRetries) break
      log(`       other processes took ${pct(cpu.elsewhere)} during that level: once more`)
    }
    if (entry === undefined) break
    results.push(entry)
    if (!entry.pass) break
  }
  const best = [...results].reverse().find((entry) => entry.pass)
  const failed = results.find((entry) => !entry.pass)
  log(`  most concurrent bridged calls passing: ${best ? best.level : 'none'}${failed ? `; first failing level: ${failed.level}` : results.length ? ' (no level failed: raise R_LEVELS)' : ''}`)
  teardown.finish()
  return results
}
