// The SIP abuse guard (docs/sip-abuse-control.md): screens every request the
// transport receives before the transaction layer keeps anything for it.
// Banned and over-the-limit sources are dropped silently; a source in no
// trunk's CIDRs is dropped (or refused with a stateless 403) unless the request
// belongs to a transaction or dialog we hold, or is an INVITE a
// credential-only trunk will challenge. Digest failures reported by the
// inbound call code ban a source that keeps guessing.
import {EventEmitter} from 'node:events'
import type {Logger} from 'pino'
import type {SecurityBan} from '../../src/admin/protocol.js'
import type {Config} from '../../src/config/schema.js'
import type {SipRequest} from '../../src/sip/message.js'
import type {ConnectionVerdict, InboundContext, SipConnectionDropReason, SipTransportProtocol} from '../../src/sip/transport/types.js'
import {cidrBlockList, plainAddress, type CidrSet} from '../../src/net/cidr.js'
import type {InboundRouter} from '../trunks/inbound-router.js'
import {SourceLimiter, type Ban, type BanReason} from './source-limiter.js'

/** The `method` label of `clutchcall_sip_requests_refused_total`: the methods we know, anything else is `other`. */
export const SCREENED_METHODS = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'MESSAGE', 'INFO', 'UPDATE', 'PRACK', 'REFER'] as const
const METHOD_LABELS: ReadonlySet<string> = new Set(SCREENED_METHODS)

/** The `reason` label of `clutchcall_sip_requests_refused_total`. */
export const SIP_REQUEST_REFUSAL_REASONS = [
  /** The source is in no trunk's CIDRs and the request is not an INVITE for a credential-only trunk. */
  'unknown_source',
  /** This request put its source over `security.rate_limit` and banned it. */
  'rate_limit',
  /** The source is banned (rate limit or digest failures). */
  'banned',
  /** The gateway holds security.limits.max_transactions server transactions: a stateless 503 with Retry-After. */
  'transaction_limit',
] as const
export type SipRequestRefusalReason = (typeof SIP_REQUEST_REFUSAL_REASONS)[number]

export interface SipGuardEvents {
  /** One request dropped or rejected; `method` is already bounded to SCREENED_METHODS and `other`. */
  refused: [method: string, reason: SipRequestRefusalReason]
  /** A source was banned (once per ban). */
  banned: [reason: BanReason, address: string]
  /** The number of banned sources changed (a ban, an unban, an expiry). */
  bannedCount: [count: number]
  /** A stream connection refused as it was accepted, or closed by one of security.limits. */
  connectionDropped: [transport: SipTransportProtocol, reason: SipConnectionDropReason]
}

/** How often expired bans are lifted and stale windows forgotten. */
const SWEEP_INTERVAL_MS = 1000

export const methodLabel = (method: string): string => (METHOD_LABELS.has(method) ? method : 'other')

/** A status line starts `SIP/`: a response, which no screen applies to. */
const isResponse = (bytes: Buffer): boolean => bytes.length >= 4 && bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f

/** The first token of a request line, unparsed: the method, or anything else (labelled `other`). */
const requestMethod = (bytes: Buffer): string => {
  const end = bytes.indexOf(0x20)
  return end > 0 && end <= 16 ? bytes.toString('latin1', 0, end) : ''
}

export class SipGuard extends EventEmitter<SipGuardEvents> {
  /** Requests admitted and turned away (dropped or rejected), since start: overload control tells a flood from callers by them. */
  readonly counts = {admitted: 0, refused: 0}
  private limiter!: SourceLimiter
  private trusted: CidrSet | undefined
  private unknownSources: 'drop' | 'reject' = 'drop'
  private trunkSourcesLimited = false
  private readonly timer: NodeJS.Timeout
  private maxTransactions = 0
  /** The limits in force, to tell whether a reload changes the source limiter's. */
  private limiterKey = ''
  /** Server transactions held now; set by the engine once its transaction layer exists. */
  serverTransactions: () => number = () => 0

  constructor(
    security: Config['security'],
    private router: InboundRouter,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    super()
    this.reconfigure(security, router)
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS)
    this.timer.unref()
  }

  /**
   * Applies `security` and the trunks' router (at start, and on a config reload): the next request
   * is screened by them. Bans in force stay until they end; with new rate or failure limits the
   * counting starts again.
   */
  reconfigure(security: Config['security'], router: InboundRouter): void {
    const {rate_limit: rate, auth_failures: failures} = security
    this.router = router
    this.trusted = cidrBlockList(security.trusted_cidrs)
    this.unknownSources = security.unknown_sources
    this.trunkSourcesLimited = rate.trunk_sources === 'limited'
    this.maxTransactions = security.limits.max_transactions
    const options = {
      capacity: security.max_tracked_sources,
      requests: rate.enabled ? {max: rate.requests, windowMs: rate.window_ms, banMs: rate.ban_s * 1000} : undefined,
      authFailures: failures.enabled ? {max: failures.max, windowMs: failures.window_s * 1000, banMs: failures.ban_s * 1000} : undefined,
    }
    const key = JSON.stringify(options)
    if (key === this.limiterKey) return
    const previous = this.limiter as SourceLimiter | undefined
    this.limiter = new SourceLimiter({...options, banned: (ban) => this.onBan(ban)})
    this.limiterKey = key
    if (previous !== undefined) {
      this.limiter.carryBansFrom(previous, this.now())
      this.emit('bannedCount', this.limiter.bannedCount)
    }
  }

  /** The UA's RequestScreen: called once per request received, before any transaction state exists. */
  screen(request: SipRequest, context: InboundContext, belongs: boolean): 'admit' | 'drop' | 'reject' | 'busy' {
    const verdict = this.decide(request.method, context.remote.address, belongs)
    // The hard cap on what remote parties make us hold, for every source: a new transaction past it gets a stateless 503.
    if (verdict === 'admit' && !belongs && request.method !== 'ACK' && this.serverTransactions() >= this.maxTransactions) {
      this.counts.admitted--
      this.counts.refused++
      this.emit('refused', methodLabel(request.method), 'transaction_limit')
      return 'busy'
    }
    return verdict
  }

  /**
   * The source of a new TCP connection, before anything is read from it:
   * trusted sources are exempt from the per-source cap, banned ones are
   * closed, and so are unknown ones when `unknown_sources` is `drop` and no
   * credential-only trunk takes calls from anywhere (with `reject` they are
   * let in, to get their 403).
   */
  screenConnection(source: string): ConnectionVerdict {
    const address = plainAddress(source)
    if (this.trusted?.check(address) === true) return 'exempt'
    if (this.limiter.isBanned(address, this.now())) return 'banned'
    if (this.router.isOpen || this.router.isTrunkSource(address) || this.router.hasCredentialOnlyTrunk) return 'admit'
    return this.unknownSources === 'drop' ? 'unknown_source' : 'admit'
  }

  /**
   * For each UDP datagram before it is parsed: false for a request from a banned source, which is
   * dropped there (counted as `banned`, with the method read from the request line's first token),
   * so a banned flooder costs a Map lookup per datagram instead of a parse. Responses, and
   * everything while nobody is banned, go on to the parser and `screen`.
   */
  screenDatagram(bytes: Buffer, source: string): boolean {
    if (this.limiter.bannedCount === 0 || isResponse(bytes)) return true
    const address = plainAddress(source)
    const now = this.now()
    if (!this.limiter.isBanned(address, now)) return true
    if (this.trusted?.check(address) === true) return true
    // Counts the hit on the ban (and lifts it, were it just expired).
    if (this.limiter.request(address, now, false) !== 'banned') return true
    this.counts.refused++
    this.emit('refused', methodLabel(requestMethod(bytes)), 'banned')
    return false
  }

  /** For a request too broken to parse (which would get a 400): admitted only from a source that may send requests at all. */
  screenUnparsable(context: InboundContext): boolean {
    return this.decide('', context.remote.address, false) === 'admit'
  }

  /** What `unknown_sources` says to do with a request from an unknown source. */
  get unknownSourceAction(): 'drop' | 'reject' {
    return this.unknownSources
  }

  private decide(method: string, source: string, belongs: boolean): 'admit' | 'drop' | 'reject' {
    const verdict = this.verdict(method, source, belongs)
    if (verdict === 'admit') this.counts.admitted++
    else this.counts.refused++
    return verdict
  }

  private verdict(method: string, source: string, belongs: boolean): 'admit' | 'drop' | 'reject' {
    const address = plainAddress(source)
    if (this.trusted?.check(address) === true) return 'admit'
    const trunkSource = !this.router.isOpen && this.router.isTrunkSource(address)
    const verdict = this.limiter.request(address, this.now(), this.trunkSourcesLimited || !trunkSource)
    if (verdict !== 'pass') {
      this.emit('refused', methodLabel(method), verdict)
      return 'drop'
    }
    if (belongs || trunkSource || this.router.isOpen) return 'admit'
    // A credential-only trunk takes INVITEs from anywhere: the digest challenge is how its callers get in.
    if (method === 'INVITE' && this.router.hasCredentialOnlyTrunk) return 'admit'
    this.emit('refused', methodLabel(method), 'unknown_source')
    return this.unknownSources
  }

  /** Reported by the transport; the guard is where every refusal is observed from. */
  connectionDropped(transport: SipTransportProtocol, reason: SipConnectionDropReason): void {
    this.emit('connectionDropped', transport, reason)
  }

  /** A wrong digest from `source` (the inbound call code reports each); enough of them ban it. */
  authFailed(source: string): void {
    const address = plainAddress(source)
    if (this.trusted?.check(address) === true) return
    this.limiter.authFailed(address, this.now())
  }

  bans(): SecurityBan[] {
    return this.limiter.list(this.now()).map((ban) => ({
      address: ban.address,
      reason: ban.reason,
      since: new Date(ban.since).toISOString(),
      until: new Date(ban.until).toISOString(),
      hits: ban.hits,
    }))
  }

  get bannedCount(): number {
    return this.limiter.bannedCount
  }

  /** Lifts the ban on `address` (or every ban with undefined); returns the addresses let back in. */
  unban(address: string | undefined): string[] {
    const now = this.now()
    if (address === undefined) {
      const lifted = this.limiter.list(now).map((ban) => ban.address)
      this.limiter.unbanAll()
      if (lifted.length > 0) this.log.info({count: lifted.length}, 'every banned source let back in')
      this.emit('bannedCount', this.limiter.bannedCount)
      return lifted
    }
    const plain = plainAddress(address)
    const wasBanned = this.limiter.isBanned(plain, now)
    this.limiter.unban(plain)
    if (!wasBanned) return []
    this.log.info({source: plain}, 'banned source let back in')
    this.emit('bannedCount', this.limiter.bannedCount)
    return [plain]
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private onBan(ban: Ban): void {
    // One line per ban, never one per dropped request: a flood must not flood the log too.
    this.log.warn({source: ban.address, reason: ban.reason, until: new Date(ban.until).toISOString()}, 'source banned')
    this.emit('banned', ban.reason, ban.address)
    this.emit('bannedCount', this.limiter.bannedCount)
  }

  private sweep(): void {
    const expired = this.limiter.sweep(this.now())
    for (const ban of expired) this.log.info({source: ban.address, reason: ban.reason, hits: ban.hits}, 'ban expired')
    if (expired.length > 0) this.emit('bannedCount', this.limiter.bannedCount)
  }
}
