#!/usr/bin/env node
// Benchmark: wall time of `clutchcall status --json` as the docs tell users to
// run it (the `clutchcall` on the PATH, put there by `npm install -g`), against
// a running daemon, and what each part of it costs. Prints medians over RUNS
// runs of each probe, taken in turn (one run of each, then again) so that
// other work on a shared machine weighs on every probe alike.
import {execFileSync, spawnSync} from 'node:child_process'
import {accessSync, constants, mkdtempSync, realpathSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {CORES, median, waitForQuietMachine} from './lib/measure.js'

const RUNS = Number(process.env.RUNS ?? 25)
/** Seconds to wait for the machine to go quiet (under a quarter of one core busy) before measuring. */
const QUIET_WAIT_S = Number(process.env.QUIET_WAIT_S ?? 120)
const GOAL_MS = 250
const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'bin', 'run.js')

/** The first executable `name` on the PATH, as a shell would find it. */
const whichOnPath = (name) => {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // not in this PATH entry
    }
  }
  return undefined
}

const onPath = whichOnPath('clutchcall')
if (onPath === undefined) {
  process.stderr.write('bench:status: `clutchcall` is not on the PATH, so the documented invocation cannot be measured.\n' +
    'Install it from this checkout with `npm install && npm install -g --ignore-scripts .` (see docs/install.md), then run again.\n')
  process.exit(1)
}
// A `clutchcall` linked to another checkout would measure someone else's build.
const target = realpathSync(onPath)
if (target !== realpathSync(bin)) {
  process.stderr.write(`bench:status: the \`clutchcall\` on the PATH (${onPath}) runs ${target}, not this checkout's ${bin}.\n` +
    'Run `npm install -g --ignore-scripts .` here to point it at this checkout, then run again.\n')
  process.exit(1)
}

const home = mkdtempSync(join(tmpdir(), 'cc-bench-'))
const env = {...process.env, CLUTCHCALL_HOME: home}
delete env.CLUTCHCALL_CONFIG
writeFileSync(join(home, 'clutchcall.yaml'), 'metrics:\n  listen: 127.0.0.1:0\nsip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 0 }\n    - { transport: tcp, address: 127.0.0.1, port: 0 }\ntracing:\n  enabled: false\n')

/** Wall time in ms of one run of `command args` from a neutral working directory. */
const timeOnce = (command, args) => {
  const began = process.hrtime.bigint()
  const result = spawnSync(command, args, {env, cwd: home, encoding: 'utf8'})
  const ms = Number(process.hrtime.bigint() - began) / 1e6
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`)
  return ms
}

const node = process.execPath
const probes = [
  ['node, empty script', node, ['-e', '0']],
  ['+ import the CLI bundle', node, ['--input-type=module', '-e', `await import(${JSON.stringify(join(root, 'dist/cli/cli.js'))})`]],
  ['node bin/run.js --version (oclif config load)', node, [bin, '--version']],
  ['node bin/run.js config validate --json (+ config schema)', node, [bin, 'config', 'validate', '--json']],
  ['node bin/run.js status --json (+ admin socket round trip)', node, [bin, 'status', '--json']],
  ['clutchcall status --json (from the PATH: /usr/bin/env, symlink)', onPath, ['status', '--json']],
]

execFileSync(onPath, ['start', '--json'], {env, cwd: home, stdio: 'ignore'})
try {
  const quiet = await waitForQuietMachine({maxWaitS: QUIET_WAIT_S, sampleMs: 2000, busyBelow: 25})
  const samples = probes.map(() => [])
  for (let run = 0; run < RUNS; run += 1) probes.forEach(([, command, args], index) => samples[index].push(timeOnce(command, args)))
  const results = probes.map(([name], index) => [name, median(samples[index])])
  const width = Math.max(...results.map(([name]) => name.length))
  console.log(`median wall time over ${RUNS} runs (node ${process.version}, ${CORES} cores, ${new Date().toISOString()})`)
  console.log(`machine before measuring: ${quiet.busy.toFixed(0)} % of one core busy with other work${quiet.busy >= 25 ? ` after waiting ${quiet.waitedS.toFixed(0)} s: the figures below include that load` : ''}`)
  console.log(`clutchcall on the PATH: ${onPath} -> ${target}`)
  let previous = 0
  for (const [name, ms] of results) {
    console.log(`${name.padEnd(width)}  ${ms.toFixed(1).padStart(7)} ms  (${ms - previous >= 0 ? '+' : ''}${(ms - previous).toFixed(1)})`)
    previous = ms
  }
  const status = results.at(-1)[1]
  console.log(`goal: clutchcall status --json <= ${GOAL_MS} ms -> ${status <= GOAL_MS ? 'met' : 'NOT met'} (${status.toFixed(1)} ms)`)
} finally {
  execFileSync(onPath, ['stop', '--json'], {env, cwd: home, stdio: 'ignore'})
  rmSync(home, {recursive: true, force: true})
}
