// The fleet behind a real SIP load balancer (docs/fleet.md, "A fleet on one
// machine"): scripts/fleet brings up Debian's Kamailio with its dispatcher
// (round robin, OPTIONS probes every second) in front of three gateways on
// 127.0.0.2-4, writing CDRs through the Distributed table of a 2 x 2
// ClickHouse cluster. SIPp calls the balancer; the balancer's log says where
// each INVITE went, SIPp's log what each caller saw, and the cluster what was
// billed (the node column names the gateway).
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {CALLER_OPTIONS, TestFleet, assertBilledOnce, callerOutcomes, cdrsOf, uacThroughBalancer, type Relay} from '../../helpers/fleet.js'
import {waitFor} from '../../helpers/gateway.js'
import {runSipp, type SippRun} from '../../helpers/peers.js'

let fleet: TestFleet
const sippDir = mkdtempSync(join(tmpdir(), 'cc-fleet-sipp-'))
let sipp: SippRun | undefined

before(async () => {
  fleet = await TestFleet.up()
})

after(async () => {
  sipp?.stop()
  await fleet?.down()
  rmSync(sippDir, {recursive: true, force: true})
})

/** Calls the balancer: `calls` calls at `rate` per second, each dialling prefix + its number and holding `holdMs`. */
const call = async (prefix: string, options: {calls: number; rate: number; holdMs: number}) => {
  const log = join(sippDir, `${prefix}.log`)
  sipp = await runSipp({
    scenarioXml: uacThroughBalancer(prefix, options.holdMs),
    target: fleet.balancer,
    calls: options.calls,
    timeoutS: 120,
    // A call whose gateway died gives up after 10 s instead of holding the run.
    extraArgs: ['-r', String(options.rate), '-recv_timeout', '10000', '-trace_logs', '-log_file', log, ...CALLER_OPTIONS],
  })
  return {log, run: sipp}
}

/** The relays of the calls of one SIPp run, in order: SIPp's Call-IDs are CALL-PID@ADDRESS. */
const relaysOf = (run: SippRun): Relay[] => fleet.relays().filter((relay) => relay.callId.includes(`-${run.process.pid}@`))

/** Every gateway sends what it spooled; then the Distributed table has forwarded it when counts stop moving. */
const flushAll = async () => {
  for (const gateway of fleet.state.gateways) {
    const flushed = await fleet.cli(gateway.name, ['cdr', 'flush', '--timeout', '60'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
  }
}

describe('a fleet behind Kamailio', () => {
  it('spreads calls round robin over the gateways, and each gateway bills the calls it answered', {timeout: 120_000}, async () => {
    const prefix = '+1777101'
    const calls = 60
    const {log, run} = await call(prefix, {calls, rate: 10, holdMs: 500})
    const {code, output} = await run.done
    const outcome = callerOutcomes(log)
    assert.equal(outcome.completed.size, calls, `every call completed (SIPp exit ${code}):\n${output}`)

    const relays = relaysOf(run)
    const first = new Map<string, number>()
    for (const relay of relays.filter((candidate) => !candidate.failover)) first.set(fleet.nameOf(relay.destination), (first.get(fleet.nameOf(relay.destination)) ?? 0) + 1)
    // Round robin: each of the three takes a third of the new calls, give or take what a gateway
    // that answered 503 (overloaded, on a busy machine) and was skipped for a moment lost.
    for (const gateway of fleet.state.gateways) {
      const share = (first.get(gateway.name) ?? 0) / calls
      assert.ok(Math.abs(share - 1 / 3) <= 0.1, `${gateway.name} took ${(share * 100).toFixed(0)} % of the calls: ${JSON.stringify([...first])}`)
    }

    // The gateway that answered (the last relay of each call) wrote its CDR, through the Distributed table.
    const answeredBy = new Map<string, string>()
    for (const relay of relays) answeredBy.set(relay.callId, fleet.nameOf(relay.destination))
    await flushAll()
    const rows = await cdrsOf(fleet, prefix, calls)
    assertBilledOnce(outcome.answered.keys(), rows)
    for (const row of rows.filter((candidate) => Number(candidate.answered) === 1)) {
      const callId = outcome.answered.get(row.to_number)
      assert.equal(row.node, answeredBy.get(callId ?? ''), `${row.to_number} (${callId}) was billed by the gateway the balancer sent it to`)
    }
  })

  it('drains a gateway with clutchcall stop: the balancer stops sending to it when OPTIONS turns 503, and no call fails', {timeout: 150_000}, async () => {
    const prefix = '+1777102'
    const calls = 120
    const {log, run} = await call(prefix, {calls, rate: 10, holdMs: 2000})
    await waitFor('calls on gw-2', () => (relaysOf(run).some((relay) => relay.destination === fleet.destination('gw-2')) ? true : undefined))
    await waitFor('some of the run placed', () => (callerOutcomes(log).answered.size >= 30 ? true : undefined), 30_000)

    const stopped = await fleet.cli('gw-2', ['stop', '--timeout', '30'])
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    const {code, output} = await run.done
    await fleet.start('gw-2')
    await fleet.inRotation('gw-2')
    const outcome = callerOutcomes(log)
    assert.equal(outcome.answered.size, calls, `every call answered (SIPp exit ${code}):\n${output}`)
    assert.equal(outcome.completed.size, calls, `every call completed:\n${output}`)
    assert.ok(Number(stopped.body.result.drainGraceMs) > 0, `gw-2 was probed, so it kept taking calls for its grace: ${JSON.stringify(stopped.body.result)}`)

    // Its first 503 to a probe took it out of the rotation within a probing interval (plus the probe's round trip).
    const drainedAt = (fleet.logLines('gw-2', 'draining: health probes (OPTIONS) get 503; new calls are still taken for the grace period').at(-1)?.time ?? Number.NaN) / 1000
    // The log line is written just after the switch: allow for the moment between.
    const down = fleet.probedDown('gw-2').find((at) => at >= drainedAt - 0.5)
    assert.ok(down !== undefined, `the balancer took gw-2 out on a probe (draining since ${drainedAt})`)
    assert.ok(down - drainedAt <= fleet.state.pingIntervalS + 1, `taken out ${(down - drainedAt).toFixed(2)} s after the drain began`)
    const late = relaysOf(run).filter((relay) => relay.destination === fleet.destination('gw-2') && relay.at > down + 0.5)
    assert.deepEqual(late, [], 'no INVITE went to gw-2 after the balancer took it out')

    await flushAll()
    const rows = await cdrsOf(fleet, prefix, calls)
    assertBilledOnce(outcome.answered.keys(), rows)
    // gw-2 refused nothing: every row it wrote is an answered call that ended normally.
    const ofDrained = rows.filter((row) => row.node === 'gw-2')
    assert.ok(ofDrained.length > 0)
    assert.deepEqual(ofDrained.filter((row) => Number(row.answered) !== 1 || row.status !== 'completed'), [], 'gw-2 refused none and ended every call it took normally')
  })

  it('loses a gateway to kill -9 at 30 calls/s: the balancer stops sending to it, later calls all succeed, its calls are billed once when it restarts', {timeout: 240_000}, async () => {
    const prefix = '+1777103'
    const calls = 270
    const {log, run} = await call(prefix, {calls, rate: 30, holdMs: 3000})
    const victim = fleet.destination('gw-2')
    // Kill it with calls up on it: some answered, none ended yet on a 3 s hold.
    await waitFor('calls up on gw-2', () => (relaysOf(run).filter((relay) => relay.destination === victim).length >= 15 ? true : undefined), 30_000)
    const killedAt = await fleet.killGateway('gw-2')

    const {output} = await run.done
    // gw-2 comes back at once (the next test needs it): its journal gives the calls it had up their CDRs.
    await fleet.start('gw-2')
    const outcome = callerOutcomes(log)
    const ofRun = relaysOf(run)
    const toVictim = ofRun.filter((relay) => relay.destination === victim && relay.at >= killedAt)
    const lastToVictim = toVictim.at(-1)?.at ?? killedAt
    // The first INVITE it left unanswered (fr_timer) or its first silent probe (interval + fr_timer) took it out.
    assert.ok(lastToVictim - killedAt <= fleet.state.pingIntervalS + fleet.state.inviteTimeoutS + 1, `the balancer sent gw-2 INVITEs until ${(lastToVictim - killedAt).toFixed(2)} s after the kill`)

    // Every call placed after that (its first INVITE relayed later) succeeded on the others.
    const numberOf = new Map([...outcome.answered].map(([number, callId]) => [callId, number]))
    const firstRelay = new Map<string, Relay>()
    for (const relay of ofRun) if (!firstRelay.has(relay.callId)) firstRelay.set(relay.callId, relay)
    const placedAfter = [...firstRelay.values()].filter((relay) => relay.at > lastToVictim)
    assert.ok(placedAfter.length >= 60, `calls placed after the balancer took gw-2 out: ${placedAfter.length}`)
    const failedAfter = placedAfter.filter((relay) => !outcome.completed.has(numberOf.get(relay.callId) ?? ''))
    const story = (callId: string) => ofRun.filter((relay) => relay.callId === callId).map((relay) => `${fleet.nameOf(relay.destination)}@+${(relay.at - killedAt).toFixed(2)}s${relay.failover ? ' (failover)' : ''}`).join(' ')
    const failures = failedAfter.map((relay) => `${relay.callId}: ${story(relay.callId)}`).join('\n')
    assert.equal(failedAfter.length, 0, `calls placed after gw-2 was taken out (${(lastToVictim - killedAt).toFixed(2)} s after the kill) that did not complete, of ${placedAfter.length}:\n${failures}\n${output}`)
    assert.ok(outcome.answered.size >= calls * 0.8, `answered ${outcome.answered.size} of ${calls}`)

    const status = await fleet.cli('gw-2', ['cdr', 'status'])
    const recovered = Number(status.body.result.journal.recoveredAtStart)
    assert.ok(recovered >= 1, `calls recovered from gw-2's journal: ${JSON.stringify(status.body.result.journal)}`)
    await fleet.inRotation('gw-2')
    await flushAll()

    const rows = await cdrsOf(fleet, prefix, outcome.answered.size)
    assertBilledOnce(outcome.answered.keys(), rows)
    const recoveredRows = rows.filter((row) => row.node === 'gw-2' && Number(row.answered) === 1 && row.status === 'failed' && Number(row.q850_cause) === 41)
    assert.equal(recoveredRows.length, recovered, 'every call gw-2 had up is billed once, as a recovered CDR (failed, cause 41)')
    // The callers whose BYE found gw-2 dead are among them.
    const cutOff = [...outcome.answered.keys()].filter((number) => !outcome.completed.has(number))
    for (const number of cutOff) assert.ok(rows.some((row) => row.to_number === number && row.node === 'gw-2'), `${number} was cut off with gw-2 and billed by it`)
    process.stdout.write(`# kill -9: ${outcome.answered.size} answered, ${outcome.completed.size} completed, ${toVictim.length} INVITEs to gw-2 after the kill (last ${(lastToVictim - killedAt).toFixed(2)} s after), ${placedAfter.length} placed after, ${recovered} recovered\n`)
  })
})
