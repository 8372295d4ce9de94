// Every query of the shipped Grafana dashboard, run by a real Prometheus that
// scrapes a real daemon which carried real SIPp calls (answered with and without
// audio, busy, bridged) with HEP capture on to a collector here, and the
// shipped rules loaded into the same Prometheus: no query errors, data wherever
// the calls made some, for the whole fleet and for one gateway, tenant and
// trunk; every rule evaluates cleanly, the recording rules give the ASR, ACD
// and MOS those calls had, and the HEP alert is pending.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {allPanels, loadDashboard, RULES_FILE, type Panel, type Target} from '../../../helpers/dashboards.js'
import {sleep, TestGateway, waitFor} from '../../../helpers/gateway.js'
import {HepCollector} from '../../../helpers/hep.js'
import {runSipp, uacExpectingRefusal, uacShortCall, uacWithAudio, uasAnswering, uasBusy} from '../../../helpers/peers.js'
import {TestPrometheus, type QueryResult, type Sample} from '../../../helpers/prometheus.js'

const config = (callee: number) => `tenants:
  - { id: echo, dialplan: default }
  - { id: bridger, dialplan: bridge-plan }
trunks:
  - id: local-echo
    tenant: echo
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"] }
  - id: local-bridge
    tenant: bridger
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1777*"] }
  - id: callee
    tenant: bridger
    outbound: { uri: "sip:127.0.0.1:${callee}" }
dialplans:
  bridge-plan:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: callee, timeout_s: 2, next: { answered: bye, busy: busy, no-answer: noanswer, failed: failed } }
      busy: { type: hangup, cause: 17 }
      noanswer: { type: hangup, cause: 19 }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }
`

/**
 * Targets allowed to return series whose values are all NaN (never an error,
 * never an empty result): no SDK client connects over QUIC in this test, so the
 * handshake histogram's buckets are all zero and every quantile of it is NaN.
 */
const NO_NUMBER_ALLOWED = new Set(['QUIC handshake time of SDK clients p50 / p95 (5m)/A', 'QUIC handshake time of SDK clients p50 / p95 (5m)/B'])

const gw = new TestGateway()
const prometheus = new TestPrometheus()
const collector = new HepCollector()
let calleePort = 0
let instance = ''

/** One wave of calls: two answered echo calls (one with 7 s of audio), then a busy and an answered bridged call. */
const wave = async (n: number) => {
  const audio = runSipp({scenarioXml: uacWithAudio(), target: gw.sip, service: `+1555000${n}001`})
  const short = await runSipp({scenarioXml: uacShortCall(), target: gw.sip, service: `+1555000${n}002`})
  for (const [callee, caller, suffix] of [
    [uasBusy(), uacExpectingRefusal(486), 1],
    [uasAnswering(), uacShortCall(), 2],
  ] as const) {
    const b = await runSipp({scenarioXml: callee, port: calleePort, extraArgs: ['-rtp_echo']})
    const a = await runSipp({scenarioXml: caller, target: gw.sip, service: `+1777000${n}00${suffix}`})
    for (const {code, output} of await Promise.all([a.done, b.done])) assert.equal(code, 0, output)
  }
  for (const {code, output} of await Promise.all([(await audio).done, short.done])) assert.equal(code, 0, output)
}

const numbers = (sample: Sample): number[] => (sample.values ?? (sample.value ? [sample.value] : [])).map(([, value]) => Number(value))

/** What is wrong with a panel query's answer, or undefined. */
const problemWith = (result: QueryResult, noNumberAllowed: boolean): string | undefined => {
  if (result.status !== 'success') return `${result.status}: ${result.error}`
  const series = result.data?.result ?? []
  if (series.length === 0) return 'empty result'
  if (!noNumberAllowed && !series.some((sample) => numbers(sample).some(Number.isFinite))) return `only NaN in ${JSON.stringify(series).slice(0, 300)}`
  return undefined
}

const scalar = async (expr: string): Promise<number> => {
  const result = await prometheus.query(expr)
  assert.equal(result.status, 'success', `${expr}: ${result.error}`)
  const [sample, ...others] = result.data?.result ?? []
  assert.ok(sample?.value, `${expr}: no result`)
  assert.equal(others.length, 0, `${expr}: more than one series`)
  return Number(sample.value[1])
}

before(async () => {
  calleePort = await freePort()
  await gw.start(config(calleePort))
  instance = `127.0.0.1:${gw.metricsPort}`
  await collector.start()
  const enabled = await gw.home.json(['hep', 'enable', '--endpoint', `127.0.0.1:${collector.port}`])
  assert.equal(enabled.code, 0, JSON.stringify(enabled.body))
  await prometheus.start([instance], [RULES_FILE])
  await prometheus.until('the gateway scraped', async () => ((await scalar('up')) === 1 ? true : undefined))
  // The first wave creates the labelled series (a counter's first value is not an increase
  // to Prometheus); the second, a few scrapes later, is what rates and increases see.
  await wave(1)
  await sleep(3000)
  await wave(2)
  // Eight calls ended: the gateway counts each when its hangup completes, which may follow SIPp's exit.
  const total = await waitFor('eight calls counted by the gateway', async () => {
    const text = await (await fetch(`http://${instance}/metrics`)).text()
    const sum = [...text.matchAll(/^clutchcall_calls_total\{[^}]*\} (\d+)$/gm)].reduce((counted, match) => counted + Number(match[1]), 0)
    return sum === 8 ? sum : undefined
  })
  await prometheus.until('the last calls scraped', async () => ((await scalar('sum(clutchcall_calls_total)')) === total ? true : undefined))
  // Rules run on their own 1 s clock: wait for an evaluation that saw the second wave's audio call.
  await prometheus.until('the recording rules evaluated after the last scrape', async () => {
    const result = await prometheus.query('tenant:clutchcall_estimated_mos:p50_5m{tenant="echo"}')
    return Number.isFinite(Number(result.data?.result[0]?.value?.[1])) ? true : undefined
  })
}, {timeout: 150_000})

after(async () => {
  await prometheus.stop()
  collector.close()
  await gw.stop()
})

const dashboard = loadDashboard()
const targets: Array<{panel: Panel; target: Target}> = allPanels(dashboard)
  .filter((panel) => panel.type !== 'row')
  .flatMap((panel) => (panel.targets ?? []).map((target) => ({panel, target})))

/** The variables as Grafana fills them in: `.*` for All, an escaped regex for one value. */
const fill = (expr: string, values: {instance: string; tenant: string; trunk: string}) =>
  expr
    .replace(/\$__rate_interval/g, '1m')
    .replace(/\$__interval/g, '2s')
    .replace(/\$__range/g, '5m')
    .replace(/\$instance/g, values.instance)
    .replace(/\$tenant/g, values.tenant)
    .replace(/\$trunk/g, values.trunk)

const runAll = async (values: {instance: string; tenant: string; trunk: string}) => {
  assert.ok(targets.length >= 25, `${targets.length} targets`)
  const problems: string[] = []
  for (const {panel, target} of targets) {
    const expr = fill(target.expr, values)
    const result = target.instant ? await prometheus.query(expr) : await prometheus.queryRange(expr, 60)
    const problem = problemWith(result, NO_NUMBER_ALLOWED.has(`${panel.title}/${target.refId}`))
    if (problem) problems.push(`"${panel.title}" ${target.refId}: ${problem}\n  ${expr}`)
  }
  assert.deepEqual(problems, [], problems.join('\n'))
}

describe('the Grafana dashboard against Prometheus scraping a gateway that carried calls', {timeout: 60_000}, () => {
  it('answers every panel query for the whole fleet (All in every variable): no error, data in each', async () => {
    await runAll({instance: '.*', tenant: '.*', trunk: '.*'})
  })

  it('answers every panel query for one gateway, one tenant and one trunk (regex-escaped as Grafana sends them)', async () => {
    await runAll({instance: instance.replace(/\./g, '\\\\.'), tenant: 'echo', trunk: 'local-echo'})
  })

  it('shows 100% ASR for the echo tenant and a partial one for the bridged trunk with a busy callee', async () => {
    const asr = targets.find(({panel}) => panel.title === 'ASR by tenant/trunk (5m)')
    assert.ok(asr)
    const result = await prometheus.query(fill(asr.target.expr, {instance: '.*', tenant: '.*', trunk: '.*'}))
    const byTrunk = new Map((result.data?.result ?? []).map((sample) => [`${sample.metric.tenant}/${sample.metric.trunk}`, Number(sample.value?.[1])]))
    assert.equal(byTrunk.get('echo/local-echo'), 1)
    const bridged = byTrunk.get('bridger/local-bridge') ?? NaN
    assert.ok(bridged > 0 && bridged < 1, `bridged ASR ${bridged}`)
  })

  it('fills the tenant, trunk and instance variables from the series their queries name', async () => {
    const values = async (label: string, match: string) => (await prometheus.get<{status: string; data: string[]}>(`/label/${label}/values`, {'match[]': match})).data
    assert.deepEqual(await values('instance', 'clutchcall_cdr_pending_rows'), [instance])
    assert.deepEqual(await values('tenant', `clutchcall_calls_active{instance=~"${instance}"}`), ['bridger', 'echo'])
    assert.deepEqual(await values('trunk', `clutchcall_calls_active{instance=~".*", tenant=~"echo"}`), ['local-echo'])
  })
})

describe('the shipped rules in that Prometheus', {timeout: 60_000}, () => {
  it('load, and every rule evaluates without error', async () => {
    interface RuleState {
      name: string
      health: string
      lastError?: string
      type: string
    }
    const rules = await prometheus.until('every rule evaluated once', async () => {
      const body = await prometheus.get<{status: string; data: {groups: Array<{name: string; file: string; rules: RuleState[]}>}}>('/rules')
      const all = body.data.groups.flatMap((group) => group.rules)
      return all.length > 0 && all.every((rule) => rule.health !== 'unknown') ? {groups: body.data.groups, all} : undefined
    })
    assert.deepEqual(rules.groups.map((group) => group.name).sort(), ['clutchcall.alerts', 'clutchcall.recording'])
    assert.equal(rules.all.length, 19)
    for (const rule of rules.all) {
      assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`)
      assert.ok(!rule.lastError, `${rule.name}: ${rule.lastError}`)
    }
  })

  it('record the ASR, ACD and MOS of the calls made', async () => {
    assert.equal(await scalar('tenant_trunk:clutchcall_asr:ratio_rate5m{tenant="echo", trunk="local-echo"}'), 1)
    const bridged = await scalar('tenant_trunk:clutchcall_asr:ratio_rate5m{tenant="bridger", trunk="local-bridge"}')
    assert.ok(bridged > 0 && bridged < 1, `bridged ASR ${bridged}`)
    // Echo calls of the second wave: one of ~7 s of audio and one of ~0.3 s.
    const acd = await scalar('tenant_trunk:clutchcall_acd_seconds:mean5m{tenant="echo", trunk="local-echo"}')
    assert.ok(acd > 1 && acd < 10, `ACD ${acd}`)
    // A clean loopback call: the E-model's estimate is well above the alert's 3.6.
    const mos = await scalar('tenant:clutchcall_estimated_mos:p50_5m{tenant="echo"}')
    assert.ok(mos >= 3.6 && mos <= 4.5, `MOS p50 ${mos}`)
    const attempts = await scalar('tenant_trunk:clutchcall_calls:increase5m{tenant="bridger", trunk="local-bridge"}')
    assert.ok(attempts > 0, `attempts ${attempts}`)
    const lag = await prometheus.query('instance_shard:clutchcall_codec_engine_lag_us:p99_5m')
    assert.ok((lag.data?.result ?? []).some((sample) => sample.metric.instance === instance && Number.isFinite(Number(sample.value?.[1]))), JSON.stringify(lag.data))
  })

  it('hold the HEP capture alert pending while capture is on (it fires after an hour)', async () => {
    const alerts = await prometheus.until('the HEP alert pending', async () => {
      const body = await prometheus.get<{data: {alerts: Array<{labels: Record<string, string>; state: string}>}}>('/alerts')
      const hep = body.data.alerts.filter((alert) => alert.labels.alertname === 'ClutchCallHepCaptureLeftOn')
      return hep.length > 0 ? hep : undefined
    })
    assert.deepEqual(alerts.map((alert) => [alert.state, alert.labels.instance, alert.labels.severity]), [['pending', instance, 'warning']])
    assert.ok(collector.frames.length > 0, 'the collector got the captured frames')
  })
})
