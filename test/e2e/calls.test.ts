// The calls commands, built, against a real daemon (no calls yet: the SIP
// engine lands separately). What an operator sees with nothing up, the usage
// errors, and `calls tail` as a long-running stream: quiet while nothing
// happens, exit 0 on SIGINT/SIGTERM, exit 1 when the daemon goes away.
import assert from 'node:assert/strict'
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {after, before, describe, it} from 'node:test'
import {BIN, freePort, testConfig, TestHome} from '../helpers/cli.js'

const WELL_FORMED_SID = `CA${'0123456789abcdef'.repeat(2)}`

interface Running {
  readonly child: ChildProcessWithoutNullStreams
  readonly output: {stdout: string; stderr: string}
  readonly exited: Promise<number | null>
}

/** Starts the CLI with stdout and stderr piped (so not a terminal), as a script would. */
const startCli = (home: TestHome, args: readonly string[]): Running => {
  const child = spawn(process.execPath, [BIN, ...args], {env: home.env, cwd: home.dir})
  const output = {stdout: '', stderr: ''}
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return {child, output, exited}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** How many `calls.subscribe` requests the daemon has answered, from its own metrics. */
const subscriptions = async (metricsPort: number): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const match = /^clutchcall_admin_requests_total\{method="calls\.subscribe",result="ok"\} (\d+)$/m.exec(text)
  return match ? Number(match[1]) : 0
}

/** Waits until the daemon has answered `count` subscriptions in all: the tail is then following. */
const untilSubscribed = async (metricsPort: number, count: number, tail: Running): Promise<void> => {
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(50)) {
    assert.equal(tail.child.exitCode, null, `tail exited early: ${tail.output.stdout}${tail.output.stderr}`)
    if ((await subscriptions(metricsPort)) >= count) return
  }
  assert.fail('calls tail never subscribed')
}

describe('calls commands against a running daemon', () => {
  const home = new TestHome()
  let metricsPort = 0
  let subscribed = 0

  before(async () => {
    metricsPort = await freePort()
    home.writeConfig(testConfig(metricsPort))
    const {code, body} = await home.json(['start'])
    assert.equal(code, 0, JSON.stringify(body))
  })
  after(() => home.cleanup())

  it('calls list --json: no calls, exit 0', async () => {
    const {code, body} = await home.json(['calls', 'list'])
    assert.equal(code, 0)
    assert.deepEqual(body, {status: 0, result: {calls: []}, warnings: []})
    const filtered = await home.json(['calls', 'list', '--tenant', 'acme', '--trunk', 'carrier-a'])
    assert.deepEqual(filtered.body.result, {calls: []})
  })

  it('calls list without --json says "No active calls." on stderr and prints no table', async () => {
    const {code, stdout, stderr} = await home.run(['calls', 'list'])
    assert.equal(code, 0)
    assert.equal(stdout, '')
    assert.equal(stderr.trim(), 'No active calls.')
  })

  it('calls hangup of a well-formed sid that is not up: CC_ERR_CALL_NOT_FOUND, exit 1', async () => {
    const {code, body} = await home.json(['calls', 'hangup', WELL_FORMED_SID, '--cause', '21'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_CALL_NOT_FOUND')
    assert.match(body.error?.message ?? '', new RegExp(WELL_FORMED_SID))
    const human = await home.run(['calls', 'hangup', WELL_FORMED_SID])
    assert.equal(human.code, 1)
    assert.match(human.stderr, /^Error \(CC_ERR_CALL_NOT_FOUND\): No active call CA/m)
  })

  it('calls hangup of a short sid that names no active call: CC_ERR_CALL_NOT_FOUND naming it, exit 1', async () => {
    const {code, body} = await home.json(['calls', 'hangup', 'CA01234567'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_CALL_NOT_FOUND')
    assert.match(body.error?.message ?? '', /No active call CA01234567/)
  })

  it('calls hangup with a malformed sid or cause is a usage error (exit 2), checked before the daemon is asked', async () => {
    for (const args of [['CA12xz'], ['CA'], [WELL_FORMED_SID.toUpperCase()], [], [WELL_FORMED_SID, '--cause', '0'], [WELL_FORMED_SID, '--cause', '128'], [WELL_FORMED_SID, '--cause', 'normal']]) {
      const {code, body} = await home.json(['calls', 'hangup', ...args])
      assert.equal(code, 2, args.join(' '))
      assert.equal(body.status, 2)
      assert.equal(body.error?.code, 'CC_ERR_USAGE', args.join(' '))
    }
    const before = await subscriptions(metricsPort)
    assert.equal(before, subscribed)
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    assert.match(text, /^clutchcall_admin_requests_total\{method="calls\.hangup",result="error"\} 2$/m, 'only the two well-formed hangups reached the daemon')
  })

  it('calls tail --json, piped: follows quietly while there are no calls, exits 0 on SIGINT', async () => {
    const tail = startCli(home, ['calls', 'tail', '--json'])
    await untilSubscribed(metricsPort, ++subscribed, tail)
    await sleep(1500)
    assert.equal(tail.child.exitCode, null, 'still following')
    assert.equal(tail.output.stdout, '', 'no events, no output')
    tail.child.kill('SIGINT')
    assert.equal(await tail.exited, 0, tail.output.stderr)
    assert.equal(tail.output.stdout, '')
    assert.equal(tail.output.stderr, '')
  })

  it('calls tail without a terminal streams too, and exits 0 on SIGTERM', async () => {
    const tail = startCli(home, ['calls', 'tail', '--tenant', 'acme'])
    await untilSubscribed(metricsPort, ++subscribed, tail)
    tail.child.kill('SIGTERM')
    assert.equal(await tail.exited, 0, tail.output.stderr)
    assert.equal(tail.output.stdout, '')
  })

  it('every calls command has --json and examples in its help', async () => {
    for (const command of ['list', 'hangup', 'tail']) {
      const {code, stdout} = await home.run(['calls', command, '--help'])
      assert.equal(code, 0, command)
      assert.match(stdout, /--json/, command)
      assert.match(stdout, /EXAMPLES/, command)
    }
    const tail = await home.run(['calls', 'tail', '--help'])
    assert.match(tail.stdout, /one JSON object per line/)
  })

  it('when the daemon stops under a running tail, the tail fails with CC_ERR_ADMIN_CONNECTION_LOST (exit 1)', async () => {
    const json = startCli(home, ['calls', 'tail', '--json'])
    const human = startCli(home, ['calls', 'tail'])
    await untilSubscribed(metricsPort, subscribed + 2, json)
    await untilSubscribed(metricsPort, subscribed + 2, human)
    subscribed += 2
    const stop = await home.json(['stop'])
    assert.equal(stop.code, 0, JSON.stringify(stop.body))

    assert.equal(await json.exited, 1)
    assert.equal(json.output.stdout.split('\n').length, 2, `one line, as the stream's NDJSON: ${json.output.stdout}`)
    const envelope = JSON.parse(json.output.stdout) as {status: number; error: {code: string; exitCode: number}}
    assert.equal(envelope.status, 1)
    assert.equal(envelope.error.code, 'CC_ERR_ADMIN_CONNECTION_LOST')
    assert.equal(envelope.error.exitCode, 1)

    assert.equal(await human.exited, 1)
    assert.equal(human.output.stdout, '')
    assert.match(human.output.stderr, /^Error \(CC_ERR_ADMIN_CONNECTION_LOST\): /m)
  })

  it('with no daemon, calls commands fail with CC_ERR_DAEMON_NOT_RUNNING (exit 1)', async () => {
    for (const command of [['list'], ['tail'], ['hangup', WELL_FORMED_SID]]) {
      const {code, body} = await home.json(['calls', ...command])
      assert.equal(code, 1, command.join(' '))
      assert.equal(body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING', command.join(' '))
    }
  })
})
