// A daemon under test: its own home on free loopback ports, with `calls tail
// --json` collecting the call events it publishes.
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import type {CallEvent, ChannelHangupComplete} from '../../src/calls/events.js'
import {BIN, freePort, testConfig, TestHome} from './cli.js'

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export const waitFor = async <T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** A daemon in its own home on free loopback ports, with `calls tail --json` collecting its events. */
export class TestGateway {
  readonly home = new TestHome()
  readonly events: CallEvent[] = []
  /** `127.0.0.1:port` of the UDP SIP listener. */
  sip = ''
  /** Every listener `start` reported. */
  listeners: Array<{name: string; transport: string; address: string; port?: number}> = []
  metricsPort = 0
  private tail: ChildProcess | undefined

  /**
   * Starts the daemon on the test config plus `extraYaml`; `extraEnv` goes to `start` (and so to the daemon), e.g. OTEL_* variables;
   * `sipExtra`: lines inside the `sip` section after the UDP and TCP listeners (see testConfig).
   */
  async start(extraYaml = '', extraEnv: NodeJS.ProcessEnv = {}, sipExtra = ''): Promise<void> {
    const metricsPort = await freePort()
    this.metricsPort = metricsPort
    this.home.writeConfig(testConfig(metricsPort, extraYaml, sipExtra))
    const started = await this.home.json(['start'], extraEnv)
    assert.equal(started.code, 0, JSON.stringify(started.body))
    const sip = started.body.result.listeners.find((listener: {name: string; transport: string}) => listener.name === 'sip' && listener.transport === 'udp')
    assert.ok(sip, `no SIP UDP listener in ${JSON.stringify(started.body.result.listeners)}`)
    this.sip = `127.0.0.1:${sip.port}`
    this.listeners = started.body.result.listeners
    this.tail = spawn(process.execPath, [BIN, 'calls', 'tail', '--json'], {env: this.home.env, stdio: ['ignore', 'pipe', 'inherit']})
    let buffered = ''
    this.tail.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const line of lines) {
        // A daemon that dies makes the tail print its error envelope (pretty JSON): only event lines count.
        if (!line.startsWith('{"')) continue
        try {
          this.events.push(JSON.parse(line) as CallEvent)
        } catch {
          // Not an event line.
        }
      }
    })
    // The tail is subscribed once the daemon has counted its calls.subscribe (after the handler ran):
    // a fixed sleep loses the first call's CHANNEL_CREATE on a loaded machine.
    await waitFor('the calls tail subscription', async () => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
      return /^clutchcall_admin_requests_total\{[^}]*method="calls\.subscribe"[^}]*result="ok"[^}]*\} [1-9]/m.test(text) ? true : undefined
    })
  }

  async stop(): Promise<void> {
    this.tail?.kill('SIGINT')
    await this.home.cleanup()
  }

  created(to: string): Promise<CallEvent> {
    return waitFor(`the call to ${to}`, () => this.events.find((event) => event.type === 'CHANNEL_CREATE' && event.to_number === to))
  }

  answered(sid: string): Promise<CallEvent> {
    return waitFor(`the answer of ${sid}`, () => this.events.find((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === sid))
  }

  hangupOf(to: string): Promise<ChannelHangupComplete> {
    return waitFor(`the end of the call to ${to}`, () =>
      this.events.find((event): event is ChannelHangupComplete => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.to_number === to),
    )
  }

  /** `127.0.0.1:port` of the SIP listener of a transport. */
  sipAddress(transport: 'udp' | 'tcp' | 'tls'): string {
    const listener = this.listeners.find((candidate) => candidate.name === 'sip' && candidate.transport === transport)
    assert.ok(listener?.port, `no SIP ${transport} listener`)
    return `127.0.0.1:${listener.port}`
  }

  /** The value of the first sample matching `line` (a regexp with one capture), 0 when absent. */
  async metric(line: RegExp): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.metricsPort}/metrics`)).text()
    const match = line.exec(text)
    return match ? Number(match[1]) : 0
  }

  /** The daemon's JSON log lines that `filter` accepts. */
  logLines(filter: (line: Record<string, unknown>) => boolean = () => true): Array<Record<string, unknown>> {
    return readFileSync(this.home.path('daemon.log'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter(filter)
  }

  typesOf(sid: string): string[] {
    return this.events.filter((event) => event.call_sid === sid).map((event) => event.type)
  }
}
