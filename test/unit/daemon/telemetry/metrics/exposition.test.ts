import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Counter, Histogram, Registry} from 'prom-client'
import {renderMetrics, renderOpenMetrics, wantsOpenMetrics} from '../../../../../daemon/telemetry/metrics/exposition.js'

describe('content negotiation', () => {
  it('prefers OpenMetrics only when the Accept header ranks it at least as high', () => {
    assert.equal(wantsOpenMetrics(undefined), false)
    assert.equal(wantsOpenMetrics('*/*'), false)
    assert.equal(wantsOpenMetrics('application/openmetrics-text;version=1.0.0'), true)
    // What Prometheus 2.x sends.
    assert.equal(wantsOpenMetrics('application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1'), true)
    assert.equal(wantsOpenMetrics('text/plain;version=0.0.4,application/openmetrics-text;q=0.5'), false)
    assert.equal(wantsOpenMetrics('application/openmetrics-text;q=0'), false)
  })
})

describe('OpenMetrics rendering', () => {
  const build = () => {
    const registry = new Registry()
    const counter = new Counter({name: 'demo_requests_total', help: 'Requests.\nSecond line.', labelNames: ['method'], registers: [registry]})
    const histogram = new Histogram({name: 'demo_seconds', help: 'Time.', buckets: [0.5, 1], registers: [registry]})
    counter.inc({method: 'a"b'}, 3)
    histogram.observe(0.7)
    return registry
  }

  it('names counter families without _total and samples with it, and ends with # EOF', async () => {
    const text = await renderOpenMetrics(build())
    assert.match(text, /^# TYPE demo_requests counter$/m)
    assert.match(text, /^# HELP demo_requests Requests\.\\nSecond line\.$/m)
    assert.match(text, /^demo_requests_total\{method="a\\"b"\} 3$/m)
    assert.match(text, /^demo_seconds_bucket\{le="0\.5"\} 0$/m)
    assert.match(text, /^demo_seconds_bucket\{le="1"\} 1$/m)
    assert.match(text, /^demo_seconds_bucket\{le="\+Inf"\} 1$/m)
    assert.match(text, /^demo_seconds_count 1$/m)
    assert.ok(text.endsWith('\n# EOF\n'))
  })

  it('an OpenMetrics scrape does not change the Prometheus-format output', async () => {
    const registry = build()
    const before = await renderMetrics(registry, 'text/plain')
    await renderMetrics(registry, 'application/openmetrics-text')
    const afterScrape = await renderMetrics(registry, 'text/plain')
    assert.equal(afterScrape.body, before.body)
    assert.match(afterScrape.body, /^# TYPE demo_requests_total counter$/m)
  })
})
