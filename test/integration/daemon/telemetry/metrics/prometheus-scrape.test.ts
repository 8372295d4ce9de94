// A real Prometheus server (Debian's `prometheus`) scrapes a real daemon. Prometheus
// asks for OpenMetrics first, so a healthy target proves that format parses too.
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {after, before, it} from 'node:test'
import {freePort, testConfig, TestHome} from '../../../../helpers/cli.js'

const home = new TestHome()
let prometheus: ChildProcess | undefined
let prometheusPort = 0
let metricsPort = 0

const poll = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      last = error
    }
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

before(async () => {
  metricsPort = await freePort()
  prometheusPort = await freePort()
  home.writeConfig(testConfig(metricsPort))
  const started = await home.json(['start'])
  assert.equal(started.code, 0, JSON.stringify(started.body))
  const promConfig = home.path('prometheus.yml')
  writeFileSync(promConfig, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: clutchcall\n    static_configs:\n      - targets: ['127.0.0.1:${metricsPort}']\n`)
  prometheus = spawn('prometheus', [`--config.file=${promConfig}`, `--storage.tsdb.path=${home.path('tsdb')}`, `--web.listen-address=127.0.0.1:${prometheusPort}`], {stdio: 'ignore'})
})

after(async () => {
  prometheus?.kill('SIGTERM')
  await home.cleanup()
})

it('Prometheus scrapes the gateway: target up, no scrape error, clutchcall series queryable', async () => {
  const api = `http://127.0.0.1:${prometheusPort}/api/v1`
  const target = await poll('a scraped target', async () => {
    const body = (await (await fetch(`${api}/targets`)).json()) as {data: {activeTargets: Array<{health: string; lastError: string; scrapeUrl: string}>}}
    const active = body.data.activeTargets[0]
    return active && active.health !== 'unknown' ? active : undefined
  })
  assert.equal(target.scrapeUrl, `http://127.0.0.1:${metricsPort}/metrics`)
  assert.equal(target.lastError, '')
  assert.equal(target.health, 'up')

  await home.json(['status'])
  const series = await poll('the admin request counter in Prometheus', async () => {
    const query = encodeURIComponent('clutchcall_admin_requests_total{method="daemon.status",result="ok"}')
    const body = (await (await fetch(`${api}/query?query=${query}`)).json()) as {data: {result: Array<{value: [number, string]}>}}
    return body.data.result[0]
  })
  assert.ok(Number(series.value[1]) >= 1)
})
