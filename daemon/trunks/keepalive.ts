// OPTIONS keepalive of one trunk (docs/sip-trunks.md, "Keepalive and
// failover"): one probe at a time, every interval_s; the trunk goes down
// after down_after failed probes in a row and up again after up_after
// answered ones. Until the first probe has an outcome it is `unknown`, which
// routes like `up`.
import type {Logger} from 'pino'
import {probeOptions, type ProbeResult} from '../../src/sip/options-probe.js'
import type {UserAgentCore} from '../../src/sip/user-agent-core.js'

export type Reachability = 'up' | 'down' | 'unknown'

export interface KeepaliveSettings {
  readonly interval_s: number
  readonly timeout_ms: number
  readonly down_after: number
  readonly up_after: number
}

export interface KeepaliveStatus {
  readonly state: Reachability
  /** When the state last changed (epoch ms). */
  readonly since: number
  readonly lastProbeAt: number | null
  readonly lastStatus: number | null
  readonly lastRttMs: number | null
  readonly consecutiveFailures: number
  readonly consecutiveSuccesses: number
  readonly lastError: {readonly at: number; readonly message: string} | null
  readonly probes: number
}

export class TrunkKeepalive {
  private state: Reachability = 'unknown'
  private since = Date.now()
  private lastProbeAt: number | undefined
  private last: ProbeResult | undefined
  private failures = 0
  private successes = 0
  private lastError: KeepaliveStatus['lastError'] = null
  private probes = 0
  private timer: NodeJS.Timeout | undefined
  private stopped = false

  constructor(
    private readonly core: UserAgentCore,
    readonly trunkId: string,
    private readonly uri: string,
    private readonly settings: KeepaliveSettings,
    private readonly log: Logger,
    /** Told of every change between up and down (not of unknown → up). */
    private readonly changed: (up: boolean) => void,
  ) {}

  start(): void {
    this.run()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
  }

  /** True unless the probes marked the trunk down. */
  get up(): boolean {
    return this.state !== 'down'
  }

  status(): KeepaliveStatus {
    return {
      state: this.state,
      since: this.since,
      lastProbeAt: this.lastProbeAt ?? null,
      lastStatus: this.last?.status ?? null,
      lastRttMs: this.last?.rttMs ?? null,
      consecutiveFailures: this.failures,
      consecutiveSuccesses: this.successes,
      lastError: this.lastError,
      probes: this.probes,
    }
  }

  private run(): void {
    if (this.stopped) return
    void probeOptions(this.core, this.uri, {timeoutMs: this.settings.timeout_ms})
      .catch((error: unknown): ProbeResult => ({ok: false, status: null, rttMs: null, error: error instanceof Error ? error.message : String(error)}))
      .then((result) => {
        if (this.stopped) return
        this.record(result)
        this.timer = setTimeout(() => this.run(), this.settings.interval_s * 1000)
        this.timer.unref?.()
      })
  }

  private record(result: ProbeResult): void {
    this.probes++
    this.lastProbeAt = Date.now()
    this.last = result
    if (result.ok) {
      this.successes++
      this.failures = 0
      if (this.state === 'unknown' || (this.state === 'down' && this.successes >= this.settings.up_after)) this.move('up')
      return
    }
    this.failures++
    this.successes = 0
    this.lastError = {at: this.lastProbeAt, message: result.error ?? 'failed'}
    if (this.state !== 'down' && this.failures >= this.settings.down_after) this.move('down')
  }

  private move(state: Reachability): void {
    const was = this.state
    this.state = state
    this.since = Date.now()
    if (state === 'down') this.log.warn({trunk_id: this.trunkId, failures: this.failures, error: this.lastError?.message}, 'trunk down: OPTIONS keepalive failed; new calls go to its failover trunks')
    else if (was === 'down') this.log.info({trunk_id: this.trunkId, rtt_ms: this.last?.rttMs}, 'trunk up again: OPTIONS keepalive answered')
    if (was !== 'unknown' || state === 'down') this.changed(state === 'up')
  }
}
