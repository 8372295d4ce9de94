// Renders the registry in the format the scraper asked for. Prometheus text
// comes from prom-client as is. OpenMetrics is rendered here from the metric
// values because prom-client's own OpenMetrics mode renames counter objects in
// place (dropping `_total`), which would corrupt the Prometheus-format output
// served from the same registry.
import type {MetricObjectWithValues, MetricValue, Registry} from 'prom-client'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8'

/** True when the Accept header prefers OpenMetrics (q-values honoured). */
export const wantsOpenMetrics = (accept: string | undefined): boolean => {
  if (!accept) return false
  let openMetricsQ = -1
  let textQ = -1
  for (const part of accept.split(',')) {
    const [mediaRange = '', ...parameters] = part.trim().split(';').map((piece) => piece.trim())
    const qParameter = parameters.find((parameter) => parameter.startsWith('q='))
    const q = qParameter === undefined ? 1 : Number(qParameter.slice(2))
    if (!Number.isFinite(q)) continue
    if (mediaRange === 'application/openmetrics-text') openMetricsQ = Math.max(openMetricsQ, q)
    else if (mediaRange === 'text/plain' || mediaRange === '*/*') textQ = Math.max(textQ, q)
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ
}

const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
const escapeLabel = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')

const formatNumber = (value: number): string => {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}

const formatLabels = (labels: MetricValue<string>['labels']): string => {
  const entries = Object.entries(labels).filter(([, value]) => value !== undefined)
  if (entries.length === 0) return ''
  // prom-client gives `le` as a number, except the last bucket's which is already the string '+Inf'.
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(typeof value === 'number' ? formatNumber(value) : String(value))}"`).join(',')}}`
}

const renderFamily = (metric: MetricObjectWithValues<MetricValue<string>>): string[] => {
  // prom-client's typings say enum, but at run time the type is the exposition word ('counter', …).
  const type = metric.type as unknown as string
  // OpenMetrics names the counter family without `_total` and every sample with it.
  const family = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name
  const lines = [`# TYPE ${family} ${type}`, `# HELP ${family} ${escapeHelp(metric.help)}`]
  for (const sample of metric.values) {
    const name = type === 'counter' ? `${family}_total` : ((sample as {metricName?: string}).metricName ?? metric.name)
    lines.push(`${name}${formatLabels(sample.labels)} ${formatNumber(sample.value)}`)
  }
  return lines
}

export const renderOpenMetrics = async (registry: Registry): Promise<string> => {
  const metrics = await registry.getMetricsAsJSON()
  return `${metrics.flatMap((metric) => renderFamily(metric as MetricObjectWithValues<MetricValue<string>>)).join('\n')}\n# EOF\n`
}

export const renderMetrics = async (registry: Registry, accept: string | undefined): Promise<{contentType: string; body: string}> =>
  wantsOpenMetrics(accept)
    ? {contentType: OPENMETRICS_CONTENT_TYPE, body: await renderOpenMetrics(registry)}
    : {contentType: PROMETHEUS_CONTENT_TYPE, body: await registry.metrics()}
