// The shipped Grafana dashboard is loadable and only asks for what the daemon
// exports: valid JSON, a Prometheus datasource on every panel, unique ids, a
// grid without overlaps, and every target's PromQL built from the metric
// families of daemon/telemetry/metrics/families.ts (or the shipped recording
// rules), filtered by the tenant, trunk and instance variables.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'
import {allPanels, DASHBOARD_FILE, loadDashboard, loadRules, matchersOf, PROMQL_FUNCTIONS, promqlNames, seriesNames, substituteVariables} from '../../../helpers/dashboards.js'

const dashboard = loadDashboard()
const panels = allPanels(dashboard)
const contentPanels = panels.filter((panel) => panel.type !== 'row')
const targets = contentPanels.flatMap((panel) => (panel.targets ?? []).map((target) => ({panel, target})))
const series = seriesNames()
const recorded = new Set(loadRules().flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))))
const GRAFANA_VARIABLES = new Set(['__rate_interval', '__interval', '__range'])

describe('promqlNames (the lexer these checks rely on)', () => {
  it('finds metric and function names, not labels, strings, ranges, keywords or numbers', () => {
    const names = promqlNames('sum by (tenant, le) (rate(foo_total{a="b", c=~"x|y"}[5m])) / on (instance) group_left bar:baz:rate5m offset 1h > 1e3 and absent(qux)')
    assert.deepEqual(names.metrics.sort(), ['bar:baz:rate5m', 'foo_total', 'qux'])
    assert.deepEqual(names.functions.sort(), ['absent', 'rate', 'sum'])
    assert.deepEqual(promqlNames('1-rate(x_total[1h30m]) * 0.5 + 2.5e-3'), {metrics: ['x_total'], functions: ['rate']})
  })

  it('matchersOf returns the matchers of every selector of one metric', () => {
    assert.deepEqual(matchersOf('a_total{x="1"} / a_total / a_total_b{y="2"}', 'a_total'), ['x="1"', ''])
  })
})

describe('the Grafana dashboard', () => {
  it('is one JSON object with a title, a uid and a current schema version', () => {
    const parsed: unknown = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8'))
    assert.equal(typeof parsed, 'object')
    assert.equal(dashboard.title, 'ClutchCall')
    assert.match(dashboard.uid, /^[a-z0-9-]{1,40}$/)
    assert.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`)
  })

  it('has a Prometheus datasource variable and multi-value instance, tenant and trunk variables queried through it', () => {
    const variables = new Map(dashboard.templating.list.map((variable) => [variable.name, variable]))
    const datasource = variables.get('datasource')
    assert.equal(datasource?.type, 'datasource')
    assert.equal(datasource?.query, 'prometheus')
    for (const name of ['instance', 'tenant', 'trunk']) {
      const variable = variables.get(name)
      assert.ok(variable, `variable ${name}`)
      assert.equal(variable.type, 'query')
      assert.deepEqual(variable.datasource, {type: 'prometheus', uid: '${datasource}'})
      assert.equal(variable.includeAll, true)
      assert.equal(variable.multi, true)
      assert.equal(variable.allValue, '.*')
      const query = typeof variable.query === 'string' ? variable.query : variable.query.query
      const match = /^label_values\(([a-z_:]+)(\{[^}]*\})?, ([a-z_]+)\)$/.exec(query)
      assert.ok(match, `${name}: ${query}`)
      assert.equal(match[3], name)
      const family = series.get(match[1] ?? '')
      assert.ok(family, `${name} is read from ${match[1]}, which the daemon does not export`)
      if (name !== 'instance') assert.ok(family.labelNames.includes(name), `${match[1]} has no ${name} label`)
    }
  })

  it('gives every panel a unique id and a place on the 24-column grid that no other panel takes', () => {
    const ids = panels.map((panel) => panel.id)
    assert.equal(new Set(ids).size, ids.length, `duplicate ids in ${ids.join(',')}`)
    for (const panel of panels) {
      const {h, w, x, y} = panel.gridPos
      for (const value of [h, w, x, y]) assert.ok(Number.isInteger(value) && value >= 0, `${panel.title}: gridPos ${JSON.stringify(panel.gridPos)}`)
      assert.ok(w >= 1 && x + w <= 24 && h >= 1, `${panel.title}: gridPos ${JSON.stringify(panel.gridPos)}`)
      if (panel.type === 'row') assert.deepEqual({h, w, x}, {h: 1, w: 24, x: 0}, panel.title)
    }
    for (const [index, a] of panels.entries()) {
      for (const b of panels.slice(index + 1)) {
        const overlap = a.gridPos.x < b.gridPos.x + b.gridPos.w && b.gridPos.x < a.gridPos.x + a.gridPos.w && a.gridPos.y < b.gridPos.y + b.gridPos.h && b.gridPos.y < a.gridPos.y + a.gridPos.h
        assert.equal(overlap, false, `"${a.title}" and "${b.title}" overlap`)
      }
    }
  })

  it('has a Prometheus datasource, a description and at least one query on every panel, with unique refIds', () => {
    assert.ok(contentPanels.length >= 15, `${contentPanels.length} panels`)
    for (const panel of contentPanels) {
      assert.ok(['timeseries', 'stat', 'heatmap', 'table', 'gauge', 'bargauge'].includes(panel.type), `${panel.title}: type ${panel.type}`)
      assert.deepEqual(panel.datasource, {type: 'prometheus', uid: '${datasource}'}, panel.title)
      assert.ok((panel.description ?? '').length > 20, `${panel.title} explains itself`)
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no target`)
      const refIds = (panel.targets ?? []).map((target) => target.refId)
      assert.equal(new Set(refIds).size, refIds.length, `${panel.title}: refIds ${refIds.join(',')}`)
      for (const target of panel.targets ?? []) {
        assert.deepEqual(target.datasource, {type: 'prometheus', uid: '${datasource}'}, `${panel.title} ${target.refId}`)
        assert.ok(target.expr.trim().length > 0, `${panel.title} ${target.refId}: empty expr`)
      }
    }
  })

  it('has rows for calls, ASR/ACD, media quality and gateway health, and a panel for each item operators asked for', () => {
    const rows = panels.filter((panel) => panel.type === 'row').map((panel) => panel.title)
    assert.deepEqual(rows, ['Calls', 'ASR and ACD', 'Media quality', 'Gateway health'])
    const exprs = targets.map(({target}) => target.expr).join('\n')
    for (const needed of [
      'clutchcall_calls_active', 'clutchcall_calls_total', 'clutchcall_call_duration_seconds_sum', 'clutchcall_estimated_mos_bucket',
      'clutchcall_jitter_ms_bucket', 'clutchcall_rtp_loss_ratio', 'clutchcall_codec_engine_lag_us_bucket', 'clutchcall_cdr_pending_rows',
      'clutchcall_cdr_insert_errors_total', 'clutchcall_cdr_rows_written_total', 'clutchcall_hep_frames_sent_total', 'clutchcall_hep_send_errors_total',
      'clutchcall_hep_capture_enabled', 'clutchcall_admin_requests_total',
    ]) {
      assert.ok(matchersOf(exprs, needed).length > 0, `no panel shows ${needed}`)
    }
  })

  it('queries only metrics the daemon exports (or the shipped recording rules) with real PromQL functions', () => {
    for (const {panel, target} of targets) {
      const {metrics, functions} = promqlNames(target.expr)
      assert.ok(metrics.length > 0, `${panel.title} ${target.refId}: no metric in ${target.expr}`)
      for (const metric of metrics) assert.ok(series.has(metric) || recorded.has(metric), `${panel.title} ${target.refId}: unknown metric ${metric}`)
      for (const fn of functions) assert.ok(PROMQL_FUNCTIONS.has(fn), `${panel.title} ${target.refId}: unknown function ${fn}`)
      for (const variable of target.expr.matchAll(/\$\{?([A-Za-z_]+)\}?/g)) {
        const name = variable[1] ?? ''
        assert.ok(GRAFANA_VARIABLES.has(name) || dashboard.templating.list.some((defined) => defined.name === name), `${panel.title}: undefined variable $${name}`)
      }
      assert.doesNotMatch(substituteVariables(target.expr), /\$/, `${panel.title}: a variable the tests cannot fill in`)
    }
  })

  it('filters every selector by instance, and by tenant and trunk wherever the metric has those labels', () => {
    for (const {panel, target} of targets) {
      for (const metric of promqlNames(target.expr).metrics) {
        const labels = series.get(metric)?.labelNames ?? []
        for (const matchers of matchersOf(target.expr, metric)) {
          const where = `${panel.title} ${target.refId}: ${metric}{${matchers}}`
          assert.match(matchers, /(^|,\s*)instance=~"\$instance"/, where)
          if (labels.includes('tenant')) assert.match(matchers, /(^|,\s*)tenant=~"\$tenant"/, where)
          if (labels.includes('trunk')) assert.match(matchers, /(^|,\s*)trunk=~"\$trunk"/, where)
        }
      }
    }
  })

  it('uses the same ASR definition as the recording rule: answered over all attempts, 0 rather than a gap', () => {
    const asr = targets.filter(({panel}) => panel.title.startsWith('ASR'))
    assert.equal(asr.length, 2)
    for (const {target} of asr) {
      assert.match(target.expr, /increase\(clutchcall_calls_total\{[^}]*result="completed"[^}]*\}/)
      assert.match(target.expr, /or\s+0 \* sum/)
      assert.equal(matchersOf(target.expr, 'clutchcall_calls_total').filter((matchers) => matchers.includes('result=')).length, 1, 'only the numerator filters on result')
    }
  })
})
