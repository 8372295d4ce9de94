// `calls tail --reconnect` against a real daemon and real calls (SIPp): the
// daemon stopped and started again under a running tail, a tail whose reader
// stops reading until the daemon cuts it off, a daemon that stays away (the
// give-up limit, and SIGTERM while waiting), and flag combinations that are
// refused before anything is asked of the daemon. With --json, stdout carries
// call events only and each diagnostic is one JSON line on stderr.
import assert from 'node:assert/strict'
import {spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {BIN, freePort, testConfig, TestHome} from '../helpers/cli.js'
import {waitFor} from '../helpers/gateway.js'
import {runSipp, uacShortCall, type SippRun} from '../helpers/peers.js'

/** The smallest admin.max_queued_bytes: a few hundred call events overflow it (plus the kernel's socket and pipe buffers). */
const MAX_QUEUED_BYTES = 16384

interface Tail {
  readonly child: ChildProcessWithoutNullStreams
  readonly output: {stdout: string; stderr: string}
  readonly exited: Promise<number | null>
}

/** Starts the CLI with stdout and stderr piped (not a terminal), as a log shipper would; stdout is read unless `readStdout` is false. */
const startTail = (home: TestHome, args: readonly string[], readStdout = true): Tail => {
  const child = spawn(process.execPath, [BIN, 'calls', 'tail', ...args], {env: home.env, cwd: home.dir})
  const output = {stdout: '', stderr: ''}
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk))
  if (readStdout) readStdoutOf({child, output})
  else child.stdout.pause()
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)))
  return {child, output, exited}
}

const readStdoutOf = (tail: Pick<Tail, 'child' | 'output'>): void => {
  tail.child.stdout.setEncoding('utf8').on('data', (chunk: string) => (tail.output.stdout += chunk))
  tail.child.stdout.resume()
}

interface Diagnostic {
  readonly diagnostic: string
  readonly message: string
  readonly timestamp_ms: number
  readonly error?: {code: string; message: string; hint: string; exitCode: number}
  readonly pid?: number
  readonly attempts?: number
}

/** Every complete stderr line, each of which must be one JSON diagnostic. */
const diagnostics = (tail: Tail): Diagnostic[] =>
  tail.output.stderr
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const parsed = JSON.parse(line) as Diagnostic
      assert.equal(typeof parsed.diagnostic, 'string', `a stderr line that is no diagnostic: ${line}`)
      return parsed
    })

/** Every complete stdout line, each of which must be a call event. */
const events = (tail: Tail): Array<{type: string; call_sid: string; to_number?: string}> =>
  tail.output.stdout
    .split('\n')
    .slice(0, -1)
    .map((line) => {
      const parsed = JSON.parse(line) as {type?: unknown; call_sid?: unknown; to_number?: string}
      assert.match(String(parsed.type), /^CHANNEL_[A-Z_]+$/, `a stdout line that is no call event: ${line}`)
      assert.match(String(parsed.call_sid), /^CA[0-9a-f]{32}$/, line)
      return parsed as {type: string; call_sid: string; to_number?: string}
    })

const untilDiagnostic = (tail: Tail, what: string, match: (diagnostic: Diagnostic) => boolean, timeoutMs = 30_000): Promise<Diagnostic> =>
  waitFor(
    `${what}; stderr so far:\n${tail.output.stderr}`,
    () => {
      assert.equal(tail.child.exitCode, null, `the tail exited: ${tail.output.stdout.slice(-600)}${tail.output.stderr}`)
      return diagnostics(tail).find(match)
    },
    timeoutMs,
  )

/** How many `calls.subscribe` requests this daemon has answered, from its own metrics. */
const subscriptions = async (metricsPort: number): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const match = /^clutchcall_admin_requests_total\{[^}]*method="calls\.subscribe"[^}]*result="ok"[^}]*\} (\d+)/m.exec(text)
  return match ? Number(match[1]) : 0
}

const sipListener = (started: {listeners: Array<{name: string; transport: string; port?: number}>}): string => {
  const listener = started.listeners.find((candidate) => candidate.name === 'sip' && candidate.transport === 'udp')
  assert.ok(listener?.port, 'the daemon reports its UDP SIP listener')
  return `127.0.0.1:${listener.port}`
}

/** One short call to `number` through the gateway; resolves when SIPp saw it complete. */
const placeCall = async (sip: string, number: string): Promise<void> => {
  const run = await runSipp({scenarioXml: uacShortCall(50), target: sip, service: number, calls: 1, timeoutS: 20})
  const {code, output} = await run.done
  assert.equal(code, 0, `SIPp call to ${number} failed:\n${output}`)
}

const hangupOf = (tail: Tail, number: string): Promise<{type: string; call_sid: string}> => {
  const created = () => events(tail).find((event) => event.type === 'CHANNEL_CREATE' && event.to_number === number)
  return waitFor(`CHANNEL_HANGUP_COMPLETE of the call to ${number} on stdout`, () => {
    const create = created()
    return create === undefined ? undefined : events(tail).find((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === create.call_sid)
  })
}

describe('calls tail --reconnect against a daemon that goes away and a reader that falls behind', () => {
  const home = new TestHome()
  let metricsPort = 0
  let sip = ''
  let sipp: SippRun | undefined

  before(async () => {
    metricsPort = await freePort()
    home.writeConfig(testConfig(metricsPort, `admin:\n  max_queued_bytes: ${MAX_QUEUED_BYTES}\n`))
    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))
    sip = sipListener(started.body.result)
  })
  after(async () => {
    sipp?.stop()
    await home.cleanup()
  })

  it('--json: the daemon stopped and started again; stderr says why the stream was cut, stdout goes on with the calls placed after the restart', {timeout: 90_000}, async () => {
    const before = await subscriptions(metricsPort)
    const tail = startTail(home, ['--reconnect', '--json'])
    try {
      await waitFor('the tail subscription', async () => ((await subscriptions(metricsPort)) > before ? true : undefined))
      await placeCall(sip, '5550101')
      await hangupOf(tail, '5550101')

      const stopped = await home.json(['stop'])
      assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
      const cut = await untilDiagnostic(tail, 'the stream_cut diagnostic', (diagnostic) => diagnostic.diagnostic === 'stream_cut')
      assert.equal(cut.error?.code, 'CC_ERR_ADMIN_CONNECTION_LOST')
      assert.match(cut.message, /Events may have been missed/)
      const unavailable = await untilDiagnostic(tail, 'the daemon_unavailable diagnostic', (diagnostic) => diagnostic.diagnostic === 'daemon_unavailable')
      assert.equal(unavailable.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')

      const restarted = await home.json(['start'])
      assert.equal(restarted.code, 0, JSON.stringify(restarted.body))
      sip = sipListener(restarted.body.result)
      const resumed = await untilDiagnostic(tail, 'the stream_resumed diagnostic', (diagnostic) => diagnostic.diagnostic === 'stream_resumed')
      assert.equal(resumed.pid, restarted.body.result.pid, 'it follows the new daemon')
      console.log(`# resubscribed after ${resumed.attempts} attempts`)
      assert.ok((resumed.attempts ?? 0) >= 1)

      await placeCall(sip, '5550102')
      await hangupOf(tail, '5550102')
      assert.equal(tail.child.exitCode, null, 'still following')
      // One stderr line per change of state, however many attempts it took; stdout holds call events only (events() checks each line).
      assert.deepEqual(
        diagnostics(tail).map((diagnostic) => diagnostic.diagnostic),
        ['stream_cut', 'daemon_unavailable', 'stream_resumed'],
      )
      assert.deepEqual(new Set(events(tail).map((event) => event.to_number).filter(Boolean)), new Set(['5550101', '5550102']))

      tail.child.kill('SIGINT')
      assert.equal(await tail.exited, 0, tail.output.stderr)
    } finally {
      tail.child.kill('SIGKILL')
    }
  })

  it('--json: a reader that stops reading is cut off with CC_ERR_ADMIN_SUBSCRIBER_LAGGING on stderr, and the tail reconnects and goes on', {timeout: 150_000}, async () => {
    const logBefore = readFileSync(home.path('daemon.log'), 'utf8').length
    const before = await subscriptions(metricsPort)
    // stdout is not read until the daemon has cut the tail off: the pipe fills and the tail stops reading its events.
    const tail = startTail(home, ['--reconnect', '--json'], false)
    try {
      await waitFor('the tail subscription', async () => ((await subscriptions(metricsPort)) > before ? true : undefined))
      sipp = await runSipp({scenarioXml: uacShortCall(50), target: sip, calls: 2_000, extraArgs: ['-r', '40', '-l', '40'], timeoutS: 90})
      const calling = sipp
      try {
        await waitFor('the daemon to cut a lagging subscriber off', () => (readFileSync(home.path('daemon.log'), 'utf8').slice(logBefore).includes('admin subscriber lagging') ? true : undefined), 80_000)
      } catch (error) {
        calling.stop()
        throw new Error(`${(error as Error).message}; SIPp said:\n${(await calling.done).output}`)
      } finally {
        calling.stop()
        await calling.done
        sipp = undefined
      }
      assert.equal(tail.output.stderr, '', 'nothing said before the reader reads again')

      readStdoutOf(tail)
      const cut = await untilDiagnostic(tail, 'the stream_cut diagnostic', (diagnostic) => diagnostic.diagnostic === 'stream_cut')
      assert.equal(cut.error?.code, 'CC_ERR_ADMIN_SUBSCRIBER_LAGGING')
      assert.match(cut.error?.message ?? '', new RegExp(`fell behind by more than ${MAX_QUEUED_BYTES} bytes`))
      await untilDiagnostic(tail, 'the stream_resumed diagnostic', (diagnostic) => diagnostic.diagnostic === 'stream_resumed')
      assert.ok((await subscriptions(metricsPort)) >= before + 2, 'subscribed a second time')

      await placeCall(sip, '5550103')
      await hangupOf(tail, '5550103')
      assert.equal(tail.child.exitCode, null, 'still following')
      assert.ok(events(tail).length > 10, 'the events from before the cut were printed too')
      // events() checked that every stdout line is a call event; in particular no diagnostic and no error envelope got in.
      assert.equal(/"diagnostic":|"error":\{/.test(tail.output.stdout), false, 'no diagnostic and no error envelope on stdout')

      tail.child.kill('SIGTERM')
      assert.equal(await tail.exited, 0, tail.output.stderr)
    } finally {
      tail.child.kill('SIGKILL')
    }
  })

  it('bad flag combinations are usage errors (exit 2) that say what is wrong, refused before the daemon is asked', async () => {
    const before = await subscriptions(metricsPort)
    const refused: Array<{args: string[]; message: RegExp}> = [
      {args: ['--give-up-after', '30'], message: /--give-up-after needs --reconnect/},
      {args: ['--reconnect', '--give-up-after', '0'], message: /--give-up-after.*greater than or equal to 1/s},
      {args: ['--reconnect', '--give-up-after', 'soon'], message: /--give-up-after.*integer/s},
      {args: ['--reconect'], message: /did you mean --reconnect\?/},
    ]
    for (const {args, message} of refused) {
      const json = await home.json(['calls', 'tail', ...args])
      assert.equal(json.code, 2, `${args.join(' ')}: ${json.stdout}`)
      assert.equal(json.body.error?.code, 'CC_ERR_USAGE', args.join(' '))
      assert.match(json.body.error?.message ?? '', message, args.join(' '))
      const human = await home.run(['calls', 'tail', ...args])
      assert.equal(human.code, 2, args.join(' '))
      assert.equal(human.stdout, '', args.join(' '))
      assert.match(human.stderr, /^Error \(CC_ERR_USAGE\): /, args.join(' '))
    }
    assert.equal(await subscriptions(metricsPort), before, 'none of them subscribed')
  })

  it('the help says what --reconnect does and that there is no give-up limit by default', async () => {
    const {code, stdout} = await home.run(['calls', 'tail', '--help'])
    assert.equal(code, 0)
    assert.match(stdout, /--reconnect/)
    assert.match(stdout, /--give-up-after=SECONDS/)
    assert.match(stdout, /events\s+may\s+have\s+been\s+missed/)
    assert.match(stdout, /doubles\s+up\s+to\s+5\s+s/)
    assert.match(stdout, /retries\s+for\s+as\s+long\s+as\s+it\s+runs/)
  })
})

describe('calls tail --reconnect while no daemon runs', () => {
  const home = new TestHome()
  before(() => home.writeConfig(testConfig(0)))
  after(() => home.cleanup())

  it('--give-up-after: one diagnostic however many attempts, then CC_ERR_TAIL_GAVE_UP (exit 1) as the one-line envelope', async () => {
    const tail = startTail(home, ['--reconnect', '--give-up-after', '1', '--json'])
    assert.equal(await tail.exited, 1, tail.output.stderr)
    assert.deepEqual(
      diagnostics(tail).map((diagnostic) => [diagnostic.diagnostic, diagnostic.error?.code]),
      [['daemon_unavailable', 'CC_ERR_DAEMON_NOT_RUNNING']],
    )
    assert.equal(tail.output.stdout.split('\n').length, 2, `one line: ${tail.output.stdout}`)
    const envelope = JSON.parse(tail.output.stdout) as {status: number; error: {code: string; details: {seconds: number; attempts: number; code: string}}}
    assert.equal(envelope.status, 1)
    assert.equal(envelope.error.code, 'CC_ERR_TAIL_GAVE_UP')
    assert.equal(envelope.error.details.seconds, 1)
    assert.equal(envelope.error.details.code, 'CC_ERR_DAEMON_NOT_RUNNING')
    // At 0, 0.2, 0.6 and 1.0 s: several attempts, still one line.
    assert.ok(envelope.error.details.attempts >= 3, `attempts: ${envelope.error.details.attempts}`)
  })

  it('without --json: the same in sentences on stderr, nothing on stdout', async () => {
    const {code, stdout, stderr} = await home.run(['calls', 'tail', '--reconnect', '--give-up-after', '1'])
    assert.equal(code, 1)
    assert.equal(stdout, '')
    const lines = stderr.trimEnd().split('\n')
    assert.equal(lines.filter((line) => line.startsWith('Cannot reconnect yet (CC_ERR_DAEMON_NOT_RUNNING)')).length, 1, stderr)
    assert.match(stderr, /^Error \(CC_ERR_TAIL_GAVE_UP\): calls tail gave up reconnecting: no event stream from the daemon for 1s/m)
  })

  it('SIGTERM while it waits for the daemon ends it with exit 0', async () => {
    const tail = startTail(home, ['--reconnect', '--json'])
    await untilDiagnostic(tail, 'the daemon_unavailable diagnostic', (diagnostic) => diagnostic.diagnostic === 'daemon_unavailable')
    tail.child.kill('SIGTERM')
    assert.equal(await tail.exited, 0, tail.output.stderr)
    assert.equal(tail.output.stdout, '')
  })
})
