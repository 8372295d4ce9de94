// The embedded default: no ClickHouse configured, the spool is the store, and
// `cdr query` / `cdr stats` (chDB over the spool files) find the calls the
// gateway carried, while the daemon runs and after it stopped.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {TestGateway} from '../../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall} from '../../../../helpers/peers.js'

const gateway = new TestGateway()

before(() =>
  gateway.start(`tenants:
  - { id: acme, dialplan: default }
  - { id: busy, dialplan: busy-plan }
trunks:
  - { id: carrier-a, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] } }
  - { id: carrier-b, tenant: busy, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1666*"] } }
dialplans:
  busy-plan:
    start: busy
    nodes:
      busy: { type: hangup, cause: 17 }
`),
)
after(() => gateway.stop())

describe('the embedded CDR store', () => {
  it('answers cdr query and cdr stats with the calls just made, and cdr status while running and stopped', async () => {
    const answered = await runSipp({scenarioXml: uacShortCall(1200), target: gateway.sip, service: '+15550007000', calls: 3, extraArgs: ['-r', '3']})
    const busy = await runSipp({scenarioXml: uacExpectingRefusal(486), target: gateway.sip, service: '+16660007000'})
    for (const peer of [answered, busy]) {
      const {code, output} = await peer.done
      assert.equal(code, 0, output)
    }
    const talked = await gateway.hangupOf('+15550007000')
    await gateway.hangupOf('+16660007000')

    const one = await gateway.home.json(['cdr', 'query', '--call-sid', talked.call_sid])
    assert.equal(one.code, 0, JSON.stringify(one.body))
    assert.equal(one.body.result.store, 'embedded')
    assert.equal(one.body.result.rows.length, 1)
    const row = one.body.result.rows[0]
    for (const column of ['call_sid', 'tenant_id', 'trunk_id', 'direction', 'from_number', 'to_number', 'start_timestamp_ms', 'answer_timestamp_ms', 'end_timestamp_ms', 'duration_seconds', 'q850_cause', 'status', 'codec'] as const) {
      assert.equal(row[column], talked[column], column)
    }
    assert.ok(talked.duration_seconds >= 1, `answered for ${talked.duration_seconds} s`)

    const stats = await gateway.home.json(['cdr', 'stats', '--group-by', 'tenant'])
    assert.equal(stats.code, 0, JSON.stringify(stats.body))
    const byTenant = new Map<string, {calls: number; answered: number; asr: number}>(stats.body.result.rows.map((r: {key: string; tenant_id?: string; calls: number; answered: number; asr: number}) => [r.key ?? r.tenant_id, r]))
    assert.equal(byTenant.get('acme')?.calls, 3)
    assert.equal(byTenant.get('acme')?.answered, 3)
    assert.equal(byTenant.get('busy')?.calls, 1)
    assert.equal(byTenant.get('busy')?.answered, 0)

    const running = await gateway.home.json(['cdr', 'status'])
    assert.equal(running.body.result.daemon, 'running')
    assert.equal(running.body.result.store, 'embedded')
    assert.equal(running.body.result.rowsWritten, 4)
    assert.equal(running.body.result.pendingRows, 0)

    const stopped = await gateway.home.json(['stop'])
    assert.equal(stopped.code, 0)
    const offline = await gateway.home.json(['cdr', 'status'])
    assert.equal(offline.code, 0, JSON.stringify(offline.body))
    assert.equal(offline.body.result.daemon, 'stopped')
    assert.ok(offline.body.result.spool.bytes > 0)
    const afterStop = await gateway.home.json(['cdr', 'query', '--to', '+1555'])
    assert.equal(afterStop.body.result.rows.length, 3, 'the store outlives the daemon')
  })
})
