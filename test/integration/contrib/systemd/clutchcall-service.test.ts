// The shipped systemd unit, checked by systemd itself (`systemd-analyze verify`,
// Debian's systemd package) as it ships: its ExecStart must be the clutchcall
// that `npm install -g` put on this machine. Then the unit's command line is
// run the way systemd runs it (its environment, SIGTERM to the main process
// only, as KillMode=mixed does) to show that stop drains and exits 0, and
// ExecReload's SIGHUP to the main process reloads the config.
import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {readFileSync, realpathSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {promisify} from 'node:util'
import {isProcessAlive} from '../../../../src/instance.js'
import {BIN, freePort, ROOT, runProgram, testConfig, TestHome} from '../../../helpers/cli.js'

const UNIT = join(ROOT, 'contrib', 'systemd', 'clutchcall.service')

/** The [Service] settings of the unit; a key given twice keeps every value. */
const serviceSettings = (): Map<string, string[]> => {
  const settings = new Map<string, string[]>()
  let section = ''
  for (const raw of readFileSync(UNIT, 'utf8').split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) {
      section = header[1] ?? ''
      continue
    }
    const equals = line.indexOf('=')
    if (section !== 'Service' || equals < 0) continue
    const key = line.slice(0, equals)
    settings.set(key, [...(settings.get(key) ?? []), line.slice(equals + 1)])
  }
  return settings
}

const setting = (settings: Map<string, string[]>, key: string): string => {
  const values = settings.get(key)
  assert.ok(values && values.length === 1, `${key}= is set exactly once in the unit`)
  return values[0] ?? ''
}

describe('contrib/systemd/clutchcall.service', () => {
  it('passes `systemd-analyze verify` with no warnings', async () => {
    const {code, stdout, stderr} = await runProgram('systemd-analyze', ['verify', UNIT])
    assert.equal(`${stdout}${stderr}`, '', 'systemd-analyze has nothing to say about the unit')
    assert.equal(code, 0)
  })

  it('starts the clutchcall that `npm install -g` linked to this checkout', async () => {
    const [program] = setting(serviceSettings(), 'ExecStart').split(' ')
    const {stdout: prefix} = await promisify(execFile)('npm', ['prefix', '-g'])
    assert.equal(program, join(prefix.trim(), 'bin', 'clutchcall'), 'ExecStart is the global npm bin (`npm prefix -g`/bin/clutchcall)')
    assert.equal(realpathSync(program ?? ''), realpathSync(BIN), `${program} runs this checkout's bin/run.js (run \`npm install -g --ignore-scripts .\` here)`)
  })

  it('gives a drain (30 s by default, then the flush) time to finish before systemd kills', () => {
    const settings = serviceSettings()
    assert.equal(setting(settings, 'Type'), 'exec', 'start --foreground sends no readiness notification')
    assert.equal(setting(settings, 'KillSignal'), 'SIGTERM')
    assert.equal(setting(settings, 'KillMode'), 'mixed', 'SIGTERM to the CLI only, which passes it on once')
    assert.ok(Number(setting(settings, 'TimeoutStopSec')) >= 45, 'TimeoutStopSec covers 30 s of drain and 15 s of flush')
    assert.equal(setting(settings, 'Restart'), 'on-failure')
    assert.equal(setting(settings, 'Environment'), 'CLUTCHCALL_HOME=/var/lib/clutchcall')
    assert.equal(setting(settings, 'StateDirectory'), 'clutchcall', 'systemd creates the home, owned by User=')
    assert.equal(setting(settings, 'ExecReload'), '/bin/kill -HUP $MAINPID', 'systemctl reload sends SIGHUP to the CLI, which passes it on')
  })

  it("runs as the unit says: ExecStart's command in the foreground, ExecReload's SIGHUP to the main process reloads the config, SIGTERM drains and exits 0", async (t) => {
    const home = new TestHome()
    t.after(() => home.cleanup())
    const configFile = home.writeConfig(testConfig(await freePort()), 'service.yaml')
    const [program, ...args] = setting(serviceSettings(), 'ExecStart').split(' ')
    const configAt = args.indexOf('--config')
    assert.ok(configAt >= 0, 'ExecStart names the config file')
    args[configAt + 1] = configFile
    const service = spawn(program ?? '', args, {env: home.env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe']})
    let journal = ''
    service.stdout.on('data', (chunk: Buffer) => (journal += chunk.toString()))
    const exited = new Promise<number | null>((resolve) => service.once('exit', (code) => resolve(code)))
    while (!journal.includes('gateway ready')) {
      assert.equal(service.exitCode, null, `the service exited before it was ready:\n${journal}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const status = await home.json(['status'])
    assert.equal(status.code, 0)
    assert.equal(status.body.result.configFile, configFile)
    assert.equal(status.body.result.configReloadedAt, null)
    // ExecReload, as systemd runs it: /bin/kill -HUP with the main process's pid (the CLI's, not the daemon's).
    const [killProgram, ...killArgs] = setting(serviceSettings(), 'ExecReload').replace('$MAINPID', String(service.pid)).split(' ')
    const killed = await runProgram(killProgram ?? '', killArgs)
    assert.equal(killed.code, 0, killed.stderr)
    while (!journal.includes('"msg":"config reloaded"')) {
      assert.equal(service.exitCode, null, `the service exited on SIGHUP:\n${journal}`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    assert.match(journal, /"trigger":"SIGHUP"/)
    const reloaded = await home.json(['status'])
    assert.equal(reloaded.body.result.pid, status.body.result.pid, 'the same daemon, reloaded')
    assert.match(reloaded.body.result.configReloadedAt ?? '', /^\d{4}-/)
    service.kill('SIGTERM')
    assert.equal(await exited, 0)
    assert.match(journal, /"msg":"stopped"/)
    assert.equal(isProcessAlive(status.body.result.pid), false, 'the daemon is gone with the main process')
  })
})
