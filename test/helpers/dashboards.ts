// The shipped Grafana dashboard and Prometheus rules (contrib/), read as a user
// would load them, and the metric families they may refer to, read from the
// daemon's own registry so there is one source of truth.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Registry} from 'prom-client'
import {parse} from 'yaml'
import {createMetricFamilies} from '../../daemon/telemetry/metrics/families.js'
import {ROOT} from './cli.js'

export const DASHBOARD_FILE = join(ROOT, 'contrib', 'grafana', 'clutchcall-dashboard.json')
export const RULES_FILE = join(ROOT, 'contrib', 'prometheus', 'clutchcall.rules.yml')
export const RULES_TEST_FILE = join(ROOT, 'contrib', 'prometheus', 'clutchcall.rules.test.yml')

export interface Target {
  readonly refId: string
  readonly expr: string
  readonly datasource?: {type?: string; uid?: string}
  readonly instant?: boolean
  readonly format?: string
}

export interface Panel {
  readonly id: number
  readonly type: string
  readonly title: string
  readonly description?: string
  readonly datasource?: {type?: string; uid?: string}
  readonly gridPos: {h: number; w: number; x: number; y: number}
  readonly targets?: Target[]
  readonly panels?: Panel[]
}

export interface Variable {
  readonly name: string
  readonly type: string
  readonly query: string | {query: string}
  readonly datasource?: {type?: string; uid?: string}
  readonly allValue?: string
  readonly includeAll?: boolean
  readonly multi?: boolean
}

export interface Dashboard {
  readonly title: string
  readonly uid: string
  readonly schemaVersion: number
  readonly templating: {list: Variable[]}
  readonly panels: Panel[]
}

export interface Rule {
  readonly record?: string
  readonly alert?: string
  readonly expr: string
  readonly for?: string
  readonly labels?: Record<string, string>
  readonly annotations?: Record<string, string>
}

export const loadDashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard

export const loadRules = (): Array<{name: string; rules: Rule[]}> => (parse(readFileSync(RULES_FILE, 'utf8')) as {groups: Array<{name: string; rules: Rule[]}>}).groups

/** Every panel, those nested in collapsed rows included. */
export const allPanels = (dashboard: Dashboard): Panel[] => dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])])

/** The metric families of the daemon: name → type and label names. */
export const metricFamilies = (): Map<string, {type: string; labelNames: string[]}> => {
  const registry = new Registry()
  createMetricFamilies(registry)
  return new Map(
    registry.getMetricsAsArray().map((metric) => [metric.name, {type: String(metric.type), labelNames: [...((metric as unknown as {labelNames?: string[]}).labelNames ?? [])]}]),
  )
}

/** The series names Prometheus stores for the families (histograms as _bucket, _sum, _count). */
export const seriesNames = (): Map<string, {family: string; labelNames: string[]}> => {
  const names = new Map<string, {family: string; labelNames: string[]}>()
  for (const [name, {type, labelNames}] of metricFamilies()) {
    if (type === 'histogram') {
      names.set(`${name}_bucket`, {family: name, labelNames: [...labelNames, 'le']})
      names.set(`${name}_sum`, {family: name, labelNames})
      names.set(`${name}_count`, {family: name, labelNames})
    } else {
      names.set(name, {family: name, labelNames})
    }
  }
  return names
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan', 'atan2'])

/** Functions and aggregations of PromQL (Prometheus 2.x) that the shipped files may use. */
export const PROMQL_FUNCTIONS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'deriv', 'changes', 'resets', 'predict_linear',
  'avg_over_time', 'min_over_time', 'max_over_time', 'sum_over_time', 'count_over_time', 'last_over_time', 'quantile_over_time',
  'histogram_quantile', 'clamp', 'clamp_min', 'clamp_max', 'abs', 'ceil', 'floor', 'round', 'sqrt', 'exp', 'ln',
  'absent', 'absent_over_time', 'time', 'timestamp', 'vector', 'scalar', 'label_replace', 'label_join', 'sort', 'sort_desc',
])

/**
 * The metric names and the function names a PromQL expression refers to. A small
 * lexer, enough for the shipped files: strings, label matchers, ranges, grouping
 * label lists and numbers are removed first; a name followed by `(` is a function.
 */
export const promqlNames = (expr: string): {metrics: string[]; functions: string[]} => {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+[0-9a-z]+/g, ' ')
    .replace(/(?<![A-Za-z0-9_:.])[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?(?![A-Za-z0-9_:])/g, ' ')
  const metrics: string[] = []
  const functions: string[] = []
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const name = match[0].replace(/\s*\($/, '')
    if (KEYWORDS.has(name.toLowerCase())) continue
    ;(match[1] ? functions : metrics).push(name)
  }
  return {metrics: [...new Set(metrics)], functions: [...new Set(functions)]}
}

/** Each selector of `metric` in an expression, with its label matchers as written ('' when it has none). */
export const matchersOf = (expr: string, metric: string): string[] =>
  [...expr.matchAll(new RegExp(`(?<![A-Za-z0-9_:])${metric}(?![A-Za-z0-9_:])(\\s*\\{([^}]*)\\})?`, 'g'))].map((match) => match[2] ?? '')

/** The Grafana variables a user's dashboard would fill in, as the tests fill them: every tenant, trunk and gateway. */
export const GRAFANA_SUBSTITUTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\$__rate_interval|\$\{__rate_interval\}/g, '1m'],
  [/\$__interval|\$\{__interval\}/g, '15s'],
  [/\$__range|\$\{__range\}/g, '5m'],
  [/\$instance|\$\{instance\}/g, '.*'],
  [/\$tenant|\$\{tenant\}/g, '.*'],
  [/\$trunk|\$\{trunk\}/g, '.*'],
]

export const substituteVariables = (expr: string): string => GRAFANA_SUBSTITUTIONS.reduce((text, [pattern, value]) => text.replace(pattern, value), expr)
