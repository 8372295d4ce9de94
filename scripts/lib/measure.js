// What the benchmark scripts measure with: medians, percentiles, CPU ticks from
// /proc, and a wait for a quiet machine (these machines are shared).
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {availableParallelism} from 'node:os'

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout.trim()) || 100
export const CORES = availableParallelism()

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A number from the environment, or `fallback`. */
export const numberEnv = (name, fallback) => Number(process.env[name] ?? fallback)
/** A comma-separated list of positive numbers from the environment, or from `fallback`. */
export const listEnv = (name, fallback) => (process.env[name] ?? fallback).split(',').map(Number).filter((value) => value > 0)

/** The median of the finite values (NaN for none); the mean of the middle two for an even count. */
export const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/** Nearest-rank percentile of an ascending array. */
export const percentile = (sorted, q) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))])

/** CPU ticks (user + system) of one thread or process from its /proc stat file; 0 once it is gone. */
export const readTicks = (path) => {
  try {
    const stat = readFileSync(path, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}

/** Busy and total ticks of the whole machine (/proc/stat). */
export const machineTicks = () => {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const idle = fields[3] + fields[4]
  const total = fields.reduce((sum, value) => sum + value, 0)
  return {busy: total - idle, total}
}

/** Waits up to `maxWaitS` until the machine is less than `busyBelow` % busy (of one core) over a `sampleMs` sample. */
export const waitForQuietMachine = async ({maxWaitS, sampleMs, busyBelow}) => {
  const started = Date.now()
  let busy = 0
  while (Date.now() - started < maxWaitS * 1000) {
    const before = machineTicks()
    await sleep(sampleMs)
    const after = machineTicks()
    busy = (100 * CORES * (after.busy - before.busy)) / Math.max(1, after.total - before.total)
    if (busy < busyBelow) break
  }
  return {waitedS: (Date.now() - started) / 1000, busy}
}

/** Resident set size of a process in bytes (VmRSS of /proc/<pid>/status); NaN once it is gone. */
export const rssBytes = (pid) => {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) * 1024 : Number.NaN
  } catch {
    return Number.NaN
  }
}
