// One level of a concurrent-call benchmark (bench:calls parts a and s): SIPp
// places `level` PCMA calls (bench/scenarios/uac-hold-pcma.xml, rtp_stream)
// to the first gateway and holds them all up for `holdS` seconds, while this
// measures every gateway of the path: calls up, CPU per thread, media shard
// lag, kernel drops at its RTP sockets, and, once the calls end, the MOS and
// loss of its CDRs (CHANNEL_HANGUP_COMPLETE). Part a has one gateway (the
// echo); part s has two (SIPp → A → B echo), so a call's figures come from
// both ends of the A–B link.
import {join} from 'node:path'
import {Admin} from './admin.js'
import {lagBuckets, lagQuantiles, scrape} from './lag.js'
import {sleep} from './measure.js'
import {cpuBetween, dropTracker, snapshot, udpDrops} from './proc.js'
import {freeUdpPort, runSipp, sippErrors, sippStats} from './sipp.js'

export const MOS_GOAL = 4.3
export const LOSS_GOAL = 0.001

const mean = (values) => values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length)

/** MOS, loss and completion over one gateway's CDRs. */
const cdrFigures = (cdrs) => {
  const received = cdrs.reduce((sum, cdr) => sum + cdr.packets_received, 0)
  const lost = cdrs.reduce((sum, cdr) => sum + cdr.packets_lost, 0)
  const mos = cdrs.map((cdr) => cdr.estimated_mos)
  return {
    cdrs: cdrs.length,
    meanMos: mean(mos),
    minMos: mos.length ? Math.min(...mos) : Number.NaN,
    loss: lost / Math.max(1, received + lost),
    received,
    lost,
    notCompleted: cdrs.filter((cdr) => cdr.status !== 'completed').length,
  }
}

/**
 * Runs one level. `gateways`: [{pid, admin (scripts/lib/admin.js), adminSocket, metricsUrl, rtpMin, rtpMax}], SIPp
 * calls the first at `target` (host:port) with `service` as the called number; every gateway's CDRs are those whose
 * to_number is `service`. `cwd` holds the scenario and g711a.raw. `running` gets SIPp's child while it runs;
 * `isStopping()` ends the wait early. `slackS` (3): how late after the ramp the last call may be answered with the
 * first call still up through the whole hold. `sippPeers`: the pids of other SIPp processes on the path (a callee),
 * whose CPU counts as SIPp's.
 *
 * The result has the first gateway's figures at the top level (what part a prints), each gateway's in `gateways`,
 * and `pass`: every call held, none failed, and every gateway's CDRs at mean MOS >= 4.3 and loss < 0.1 %.
 */
export const holdLevel = async ({level, holdS, rampCps, target, service, cwd, sippMediaPort, gateways, shards, running, isStopping, slackS = 3, sippPeers = []}) => {
  const rampS = Math.ceil(level / rampCps)
  // Each call holds long enough that all `level` overlap for holdS: the first one answered waits for the last,
  // whose answer may come `slackS` seconds after the ramp's end.
  const holdMs = (holdS + rampS + slackS) * 1000
  const sippPort = await freeUdpPort()
  const args = [
    target, '-sf', 'uac-hold-pcma.xml', '-s', service, '-i', '127.0.0.1', '-mi', '127.0.0.1',
    '-p', String(sippPort), '-mp', String(sippMediaPort), '-m', String(level), '-l', String(level), '-r', String(rampCps),
    '-d', String(holdMs), '-nostdin', '-trace_stat', '-fd', '5', '-trace_err', '-rtp_threadtasks', '50',
    '-timeout', `${holdS + 3 * rampS + 120}s`, '-timeout_error',
  ]
  const pids = gateways.map((gateway) => gateway.pid)
  const levelDrops = gateways.map((gateway) => dropTracker(gateway.rtpMin, gateway.rtpMax))
  const sipp = runSipp(args, cwd)
  running.add(sipp.child)
  let sippExited = false
  void sipp.done.then(() => (sippExited = true))
  const activeEach = () => Promise.all(gateways.map((gateway) => gateway.admin.active()))

  // Up: every call up at every gateway. A gateway's active count includes calls still being set up, so the
  // first gateway reaches the level while the last ones are still dialling the next (over TLS, a few hundred ms later).
  const upDeadline = Date.now() + (3 * rampS + 30) * 1000
  let reached = 0
  while (Date.now() < upDeadline && !sippExited && !isStopping()) {
    const each = await activeEach()
    reached = each[0]
    if (each.every((count) => count >= level)) break
    await sleep(500)
  }
  const lagBefore = await Promise.all(gateways.map(async (gateway) => lagBuckets(await scrape(gateway.metricsUrl))))
  const before = snapshot(pids, [sipp.child.pid, ...sippPeers])
  // Hold: sample the calls up at every gateway.
  const samples = []
  const queuePeaks = gateways.map(() => 0)
  const holdUntil = performance.now() + holdS * 1000
  while (performance.now() < holdUntil && !sippExited && !isStopping()) {
    samples.push(await activeEach())
    gateways.forEach((gateway, index) => (queuePeaks[index] = Math.max(queuePeaks[index], udpDrops(gateway.rtpMin, gateway.rtpMax).maxQueue)))
    await sleep(Math.min(2000, Math.max(0, holdUntil - performance.now())))
  }
  const after = snapshot(pids, [sipp.child.pid, ...sippPeers])
  const lagAfter = await Promise.all(gateways.map(async (gateway) => lagBuckets(await scrape(gateway.metricsUrl))))
  const daemonDrops = gateways.map((gateway) => udpDrops(gateway.rtpMin, gateway.rtpMax))
  const sippDrops = udpDrops(sippMediaPort, sippMediaPort + 4 * level + 100)
  // The calls now end; their CDRs arrive as CHANNEL_HANGUP_COMPLETE on subscriptions opened just before.
  const cdrs = gateways.map(() => [])
  const events = await Promise.all(
    gateways.map(async (gateway, index) => {
      const connection = await Admin.connect(gateway.adminSocket, 'bench-calls')
      await connection.subscribe((event) => {
        if (event.type === 'CHANNEL_HANGUP_COMPLETE' && event.to_number === service) cdrs[index].push(event)
      })
      return connection
    }),
  )
  const result = await sipp.done
  running.delete(sipp.child)
  const cdrDeadline = Date.now() + 20_000
  while (cdrs.some((list) => list.length < Math.min(reached, level)) && Date.now() < cdrDeadline) await sleep(200)
  for (const connection of events) connection.close()
  for (const gateway of gateways) await gateway.admin.waitForIdle(30_000)
  const dropsWholeLevel = levelDrops.map((tracker) => tracker.stop())

  const stats = sippStats(cwd, 'uac-hold-pcma', sipp.child.pid)
  const cpu = cpuBetween(before, after, shards)
  const held = samples.length > 0 ? Math.min(...samples.flat()) : 0
  // The fewest calls each gateway had up during the hold, so a shortfall says where the calls went.
  const heldEach = gateways.map((_, index) => (samples.length > 0 ? Math.min(...samples.map((each) => each[index])) : 0))
  const peak = samples.length > 0 ? Math.max(...samples.map((each) => each[0])) : 0
  const failed = Number(stats?.['FailedCall(C)'] ?? Number.NaN)
  // Call-seconds of the hold, counted at the first gateway.
  const callSeconds = mean(samples.map((each) => each[0])) * cpu.seconds
  const perGateway = gateways.map((gateway, index) => {
    const figures = cdrFigures(cdrs[index])
    const lag = lagQuantiles(lagBefore[index], lagAfter[index], 0.99)
    const daemonCpu = cpu.daemons[index]
    const pass = figures.cdrs >= level && figures.meanMos >= MOS_GOAL && figures.loss < LOSS_GOAL
    return {...figures, lag, cpu: daemonCpu, daemonDrops: daemonDrops[index], dropsWholeLevel: dropsWholeLevel[index], queuePeak: queuePeaks[index], cpuPerCallSecond: daemonCpu.daemonSeconds / Math.max(1, callSeconds), pass}
  })
  const [first] = perGateway
  return {
    level, reached, held, heldEach, peak, failed, sippCode: result.code,
    cdrs: first.cdrs, meanMos: first.meanMos, minMos: first.minMos, loss: first.loss, received: first.received, lost: first.lost, notCompleted: first.notCompleted,
    cpu, lag: first.lag, daemonDrops: first.daemonDrops, dropsWholeLevel: first.dropsWholeLevel, sippDrops, queuePeak: first.queuePeak, cpuPerCallSecond: first.cpuPerCallSecond,
    callSeconds, errors: sippErrors(cwd, 'uac-hold-pcma', sipp.child.pid), gateways: perGateway,
    pass: held >= level && failed === 0 && perGateway.every((gateway) => gateway.pass),
  }
}
