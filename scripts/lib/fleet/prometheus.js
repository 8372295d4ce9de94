// The fleet's metrics view: one Prometheus (Debian's) scraping every gateway,
// each target labelled with its node name, with the shipped recording and
// alerting rules loaded.
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {freePort, startDetached} from './proc.js'

const RULES = join(fileURLToPath(new URL('../../..', import.meta.url)), 'contrib', 'prometheus', 'clutchcall.rules.yml')
export const SCRAPE_INTERVAL_S = 2

export const planPrometheus = async (dir, {address = '127.0.0.1'} = {}) => {
  const home = join(dir, 'prometheus')
  const port = await freePort(address)
  return {
    name: 'prometheus',
    kind: 'prometheus',
    address,
    port,
    dir: home,
    log: join(home, 'prometheus.log'),
    command: ['prometheus', `--config.file=${join(home, 'prometheus.yml')}`, `--storage.tsdb.path=${join(home, 'data')}`, `--web.listen-address=${address}:${port}`, '--storage.tsdb.retention.time=1d'],
  }
}

export const writePrometheus = (prometheus, gateways) => {
  mkdirSync(prometheus.dir, {recursive: true})
  writeFileSync(
    join(prometheus.dir, 'prometheus.yml'),
    `# One Prometheus for the whole fleet (written by scripts/fleet; docs/fleet.md)
global:
  scrape_interval: ${SCRAPE_INTERVAL_S}s
  evaluation_interval: ${SCRAPE_INTERVAL_S}s
rule_files:
  - ${JSON.stringify(RULES)}
scrape_configs:
  - job_name: clutchcall
    static_configs:
${gateways.map((gateway) => `      - targets: ["${gateway.address}:${gateway.metricsPort}"]\n        labels: { node: "${gateway.name}" }`).join('\n')}
`,
  )
}

export const startPrometheus = (prometheus) => startDetached(prometheus.command[0], prometheus.command.slice(1), {cwd: prometheus.dir, logFile: prometheus.log})
