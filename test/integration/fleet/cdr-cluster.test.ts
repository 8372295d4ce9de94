// The fleet's CDR store and operator view, against scripts/fleet: a 2 x 2
// ClickHouse 18.16 cluster on Debian's ZooKeeper (tables made by `clutchcall
// cdr migrate --cluster fleet --node-column`), written by three gateways
// through the Distributed table, and one Prometheus scraping the gateways,
// read with the shipped Grafana dashboard's queries.
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {allPanels, loadDashboard} from '../../helpers/dashboards.js'
import {CALLER_OPTIONS, TestFleet, assertBilledOnce, callerOutcomes, cdrsOf, uacThroughBalancer} from '../../helpers/fleet.js'
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

const flushAll = async () => {
  for (const gateway of fleet.state.gateways) {
    const flushed = await fleet.cli(gateway.name, ['cdr', 'flush', '--timeout', '90'])
    assert.equal(flushed.code, 0, JSON.stringify(flushed.body))
  }
}

describe('the CDR cluster', () => {
  it('loses a replica during load: every answered call still lands exactly once, and the replica catches up', {timeout: 300_000}, async () => {
    const prefix = '+1777201'
    const calls = 200
    const log = join(sippDir, 'replica.log')
    // gw-3 writes to ch-s2-r1 (scripts/fleet gives each gateway its own server): killing it makes gw-3
    // spool, and the other gateways' Distributed tables send shard 2's rows to its other replica.
    const victim = fleet.state.clickhouse.find((server) => server.shard === 2 && server.replica === 1)
    const sibling = fleet.state.clickhouse.find((server) => server.shard === 2 && server.replica === 2)
    assert.ok(victim && sibling, 'the fleet has two replicas of shard 2')
    sipp = await runSipp({
      scenarioXml: uacThroughBalancer(prefix, 1000),
      target: fleet.balancer,
      calls,
      timeoutS: 120,
      extraArgs: ['-r', '20', '-recv_timeout', '10000', '-trace_logs', '-log_file', log, ...CALLER_OPTIONS],
    })
    await waitFor('calls answered before the outage', () => (callerOutcomes(log).answered.size >= 40 ? true : undefined), 60_000)
    await fleet.stop(victim.name, {kill: true})
    const {code, output} = await sipp.done
    const outcome = callerOutcomes(log)
    // The point is the billing: a call the whole fleet refused (every gateway busy on a loaded machine) is no CDR matter.
    assert.ok(outcome.answered.size >= calls * 0.9, `answered ${outcome.answered.size} of ${calls} (SIPp exit ${code}):\n${output}`)

    // gw-3 could not write meanwhile: its CDRs wait in its spool.
    const waiting = await fleet.cli('gw-3', ['cdr', 'status'])
    assert.ok(Number(waiting.body.result.failedAttempts) > 0, `gw-3 had to wait for ClickHouse: ${JSON.stringify(waiting.body.result)}`)

    await fleet.start(victim.name)
    await flushAll()
    const rows = await cdrsOf(fleet, prefix, outcome.answered.size)
    assertBilledOnce(outcome.answered.keys(), rows)
    assert.ok(rows.some((row) => row.node === 'gw-3'), 'gw-3 sent what it spooled')

    // The restarted replica fetches what its sibling took meanwhile: both hold shard 2's rows.
    const local = `${fleet.state.database}.${fleet.state.table}_local`
    const count = async (server: typeof victim) => Number((await fleet.query(`SELECT count() FROM ${local} WHERE startsWith(to_number, '${prefix}')`, server)).trim())
    const inShard = await waitFor('the replicas of shard 2 to agree', async () => {
      const [a, b] = [await count(victim), await count(sibling)]
      return a === b && a > 0 ? a : undefined
    }, 60_000)
    const shard1 = fleet.state.clickhouse.find((server) => server.shard === 1)
    assert.equal(inShard + (await count(shard1 as typeof victim)), rows.length, 'each row is in one shard')
  })

  it('is created by cdr migrate --cluster, which runs again without change; the writers found the node column', {timeout: 60_000}, async () => {
    const again = await fleet.cli('gw-2', ['cdr', 'migrate', '--cluster', fleet.state.cluster, '--node-column'])
    assert.equal(again.code, 0, JSON.stringify(again.body))
    assert.equal(again.body.result.table, fleet.table)
    assert.deepEqual(again.body.result.node_column_alters, [], 'the column was there already')
    for (const server of fleet.state.clickhouse) {
      const tables = await fleet.rows<{name: string; engine: string}>(`SELECT name, engine FROM system.tables WHERE database = '${fleet.state.database}' ORDER BY name`, server)
      assert.deepEqual(tables, [{name: fleet.state.table, engine: 'Distributed'}, {name: `${fleet.state.table}_local`, engine: 'ReplicatedMergeTree'}], server.name)
    }
    for (const gateway of fleet.state.gateways) {
      const status = await fleet.cli(gateway.name, ['cdr', 'status'])
      assert.equal(status.code, 0, JSON.stringify(status.body))
      assert.equal(status.body.result.nodeColumn, true, `${gateway.name}: ${JSON.stringify(status.body.result)}`)
    }
  })

  it('cdr query and cdr stats read the whole fleet through the Distributed table, on 18.16', {timeout: 60_000}, async () => {
    await flushAll()
    const inTable = await fleet.rows<{call_sid: string}>(`SELECT call_sid FROM ${fleet.table} ORDER BY call_sid`, fleet.state.clickhouse[3])
    assert.ok(inTable.length > 0, 'the earlier tests left CDRs in the cluster')
    const query = await fleet.cli('gw-1', ['cdr', 'query', '--limit', '1000000'])
    assert.equal(query.code, 0, JSON.stringify(query.body.error))
    assert.deepEqual((query.body.result.rows as Array<{call_sid: string}>).map((row) => row.call_sid).sort(), inTable.map((row) => row.call_sid), 'every gateway\'s rows, once')
    const stats = await fleet.cli('gw-2', ['cdr', 'stats', '--group-by', 'trunk'])
    assert.equal(stats.code, 0, JSON.stringify(stats.body.error))
    assert.equal((stats.body.result.rows as Array<{calls: number}>).reduce((sum, row) => sum + row.calls, 0), inTable.length)
    // The node column the writers fill: one query on any server counts each gateway's rows (docs/fleet.md).
    const perNode = await fleet.rows<{node: string; calls: string}>(`SELECT node, count() AS calls FROM ${fleet.table} GROUP BY node ORDER BY node`, fleet.state.clickhouse[0])
    assert.deepEqual(perNode.map((row) => row.node), ['gw-1', 'gw-2', 'gw-3'])
    assert.equal(perNode.reduce((sum, row) => sum + Number(row.calls), 0), inTable.length)
  })
})

describe('the operator view', () => {
  const prometheus = () => `http://${fleet.state.prometheus.address}:${fleet.state.prometheus.port}/api/v1`
  const query = async (expr: string, time: number) => {
    const response = await fetch(`${prometheus()}/query?${new URLSearchParams({query: expr, time: String(time)})}`)
    return (await response.json()) as {status: string; error?: string; data?: {result: Array<{metric: Record<string, string>; value: [number, string]}>}}
  }

  it('one Prometheus scrapes every gateway, labelled with its node name', {timeout: 60_000}, async () => {
    const up = await waitFor('every gateway scraped', async () => {
      const result = await query('up{job="clutchcall"}', Date.now() / 1000)
      const nodes = (result.data?.result ?? []).filter((sample) => sample.value[1] === '1').map((sample) => sample.metric.node).sort()
      return nodes.length === fleet.state.gateways.length ? nodes : undefined
    }, 30_000)
    assert.deepEqual(up, ['gw-1', 'gw-2', 'gw-3'])
  })

  it('the shipped dashboard answers per gateway and for the whole fleet, and the fleet is the sum of its gateways', {timeout: 120_000}, async () => {
    const targets = allPanels(loadDashboard()).filter((panel) => panel.type !== 'row').flatMap((panel) => (panel.targets ?? []).map((target) => ({panel, target})))
    const instances = fleet.state.gateways.map((gateway) => `${gateway.address}:${gateway.metricsPort}`)
    // After the calls of the tests above were scraped; one evaluation time for every query, so sums compare exactly.
    await waitFor('calls scraped from every gateway', async () => {
      const result = await query('sum by (instance) (clutchcall_calls_total)', Date.now() / 1000)
      return (result.data?.result ?? []).filter((sample) => Number(sample.value[1]) > 0).length === instances.length ? true : undefined
    }, 30_000)
    const at = Date.now() / 1000
    const fill = (expr: string, instance: string) =>
      expr.replace(/\$__rate_interval/g, '1m').replace(/\$__interval/g, '2s').replace(/\$__range/g, '5m').replace(/\$instance/g, instance).replace(/\$tenant/g, '.*').replace(/\$trunk/g, '.*')
    const problems: string[] = []
    let compared = 0
    for (const {panel, target} of targets) {
      const fleetWide = await query(fill(target.expr, '.*'), at)
      if (fleetWide.status !== 'success') problems.push(`"${panel.title}" fleet-wide: ${fleetWide.error}`)
      let perNodeSum = 0
      for (const instance of instances) {
        const one = await query(fill(target.expr, instance.replace(/\./g, '\\\\.')), at)
        if (one.status !== 'success') problems.push(`"${panel.title}" on ${instance}: ${one.error}`)
        perNodeSum += (one.data?.result ?? []).reduce((sum, sample) => sum + Number(sample.value[1]), 0)
      }
      // A plain sum of counters over the gateways: the fleet's figure is the sum of each gateway's.
      if (/^sum(?: by \([^)]*\))? ?\((?:increase|rate)\(clutchcall_calls_total\{/.test(target.expr.trim()) && !target.expr.includes('/')) {
        const whole = (fleetWide.data?.result ?? []).reduce((sum, sample) => sum + Number(sample.value[1]), 0)
        assert.ok(Math.abs(whole - perNodeSum) < 1e-6 * Math.max(1, whole), `"${panel.title}": fleet ${whole}, gateways ${perNodeSum}`)
        compared += 1
      }
    }
    assert.deepEqual(problems, [], problems.join('\n'))
    assert.ok(targets.length >= 25, `${targets.length} panel queries`)
    process.stdout.write(`# ${targets.length} panel queries answered fleet-wide and for each of ${instances.length} gateways; ${compared} compared as sums\n`)
  })
})
