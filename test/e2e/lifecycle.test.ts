// The built CLI against a real daemon: start → status → scrape (promtool) → stop,
// and the lifecycle edges an operator hits: a second start, a stop with nothing
// running, a daemon killed with SIGKILL, a metrics port already taken.
import assert from 'node:assert/strict'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {createServer} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {isProcessAlive} from '../../src/instance.js'
import {freePort, runProgram, testConfig, TestHome} from '../helpers/cli.js'

const METRIC_FAMILIES: ReadonlyArray<readonly [string, string]> = [
  ['clutchcall_calls_total', 'counter'],
  ['clutchcall_calls_active', 'gauge'],
  ['clutchcall_call_duration_seconds', 'histogram'],
  ['clutchcall_rtp_packets_total', 'counter'],
  ['clutchcall_rtp_loss_ratio', 'gauge'],
  ['clutchcall_jitter_ms', 'histogram'],
  ['clutchcall_estimated_mos', 'histogram'],
  ['clutchcall_codec_engine_lag_us', 'histogram'],
  ['clutchcall_quic_handshake_seconds', 'histogram'],
  ['clutchcall_admin_requests_total', 'counter'],
]

describe('start → status → scrape → stop', () => {
  const home = new TestHome()
  let metricsPort = 0
  let pid = 0

  before(async () => {
    metricsPort = await freePort()
    home.writeConfig(testConfig(metricsPort))
  })
  after(() => home.cleanup())

  it('start returns once the daemon is ready and says where it listens', async () => {
    const {code, body} = await home.json(['start'])
    assert.equal(code, 0, JSON.stringify(body))
    assert.equal(body.status, 0)
    assert.equal(body.result.alreadyRunning, false)
    pid = body.result.pid
    assert.ok(isProcessAlive(pid))
    const metrics = body.result.listeners.find((listener: {name: string}) => listener.name === 'metrics')
    assert.equal(metrics.port, metricsPort)
    assert.equal(metrics.url, `http://127.0.0.1:${metricsPort}/metrics`)
    const admin = body.result.listeners.find((listener: {name: string}) => listener.name === 'admin')
    assert.equal(admin.address, home.path('admin.sock'))
  })

  it('keeps its home private: directory 0700, socket 0600', () => {
    assert.equal(statSync(home.dir).mode & 0o777, 0o700)
    assert.equal(statSync(home.path('admin.sock')).mode & 0o777, 0o600)
    assert.equal(readFileSync(home.path('daemon.pid'), 'utf8').trim(), String(pid))
  })

  it('status reports pid, version, listeners, calls and every telemetry stream', async () => {
    const {code, body} = await home.json(['status'])
    assert.equal(code, 0)
    assert.equal(body.result.pid, pid)
    assert.match(body.result.version, /^\d+\.\d+\.\d+/)
    assert.equal(body.result.calls.active, 0)
    assert.equal(body.result.draining, false)
    assert.equal(body.result.telemetry.metrics.state, 'serving')
    assert.equal(body.result.telemetry.hep.state, 'off')
    assert.deepEqual(Object.keys(body.result.telemetry).sort(), ['cdr', 'hep', 'metrics', 'tracing'])
  })

  it('status prints a human summary without --json', async () => {
    const {code, stdout} = await home.run(['status'])
    assert.equal(code, 0)
    assert.match(stdout, new RegExp(`pid\\s+${pid}`))
    assert.match(stdout, /metrics\s+│\s+serving/)
  })

  it('serves all ten metric families that promtool accepts, counting admin requests', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
    const text = await response.text()
    for (const [name, type] of METRIC_FAMILIES) assert.match(text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name)
    const statusRequests = /^clutchcall_admin_requests_total\{method="daemon\.status",result="ok"\} (\d+)$/m.exec(text)
    assert.ok(statusRequests, 'daemon.status requests are counted')
    assert.ok(Number(statusRequests[1]) >= 2)
    const promtool = await runProgram('promtool', ['check', 'metrics'], text)
    // Exit 3 is "lint problems". DESIGN §6 names clutchcall_codec_engine_lag_us, so its unit
    // lint ("us") is expected once the shards have reported lag; any other problem fails.
    const problems = `${promtool.stdout}${promtool.stderr}`.split('\n').filter((line) => line.trim() !== '')
    const unexpected = problems.filter((line) => line.trim() !== 'clutchcall_codec_engine_lag_us metric names should not contain abbreviated units')
    assert.ok(promtool.code === 0 || (promtool.code === 3 && unexpected.length === 0), `promtool exit ${promtool.code}: ${problems.join('; ')}`)
  })

  it('serves OpenMetrics when the scraper asks for it', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {headers: {accept: 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5'}})
    assert.match(response.headers.get('content-type') ?? '', /^application\/openmetrics-text; version=1\.0\.0/)
    const text = await response.text()
    assert.match(text, /^# TYPE clutchcall_admin_requests counter$/m)
    assert.match(text, /^clutchcall_admin_requests_total\{method="daemon\.status",result="ok"\} \d+$/m)
    assert.ok(text.endsWith('# EOF\n'))
  })

  it('stop drains, the process exits and its socket and pid file are gone', async () => {
    const {code, body} = await home.json(['stop'])
    assert.equal(code, 0, JSON.stringify(body))
    assert.equal(body.result.wasRunning, true)
    assert.equal(body.result.pid, pid)
    assert.equal(isProcessAlive(pid), false)
    assert.equal(existsSync(home.path('admin.sock')), false)
    assert.equal(existsSync(home.path('daemon.pid')), false)
  })

  it('status after stop fails with CC_ERR_DAEMON_NOT_RUNNING and exit 1', async () => {
    const {code, body} = await home.json(['status'])
    assert.equal(code, 1)
    assert.equal(body.status, 1)
    assert.equal(body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')
  })
})

describe('lifecycle edges', () => {
  it('a second start reports the running daemon and starts nothing', async (t) => {
    const home = new TestHome()
    t.after(() => home.cleanup())
    home.writeConfig(testConfig(await freePort()))
    const first = await home.json(['start'])
    assert.equal(first.code, 0)
    const second = await home.json(['start'])
    assert.equal(second.code, 0)
    assert.equal(second.body.result.alreadyRunning, true)
    assert.equal(second.body.result.pid, first.body.result.pid)
    assert.match(second.body.warnings.join('\n'), /already running/)
  })

  it('stop with nothing running says so and exits 0', async (t) => {
    const home = new TestHome()
    t.after(() => home.cleanup())
    const {code, body} = await home.json(['stop'])
    assert.equal(code, 0)
    assert.equal(body.result.wasRunning, false)
    const human = await home.run(['stop'])
    assert.match(human.stderr, /not running/)
  })

  it('after a SIGKILL the stale socket and pid file are cleaned up and start works again', async (t) => {
    const home = new TestHome()
    t.after(() => home.cleanup())
    home.writeConfig(testConfig(await freePort()))
    const first = await home.json(['start'])
    const killedPid: number = first.body.result.pid
    process.kill(killedPid, 'SIGKILL')
    while (isProcessAlive(killedPid)) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.ok(existsSync(home.path('admin.sock')), 'a killed daemon leaves its socket behind')
    const status = await home.json(['status'])
    assert.equal(status.body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')
    const second = await home.json(['start'])
    assert.equal(second.code, 0, JSON.stringify(second.body))
    assert.equal(second.body.result.alreadyRunning, false)
    assert.notEqual(second.body.result.pid, killedPid)
    const again = await home.json(['status'])
    assert.equal(again.body.result.pid, second.body.result.pid)
  })

  it('start fails with a message naming the port when the metrics port is taken', async (t) => {
    const home = new TestHome()
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as {port: number}).port
    t.after(async () => {
      blocker.close()
      await home.cleanup()
    })
    home.writeConfig(testConfig(port))
    const {code, body} = await home.json(['start'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_PORT_IN_USE')
    assert.match(body.error?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`))
    assert.match(body.error?.hint ?? '', /metrics\.listen/)
    assert.equal(existsSync(home.path('admin.sock')), false, 'nothing is left listening')
    assert.equal(existsSync(home.path('daemon.pid')), false)
    const human = await home.run(['start'])
    assert.equal(human.code, 1)
    assert.match(human.stderr, new RegExp(`CC_ERR_PORT_IN_USE.*:${port}`))
  })

  it('start --foreground stays attached and exits 0 after SIGTERM drains it', async (t) => {
    const home = new TestHome()
    t.after(() => home.cleanup())
    home.writeConfig(testConfig(await freePort()))
    const {spawn} = await import('node:child_process')
    const {BIN} = await import('../helpers/cli.js')
    const child = spawn(process.execPath, [BIN, 'start', '--foreground'], {env: home.env, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    while (!stdout.includes('gateway ready')) {
      assert.equal(child.exitCode, null, 'foreground daemon exited early')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    const status = await home.json(['status'])
    assert.equal(status.code, 0)
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    assert.equal(await exited, 0)
    assert.match(stdout, /"msg":"stopped"/)
    assert.equal(isProcessAlive(status.body.result.pid), false)
  })
})
