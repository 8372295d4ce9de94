#!/usr/bin/env node
// Benchmark: wall time of `clutchcall status --json` against a running daemon,
// and what each part of it costs. Prints medians over RUNS runs of each probe,
// all measured in this one run so they compare fairly.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {median} from './lib/measure.js'

const RUNS = Number(process.env.RUNS ?? 25)
const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')
const home = mkdtempSync(join(tmpdir(), 'cc-bench-'))
const env = {...process.env, CLUTCHCALL_HOME: home}
const configFile = join(home, 'clutchcall.yaml')
execFileSync('sh', ['-c', `printf 'metrics:\\n  listen: 127.0.0.1:0\\n' > ${configFile}`])


const time = (args) => {
  const samples = []
  for (let run = 0; run < RUNS; run += 1) {
    const began = process.hrtime.bigint()
    const result = spawnSync(process.execPath, args, {env, cwd: root, encoding: 'utf8'})
    samples.push(Number(process.hrtime.bigint() - began) / 1e6)
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  }
  return median(samples)
}

const probes = [
  ['node, empty script', ['-e', '0']],
  ['+ import the CLI bundle', ['--input-type=module', '-e', `await import(${JSON.stringify(join(root, 'dist/cli/cli.js'))})`]],
  ['clutchcall --version (oclif config load)', [bin, '--version']],
  ['clutchcall config validate --json (+ config schema)', [bin, 'config', 'validate', '--json']],
  ['clutchcall status --json (+ admin socket round trip)', [bin, 'status', '--json']],
]

execFileSync(process.execPath, [bin, 'start', '--json'], {env, stdio: 'ignore'})
try {
  const results = probes.map(([name, args]) => [name, time(args)])
  const width = Math.max(...results.map(([name]) => name.length))
  console.log(`median wall time over ${RUNS} runs (node ${process.version}, ${new Date().toISOString()})`)
  let previous = 0
  for (const [name, ms] of results) {
    console.log(`${name.padEnd(width)}  ${ms.toFixed(1).padStart(7)} ms  (${ms - previous >= 0 ? '+' : ''}${(ms - previous).toFixed(1)})`)
    previous = ms
  }
  const status = results.at(-1)[1]
  console.log(`goal: status --json <= 250 ms -> ${status <= 250 ? 'met' : 'NOT met'} (${status.toFixed(1)} ms)`)
} finally {
  execFileSync(process.execPath, [bin, 'stop', '--json'], {env, stdio: 'ignore'})
  rmSync(home, {recursive: true, force: true})
}
