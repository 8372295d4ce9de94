// SIPp for the benchmark scripts: run it, and read its -trace_stat,
// -trace_rtt and -trace_err files (written in its working directory).
import {spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

/** A UDP port free on 127.0.0.1 right now. */
export const freeUdpPort = () =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1', () => {
      const {port} = socket.address()
      socket.close(() => resolve(port))
    })
  })

/** Starts sipp with `args` in `cwd`: the child, and `done` resolving with its exit code and the tail of its stderr. */
export const runSipp = (args, cwd) => {
  const child = spawn('sipp', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  const done = new Promise((resolve) => child.once('exit', (code) => resolve({code: code ?? 1, stderr})))
  return {child, done}
}

/** The last line of SIPp's -trace_stat file, by column name. */
export const sippStats = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_.csv`)
  if (!existsSync(file)) return undefined
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const names = lines[0].split(';')
  const values = lines.at(-1).split(';')
  return Object.fromEntries(names.map((name, index) => [name, values[index]]))
}

/** The three most frequent errors of SIPp's -trace_err file, numbers masked: [text, count]. */
export const sippErrors = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_errors.log`)
  if (!existsSync(file)) return []
  const counts = new Map()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const text = line.replace(/^[\d\-:.\s]+\t?[\d.]*:?\s*/, '').replace(/\d+/g, 'N').slice(0, 120).trim()
    if (text) counts.set(text, (counts.get(text) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3)
}

/**
 * SIPp's -trace_rtt rows (with -rtt_freq 1, one per call): `atMs`, when the
 * response time was measured (ms since SIPp started), and `ms`, the response time.
 */
export const sippRtts = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_rtt.csv`)
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.split(';'))
    .map(([atMs, ms]) => ({atMs: Number(atMs), ms: Number(ms)}))
    .filter((row) => Number.isFinite(row.atMs) && Number.isFinite(row.ms))
}

/** Seconds of a SIPp `HH:MM:SS` elapsed time (anything after the seconds is ignored). */
export const elapsedSeconds = (text) => {
  const [h, m, s] = (text ?? '0:0:0').split(':').map(Number)
  return h * 3600 + m * 60 + s
}
