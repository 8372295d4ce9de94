// Per-source accounting for SIP abuse control (docs/sip-abuse-control.md):
// fixed-window request counts (like Kamailio pike), digest failures (like
// fail2ban) and the bans they lead to. Every operation is O(1): counters and
// bans live in insertion-ordered Maps used as LRUs, each capped at `capacity`
// entries, so a flood from spoofed addresses cannot grow memory without bound.
// Beyond the cap the least recently seen source is forgotten (its count starts
// again); for bans, the oldest ban is lifted early.

/** Why a source was banned: the `reason` label of `clutchcall_security_bans_total`. */
export const BAN_REASONS = ['rate_limit', 'auth_failures'] as const
export type BanReason = (typeof BAN_REASONS)[number]

export interface Ban {
  readonly address: string
  readonly reason: BanReason
  /** Epoch milliseconds. */
  readonly since: number
  readonly until: number
  /** Requests dropped because of this ban (the one that caused it included). */
  hits: number
}

export interface WindowLimit {
  /** Events allowed per window; the one beyond it bans the source. */
  readonly max: number
  readonly windowMs: number
  readonly banMs: number
}

export interface SourceLimiterOptions {
  readonly capacity: number
  /** Requests per source; undefined: requests are not limited. */
  readonly requests: WindowLimit | undefined
  /** Digest failures per source; undefined: failures do not ban. */
  readonly authFailures: WindowLimit | undefined
  /** Called once per new ban, never per dropped request. */
  readonly banned?: (ban: Ban) => void
}

/** What became of one request: let through, dropped under an existing ban, or dropped by the ban it just caused. */
export type RequestVerdict = 'pass' | 'banned' | 'rate_limit'

interface Window {
  start: number
  count: number
}

/** Fixed-window counters by key, at most `capacity` of them (least recently touched evicted first). */
class WindowCounters {
  private readonly windows = new Map<string, Window>()

  constructor(
    private readonly capacity: number,
    private readonly windowMs: number,
  ) {}

  /** Counts one event for `key` and returns the count in its current window. */
  hit(key: string, now: number): number {
    let window = this.windows.get(key)
    if (window !== undefined) {
      // Re-inserting moves the key to the young end of the Map's order: O(1) LRU.
      this.windows.delete(key)
    } else if (this.windows.size >= this.capacity) {
      const oldest = this.windows.keys().next().value
      if (oldest !== undefined) this.windows.delete(oldest)
    }
    if (window === undefined || now - window.start >= this.windowMs) window = {start: now, count: 0}
    window.count++
    this.windows.set(key, window)
    return window.count
  }

  forget(key: string): void {
    this.windows.delete(key)
  }

  /** Drops windows that ended long ago (called from the periodic sweep). */
  sweep(now: number, budget: number): void {
    for (const [key, window] of this.windows) {
      if (budget-- <= 0 || now - window.start < this.windowMs) return
      this.windows.delete(key)
    }
  }

  get size(): number {
    return this.windows.size
  }
}

export class SourceLimiter {
  private readonly bans = new Map<string, Ban>()
  private readonly requestCounts: WindowCounters | undefined
  private readonly failureCounts: WindowCounters | undefined

  constructor(private readonly options: SourceLimiterOptions) {
    this.requestCounts = options.requests ? new WindowCounters(options.capacity, options.requests.windowMs) : undefined
    this.failureCounts = options.authFailures ? new WindowCounters(options.capacity, options.authFailures.windowMs) : undefined
  }

  /** The ban in force on `address`, counting the hit; undefined when it may send. */
  private activeBan(address: string, now: number): Ban | undefined {
    const ban = this.bans.get(address)
    if (ban === undefined) return undefined
    if (now >= ban.until) {
      this.bans.delete(address)
      return undefined
    }
    ban.hits++
    return ban
  }

  /** One request from `address`. `limited` false skips the rate limit (trusted and, by default, trunk sources), never a ban. */
  request(address: string, now: number, limited: boolean): RequestVerdict {
    if (this.activeBan(address, now) !== undefined) return 'banned'
    if (!limited || this.requestCounts === undefined || this.options.requests === undefined) return 'pass'
    if (this.requestCounts.hit(address, now) <= this.options.requests.max) return 'pass'
    this.ban(address, 'rate_limit', now, this.options.requests.banMs)
    return 'rate_limit'
  }

  /** A wrong digest from `address`; true when it just got the source banned. */
  authFailed(address: string, now: number): boolean {
    if (this.failureCounts === undefined || this.options.authFailures === undefined) return false
    if (this.bans.has(address)) return false
    if (this.failureCounts.hit(address, now) < this.options.authFailures.max) return false
    this.ban(address, 'auth_failures', now, this.options.authFailures.banMs)
    return true
  }

  isBanned(address: string, now: number): boolean {
    const ban = this.bans.get(address)
    return ban !== undefined && now < ban.until
  }

  private ban(address: string, reason: BanReason, now: number, durationMs: number): void {
    if (this.bans.size >= this.options.capacity) {
      // Bans all last about as long, so the oldest is the nearest to its end anyway.
      const oldest = this.bans.keys().next().value
      if (oldest !== undefined) this.bans.delete(oldest)
    }
    const ban: Ban = {address, reason, since: now, until: now + durationMs, hits: 1}
    this.bans.set(address, ban)
    // A source let back in starts with clean counts.
    this.requestCounts?.forget(address)
    this.failureCounts?.forget(address)
    this.options.banned?.(ban)
  }

  /**
   * Takes over the bans of the limiter this one replaces (a config reload with new limits): a
   * banned source stays banned until its ban ends, whatever the new limits; counting starts again.
   */
  carryBansFrom(previous: SourceLimiter, now: number): void {
    for (const ban of previous.list(now)) {
      if (this.bans.size >= this.options.capacity) break
      this.bans.set(ban.address, ban)
    }
  }

  /** Lifts the ban on one address; false when there was none. */
  unban(address: string): boolean {
    this.requestCounts?.forget(address)
    this.failureCounts?.forget(address)
    return this.bans.delete(address)
  }

  /** Lifts every ban; returns how many there were. */
  unbanAll(): number {
    const count = this.bans.size
    this.bans.clear()
    return count
  }

  /** The bans in force, oldest first. */
  list(now: number): Ban[] {
    return [...this.bans.values()].filter((ban) => now < ban.until)
  }

  /** Bans in force (expired ones are removed by the next sweep). */
  get bannedCount(): number {
    return this.bans.size
  }

  /** Tracked counting windows, requests and failures. */
  get trackedSources(): number {
    return (this.requestCounts?.size ?? 0) + (this.failureCounts?.size ?? 0)
  }

  /** Removes expired bans (returned, for the log) and stale windows, looking at most at `budget` entries of each map. */
  sweep(now: number, budget = 10_000): Ban[] {
    const expired: Ban[] = []
    let looked = 0
    for (const [address, ban] of this.bans) {
      if (looked++ >= budget) break
      if (now >= ban.until) {
        this.bans.delete(address)
        expired.push(ban)
      }
    }
    this.requestCounts?.sweep(now, budget)
    this.failureCounts?.sweep(now, budget)
    return expired
  }
}
