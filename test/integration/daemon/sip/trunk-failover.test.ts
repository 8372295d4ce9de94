// OPTIONS keepalive and trunk failover with SIPp as the trunks: a trunk
// whose INVITE gets 503 hands the call to its failover trunk; a trunk whose
// keepalive goes unanswered (or answered 503) is marked down after
// down_after probes, its new calls go straight to the failover trunk, and it
// comes back up after up_after answered probes (flapping both ways); a call
// whose every trunk is down fails at once without an INVITE.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import type {TrunkStatus} from '../../../../src/admin/protocol.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway as Gateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall, uasAnswering, uasAnsweringOptions, uasRejecting, type SippRun} from '../../../helpers/peers.js'

const gateway = new Gateway()
const ports = {refusing: 0, probed: 0, lonely: 0, backup: 0}

const keepalive = '{ interval_s: 1, timeout_ms: 500, down_after: 2, up_after: 2 }'
const config = () => `tenants:
  - { id: t-refusing, dialplan: to-refusing }
  - { id: t-probed, dialplan: to-probed }
  - { id: t-lonely, dialplan: to-lonely }
trunks:
  - { id: in-refusing, tenant: t-refusing, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1701*"] } }
  - { id: in-probed, tenant: t-probed, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1702*"] } }
  - { id: in-lonely, tenant: t-lonely, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1703*"] } }
  - { id: refusing, tenant: t-refusing, outbound: { uri: "sip:127.0.0.1:${ports.refusing}", failover: [backup] } }
  - { id: probed, tenant: t-probed, outbound: { uri: "sip:127.0.0.1:${ports.probed}", keepalive: ${keepalive}, failover: [backup] } }
  - { id: lonely, tenant: t-lonely, outbound: { uri: "sip:127.0.0.1:${ports.lonely}", keepalive: ${keepalive} } }
  - { id: backup, tenant: t-probed, outbound: { uri: "sip:127.0.0.1:${ports.backup}" } }
dialplans:
  to-refusing:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: refusing, timeout_s: 20, next: { default: bye } }
      bye: { type: hangup, cause: 16 }
  to-probed:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: probed, timeout_s: 20, next: { default: bye } }
      bye: { type: hangup, cause: 16 }
  to-lonely:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: lonely, timeout_s: 20, next: { failed: no-circuit, default: bye } }
      no-circuit: { type: hangup, cause: 34 }
      bye: { type: hangup, cause: 16 }
`

const trunkOf = async (id: string): Promise<TrunkStatus> => {
  const {code, body} = await gateway.home.json(['trunks', 'status'])
  assert.equal(code, 0, JSON.stringify(body))
  const trunk = (body.result.trunks as TrunkStatus[]).find((candidate) => candidate.id === id)
  assert.ok(trunk, `no trunk ${id}`)
  return trunk
}

const waitForReachability = (id: string, state: TrunkStatus['reachability']['state']): Promise<TrunkStatus> =>
  waitFor(`trunk ${id} ${state}`, async () => {
    const trunk = await trunkOf(id)
    return trunk.reachability.state === state ? trunk : undefined
  }, 20_000)

const trunkUp = (id: string): Promise<number> => gateway.metric(new RegExp(`^clutchcall_trunk_up\\{trunk="${id}"\\} (\\d+)`, 'm'))

/** A SIPp peer answering every OPTIONS on `port` with `status` until stopped. */
const optionsPeer = (port: number, status = 200, reason = 'OK'): Promise<SippRun> => runSipp({scenarioXml: uasAnsweringOptions(status, reason), port, calls: 100_000, timeoutS: 300})

const daemonLog = (): string => readFileSync(gateway.home.path('daemon.log'), 'utf8')

before(async () => {
  for (const name of Object.keys(ports) as Array<keyof typeof ports>) ports[name] = await freePort()
  await gateway.start(config())
})

after(() => gateway.stop())

describe('trunk failover', () => {
  it('a 503 to the INVITE hands the call to the failover trunk, which answers it', async () => {
    const refusing = await runSipp({scenarioXml: uasRejecting(503, 'Service Unavailable'), port: ports.refusing})
    const backup = await runSipp({scenarioXml: uasAnswering(), port: ports.backup})
    const caller = await runSipp({scenarioXml: uacShortCall(), target: gateway.sip, service: '+17010000001'})
    const [a, r, b] = await Promise.all([caller.done, refusing.done, backup.done])
    assert.equal(r.code, 0, `the refusing trunk got the INVITE first: ${r.output}`)
    assert.equal(b.code, 0, `the backup trunk answered: ${b.output}`)
    assert.equal(a.code, 0, a.output)
    const end = await gateway.hangupOf('+17010000001')
    assert.equal(end.status, 'completed')
    assert.match(daemonLog(), /"trunk_id":"refusing","next_trunk_id":"backup".*trunk failed the call; trying the next trunk/)
  })

  it('keepalive: up while OPTIONS are answered, down after 2 unanswered probes; a down trunk\'s calls go straight to the failover trunk', async () => {
    const peer = await optionsPeer(ports.probed)
    try {
      const up = await waitForReachability('probed', 'up')
      assert.equal(up.reachability.lastStatus, 200)
      assert.ok((up.reachability.lastRttMs ?? -1) >= 0, JSON.stringify(up.reachability))
      assert.equal(await trunkUp('probed'), 1)
    } finally {
      peer.stop()
    }
    const down = await waitForReachability('probed', 'down')
    assert.ok(down.reachability.consecutiveFailures >= 2, JSON.stringify(down.reachability))
    assert.equal(down.reachability.lastStatus, null)
    assert.ok(down.reachability.lastError !== null)
    assert.equal(await trunkUp('probed'), 0)
    assert.match(daemonLog(), /"trunk_id":"probed".*trunk down: OPTIONS keepalive failed/)

    // No SIPp on the probed trunk's port: a call that tried it would wait for its timeout, then fail over.
    const backup = await runSipp({scenarioXml: uasAnswering(), port: ports.backup})
    const caller = await runSipp({scenarioXml: uacShortCall(), target: gateway.sip, service: '+17020000001'})
    const [a, b] = await Promise.all([caller.done, backup.done])
    assert.equal(b.code, 0, b.output)
    assert.equal(a.code, 0, a.output)
    assert.equal((await gateway.hangupOf('+17020000001')).status, 'completed')
    assert.match(daemonLog(), /"down":\["probed"\],"using":"backup".*down trunks skipped/)
  })

  it('a 503 to OPTIONS keeps a trunk down; up again after 2 answered probes (flapping back)', async () => {
    await waitForReachability('probed', 'down')
    const refusing = await optionsPeer(ports.probed, 503, 'Service Unavailable')
    try {
      const answered503 = await waitFor('a probe answered 503', async () => {
        const trunk = await trunkOf('probed')
        return trunk.reachability.lastStatus === 503 ? trunk : undefined
      })
      assert.equal(answered503.reachability.state, 'down')
      assert.match(answered503.reachability.lastError?.message ?? '', /503 Service Unavailable/)
    } finally {
      refusing.stop()
      await refusing.done
    }
    const peer = await optionsPeer(ports.probed)
    try {
      const up = await waitForReachability('probed', 'up')
      assert.ok(up.reachability.consecutiveSuccesses >= 2, JSON.stringify(up.reachability))
      assert.equal(up.reachability.consecutiveFailures, 0)
      assert.equal(await trunkUp('probed'), 1)
      assert.match(daemonLog(), /"trunk_id":"probed".*trunk up again/)
    } finally {
      peer.stop()
    }
  })

  it('a call whose every trunk is down fails at once: no INVITE leaves, cause 34', async () => {
    const down = await waitForReachability('lonely', 'down')
    assert.equal(down.failover.length, 0)
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gateway.sip, service: '+17030000001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gateway.hangupOf('+17030000001')
    assert.equal(end.status, 'failed')
    assert.equal(end.q850_cause, 34, 'the dialplan passes the bridge\'s failure on as cause 34 (503)')
    assert.match(daemonLog(), /"down":\["lonely"\].*every trunk of the call is down/)
    assert.match(daemonLog(), /"outcome":"failed","cause":34.*bridge dial finished/)
  })

  it('trunks status for a human: one row per trunk with its reachability and failover list', async () => {
    await waitForReachability('lonely', 'down')
    const {code, stdout} = await gateway.home.run(['trunks', 'status'])
    assert.equal(code, 0, stdout)
    assert.match(stdout, /refusing .*off \(taken as up\).*backup/)
    assert.match(stdout, /lonely .*down/)
    assert.match(stdout, /lonely: keepalive: /)
  })
})
