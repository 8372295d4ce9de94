// The shipped Prometheus rules only read metrics the daemon exports, name their
// recording rules `level:metric:operations`, and give every alert a `for:`, a
// severity and the annotations an on-call engineer reads.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {parse} from 'yaml'
import {loadRules, PROMQL_FUNCTIONS, promqlNames, RULES_TEST_FILE, seriesNames} from '../../../helpers/dashboards.js'

const groups = loadRules()
const rules = groups.flatMap((group) => group.rules)
const series = seriesNames()

describe('contrib/prometheus/clutchcall.rules.yml', () => {
  it('records ASR, ACD, MOS p50 and shard lag p99 under level:metric:operations names', () => {
    const records = rules.flatMap((rule) => (rule.record ? [rule.record] : []))
    for (const name of records) assert.match(name, /^[a-z_]+:clutchcall_[a-z0-9_]+:[a-z0-9_]+$/, name)
    for (const name of ['tenant_trunk:clutchcall_asr:ratio_rate5m', 'tenant_trunk:clutchcall_acd_seconds:mean5m', 'tenant:clutchcall_estimated_mos:p50_5m', 'instance_shard:clutchcall_codec_engine_lag_us:p99_5m']) {
      assert.ok(records.includes(name), `no recording rule ${name}`)
    }
    // The level names the labels the rule keeps.
    for (const rule of rules.filter((candidate) => candidate.record)) {
      const kept = (rule.record ?? '').split(':')[0]?.split('_') ?? []
      const by = /by \(([^)]*)\)/.exec(rule.expr)?.[1]?.split(',').map((label) => label.trim()).filter((label) => label !== 'le') ?? []
      assert.deepEqual([...by].sort(), [...kept].sort(), `${rule.record} keeps ${by.join(',')}`)
    }
  })

  it('reads only metrics the daemon exports, or rules recorded earlier, with real PromQL functions', () => {
    const recorded = new Set<string>()
    for (const rule of rules) {
      const {metrics, functions} = promqlNames(rule.expr)
      assert.ok(metrics.length > 0, `${rule.record ?? rule.alert}: no metric`)
      for (const metric of metrics) assert.ok(series.has(metric) || recorded.has(metric), `${rule.record ?? rule.alert}: unknown metric ${metric}`)
      for (const fn of functions) assert.ok(PROMQL_FUNCTIONS.has(fn), `${rule.record ?? rule.alert}: unknown function ${fn}`)
      if (rule.record) recorded.add(rule.record)
    }
  })

  it('gives every alert a for:, a severity, a summary and a description, and covers MOS, ASR, shard lag, CDR, HEP and SIP protection', () => {
    const alerts = rules.filter((rule) => rule.alert)
    assert.deepEqual(alerts.map((rule) => rule.alert).sort(), [
      'ClutchCallASRDrop', 'ClutchCallASRLow', 'ClutchCallCdrInsertErrors', 'ClutchCallCdrSpoolGrowing', 'ClutchCallHepCaptureLeftOn', 'ClutchCallLowMOS', 'ClutchCallShardLagHigh',
      'ClutchCallSipFlood', 'ClutchCallSipHardLimitReached', 'ClutchCallSipOverloaded',
    ])
    for (const rule of alerts) {
      assert.match(rule.for ?? '', /^\d+[smh]$/, `${rule.alert}: for`)
      assert.ok(['warning', 'critical'].includes(rule.labels?.severity ?? ''), `${rule.alert}: severity ${rule.labels?.severity}`)
      assert.ok((rule.annotations?.summary ?? '').length > 10, `${rule.alert}: summary`)
      assert.ok((rule.annotations?.description ?? '').length > 40, `${rule.alert}: description`)
    }
    const byName = new Map(alerts.map((rule) => [rule.alert, rule]))
    assert.match(byName.get('ClutchCallLowMOS')?.expr ?? '', /< 3\.6/)
    assert.match(byName.get('ClutchCallShardLagHigh')?.expr ?? '', /> 20000/)
    assert.equal(byName.get('ClutchCallHepCaptureLeftOn')?.for, '1h')
    assert.match(byName.get('ClutchCallSipOverloaded')?.expr ?? '', /reason=~"overload\|dialog_limit"/)
    assert.match(byName.get('ClutchCallSipFlood')?.expr ?? '', /> 100/)
  })

  it('has promtool unit tests for every rule: each recording rule\'s value, each alert firing and not firing', () => {
    interface UnitTests {
      rule_files: string[]
      tests: Array<{promql_expr_test?: Array<{expr: string}>; alert_rule_test?: Array<{alertname: string; exp_alerts?: unknown[]}>}>
    }
    const unitTests = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as UnitTests
    assert.deepEqual(unitTests.rule_files, ['clutchcall.rules.yml'])
    const checkedExprs = unitTests.tests.flatMap((group) => (group.promql_expr_test ?? []).map((test) => test.expr))
    const alertTests = unitTests.tests.flatMap((group) => group.alert_rule_test ?? [])
    for (const rule of rules) {
      if (rule.record) {
        assert.ok(checkedExprs.some((expr) => promqlNames(expr).metrics.includes(rule.record ?? '')), `no promql_expr_test checks ${rule.record}`)
      } else {
        const mine = alertTests.filter((test) => test.alertname === rule.alert)
        assert.ok(mine.some((test) => (test.exp_alerts ?? []).length > 0), `${rule.alert} is never tested firing`)
        assert.ok(mine.some((test) => (test.exp_alerts ?? []).length === 0), `${rule.alert} is never tested not firing`)
      }
    }
  })
})
