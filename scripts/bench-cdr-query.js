#!/usr/bin/env node
// Benchmark: `cdr query` and `cdr stats` on the embedded store. Seeds ROWS
// CDRs (default 1,000,000: 20 tenants, 8 trunks, every status, varied MOS)
// over 30 days into one spool segment per day, as the daemon rotates them, in
// a temporary CLUTCHCALL_HOME; then times the built CLI (chDB over the spool
// with file()), RUNS runs each (default 5, after one warm-up run), and prints the median wall time
// and the peak resident memory of each command. Run `npm run build` first.
import {spawnSync} from 'node:child_process'
import {closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {median} from './lib/measure.js'

const ROWS = Number(process.env.ROWS ?? 1_000_000)
const RUNS = Number(process.env.RUNS ?? 5)
const DAYS = 30
const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')
const {cdrLine} = await import(join(root, 'dist/src/cdr/columns.js'))
const {segmentPath} = await import(join(root, 'dist/src/cdr/spool-files.js'))

const home = mkdtempSync(join(tmpdir(), 'cc-bench-cdr-'))
const spool = join(home, 'cdr-spool')
mkdirSync(spool, {mode: 0o700})
const env = {...process.env, CLUTCHCALL_HOME: home, TZ: 'UTC'}

/** mulberry32: the same rows every run. */
let seed = 20_260_301
const next = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
}
const pick = (items) => items[Math.floor(next() * items.length)]
const TENANTS = Array.from({length: 20}, (_, index) => `tenant-${String(index).padStart(2, '0')}`)
const TRUNKS = [...Array.from({length: 7}, (_, index) => `carrier-${String.fromCharCode(97 + index)}`), 'none']
const STATUSES = ['completed', 'completed', 'completed', 'completed', 'busy', 'no-answer', 'canceled', 'failed']
const FIRST_DAY = Date.UTC(2026, 1, 1)

const seedStarted = performance.now()
let bytes = 0
for (let day = 0; day < DAYS; day++) {
  const fd = openSync(segmentPath(spool, day + 1), 'w')
  const count = Math.floor(ROWS / DAYS) + (day < ROWS % DAYS ? 1 : 0)
  const starts = Array.from({length: count}, () => FIRST_DAY + day * 86_400_000 + Math.floor(next() * 86_400_000)).sort((a, b) => a - b)
  let chunk = ''
  for (let index = 0; index < count; index++) {
    const start = starts[index]
    const status = pick(STATUSES)
    const answered = status === 'completed'
    const media = answered && next() < 0.95
    const duration = answered ? Math.floor(next() * 900) : 0
    const answer = answered ? start + 1000 + Math.floor(next() * 15_000) : null
    const packets = media ? duration * 50 : 0
    chunk += cdrLine({
      call_sid: `CA${(day * 1_000_000 + index).toString(16).padStart(32, '0')}`,
      tenant_id: pick(TENANTS),
      trunk_id: pick(TRUNKS),
      direction: next() < 0.6 ? 'inbound' : 'outbound',
      from_number: `+${pick(['1415', '1650', '4930', '4420', '3314'])}${String(Math.floor(next() * 1e7)).padStart(7, '0')}`,
      to_number: `+${pick(['1212', '4989', '4420'])}${String(Math.floor(next() * 1e7)).padStart(7, '0')}`,
      start_timestamp_ms: start,
      answer_timestamp_ms: answer,
      end_timestamp_ms: (answer ?? start) + duration * 1000 + Math.floor(next() * 1000),
      duration_seconds: duration,
      q850_cause: answered ? 16 : pick([17, 18, 19, 21, 31, 127]),
      status,
      codec: media ? pick(['PCMU', 'PCMA']) : '',
      packets_sent: packets,
      packets_received: packets,
      packets_lost: media ? Math.floor(next() * next() * 200) : 0,
      bytes_sent: packets * 172,
      jitter_ms: media ? Math.round(next() * 400) / 10 : 0,
      estimated_mos: media ? Math.round((1.5 + next() * 3) * 100) / 100 : 0,
      recording_url: next() < 0.05 ? `file:///var/lib/clutchcall/recordings/${day}-${index}.wav` : '',
      agent_id: next() < 0.2 ? pick(['agent-sales', 'agent-support']) : '',
    })
    if (chunk.length > 4_000_000) {
      writeSync(fd, chunk)
      chunk = ''
    }
  }
  writeSync(fd, chunk)
  closeSync(fd)
  bytes += statSync(segmentPath(spool, day + 1)).size
}
const seedSeconds = (performance.now() - seedStarted) / 1000


/** Wall time (ms) and peak RSS (MB, from GNU time when present) of one CLI run. */
const runOnce = (args) => {
  const withTime = spawnSync('/usr/bin/time', ['-f', '%M', '-o', join(home, 'rss'), 'true']).status === 0
  const command = withTime ? '/usr/bin/time' : process.execPath
  const commandArgs = withTime ? ['-f', '%M', '-o', join(home, 'rss'), process.execPath, bin, ...args] : [bin, ...args]
  const began = process.hrtime.bigint()
  const result = spawnSync(command, commandArgs, {env, cwd: root, encoding: 'utf8', maxBuffer: 1 << 30})
  const ms = Number(process.hrtime.bigint() - began) / 1e6
  if (result.status !== 0) throw new Error(`clutchcall ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  const rssMb = withTime ? Number(spawnSync('cat', [join(home, 'rss')], {encoding: 'utf8'}).stdout.trim()) / 1024 : Number.NaN
  return {ms, rssMb, stdout: result.stdout}
}

const probes = [
  ['cdr query: tenant + status + since + MOS, limit 100', ['cdr', 'query', '--tenant', 'tenant-07', '--status', 'completed', '--since', '2026-02-15T00:00:00Z', '--min-mos', '3.5', '--limit', '100', '--format', 'json']],
  ['cdr query: no filter, newest 100', ['cdr', 'query', '--limit', '100', '--format', 'json']],
  ['cdr stats --group-by tenant', ['cdr', 'stats', '--group-by', 'tenant', '--format', 'json']],
  ['cdr stats --group-by day', ['cdr', 'stats', '--group-by', 'day', '--format', 'json']],
  ['clutchcall --version (CLI start-up, for reference)', ['--version']],
]

try {
  console.log(`seeded ${ROWS.toLocaleString('en-US')} CDRs in ${DAYS} segments (${(bytes / 1e6).toFixed(0)} MB) in ${seedSeconds.toFixed(1)} s`)
  console.log(`median of ${RUNS} runs each (node ${process.version}, ${new Date().toISOString()})`)
  const width = Math.max(...probes.map(([name]) => name.length))
  // The segments were just written: let the kernel write them back before timing, then warm the page cache.
  spawnSync('sync')
  runOnce(probes[0][1])
  for (const [name, args] of probes) {
    const runs = Array.from({length: RUNS}, () => runOnce(args))
    const rows = args[0] === 'cdr' ? JSON.parse(runs[0].stdout).length : 0
    const rss = median(runs.map((run) => run.rssMb))
    console.log(
      `${name.padEnd(width)}  ${median(runs.map((run) => run.ms)).toFixed(0).padStart(6)} ms` +
        `  (min ${Math.min(...runs.map((run) => run.ms)).toFixed(0)}, max ${Math.max(...runs.map((run) => run.ms)).toFixed(0)})` +
        `${Number.isNaN(rss) ? '' : `  peak RSS ${rss.toFixed(0)} MB`}${args[0] === 'cdr' ? `  ${rows} row(s)` : ''}`,
    )
  }
} finally {
  if (process.env.KEEP !== '1') rmSync(home, {recursive: true, force: true})
  else console.log(`kept ${home}`)
}
