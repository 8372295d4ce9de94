// The session timer of one call (RFC 4028 §10): after each successful
// refresh (the 2xx that set the session up included), the refresher sends
// the next refresh at half the interval (an UPDATE without SDP when the peer
// allows UPDATE, else a re-INVITE with our SDP unchanged, same o= version),
// and the call ends with a BYE (Q.850 cause 102) when the session expires
// unrefreshed: at the interval when we refresh and never got a 2xx, shortly
// before it (§10: by the smaller of 32 s and a third) when the peer should
// have. Which side refreshes is relative to each transaction's UAC and UAS;
// here it is `local` or `remote`.
import {randomInt} from 'node:crypto'
import type {SipRequest, SipResponse} from './message.js'
import {decideAsUas, expiryDelayMs, minSeOf422, outcomeOf2xx, refreshDelayMs, uacRequestHeaders, uasResponseHeaders, type SessionTimerSettings, type UasDecision} from './session-timer.js'
import type {ReinviteResult} from './user-agent-types.js'

export type RefresherSide = 'local' | 'remote'

/** What the session timer needs from its call. */
export interface SessionTimerHost {
  readonly settings: SessionTimerSettings
  /** True once the call is established and not ended (a refresh can go). */
  canRefresh(): boolean
  isEnded(): boolean
  /** Whether to refresh with UPDATE (the peer listed it in Allow) rather than re-INVITE. */
  refreshByUpdate(): boolean
  /** The peer refused our UPDATE (405, 501): refresh with re-INVITE from now on. */
  updateRefused(): void
  sendUpdateRefresh(headers: Array<[string, string]>): Promise<ReinviteResult>
  sendReinviteRefresh(headers: Array<[string, string]>): Promise<ReinviteResult>
  /** The session expired: end the call with BYE. */
  expire(): void
}

/** setTimeout holds at most 2^31 - 1 ms (24.8 days); a peer's Min-SE may ask for more, so long waits are chained. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1

class LongTimer {
  private handle: NodeJS.Timeout | undefined

  start(delayMs: number, fire: () => void): void {
    this.stop()
    const step = Math.min(delayMs, MAX_TIMEOUT_MS)
    this.handle = setTimeout(() => {
      this.handle = undefined
      if (delayMs > step) this.start(delayMs - step, fire)
      else fire()
    }, step)
  }

  stop(): void {
    if (this.handle !== undefined) clearTimeout(this.handle)
    this.handle = undefined
  }

  get running(): boolean {
    return this.handle !== undefined
  }
}

/** Refresh attempts per cycle: the first, a retry with the Min-SE of a 422, one after a 491, one with re-INVITE after UPDATE was refused. */
const MAX_ATTEMPTS = 4

export class SessionTimer {
  /** Seconds; undefined while the session has no timer. */
  interval: number | undefined
  refresher: RefresherSide | undefined
  /** When the current interval began (the last successful refresh), ms. */
  refreshedAt: number | undefined
  /** Successful refreshes, whoever sent them (the 2xx that set the session up is not one). */
  refreshes = 0
  private readonly refreshTimer = new LongTimer()
  private readonly expiryTimer = new LongTimer()
  private refreshing = false

  constructor(private readonly host: SessionTimerHost) {}

  get active(): boolean {
    return this.interval !== undefined
  }

  /** (Re)starts the timers for a session refreshed now. */
  arm(interval: number, refresher: RefresherSide, refresh = true): void {
    this.stop()
    if (refresh && this.interval !== undefined) this.refreshes++
    this.interval = interval
    this.refresher = refresher
    this.refreshedAt = Date.now()
    if (refresher === 'local') {
      this.refreshTimer.start(refreshDelayMs(interval), () => void this.refresh())
      // §10: without a 2xx to any refresh before the session expires, we end it.
      this.expiryTimer.start(interval * 1000, () => this.host.expire())
    } else {
      this.expiryTimer.start(expiryDelayMs(interval), () => this.host.expire())
    }
  }

  /** The session has no timer any more (a 2xx without Session-Expires, §7.2). */
  disarm(): void {
    this.stop()
    this.interval = undefined
    this.refresher = undefined
  }

  stop(): void {
    this.refreshTimer.stop()
    this.expiryTimer.stop()
  }

  /** What we answer a re-INVITE or UPDATE received (§9); the caller sends 400/422 for the refusals. */
  decide(request: SipRequest): UasDecision {
    return decideAsUas(request.headers, this.host.settings)
  }

  /** The 2xx headers of an accepted decision. */
  responseHeaders(decision: Extract<UasDecision, {kind: 'timer'}>): Array<[string, string]> {
    return uasResponseHeaders(decision)
  }

  /** Our 2xx to the peer's request went out: the session is refreshed (refresher `uac` is the peer, the sender of the request). */
  acceptedRemote(decision: Extract<UasDecision, {kind: 'timer'}>): void {
    this.arm(decision.interval, decision.refresher === 'uac' ? 'remote' : 'local')
  }

  /** Session-Expires and Min-SE for a re-INVITE or UPDATE we send: the current interval, and the refresher as it stands. */
  requestHeaders(interval = this.interval ?? this.host.settings.expiresS): Array<[string, string]> {
    const refresher = this.refresher === undefined ? undefined : this.refresher === 'local' ? 'uac' : 'uas'
    return uacRequestHeaders(interval, this.host.settings.minSeS, refresher)
  }

  /** A 2xx to our INVITE, re-INVITE or UPDATE (§7.2): the session is refreshed, or has no timer when the 2xx names none. */
  accepted2xx(response: SipResponse, initial = false): void {
    let outcome
    try {
      outcome = outcomeOf2xx(response.headers)
    } catch {
      // A malformed Session-Expires in a 2xx: the session stands as it was.
      return
    }
    if (outcome.kind === 'none') return this.disarm()
    this.arm(outcome.interval, outcome.refresher === 'uac' ? 'local' : 'remote', !initial)
  }

  /** Sends our refresh; the 2xx re-arms the timers (through accepted2xx). Bounded: at most MAX_ATTEMPTS requests per cycle. */
  async refresh(): Promise<void> {
    if (this.refreshing || this.interval === undefined) return
    this.refreshing = true
    let interval = this.interval
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        if (this.host.isEnded()) return
        if (!this.host.canRefresh()) {
          // Still waiting for an ACK or our own re-INVITE: try again shortly, the expiry timer still stands.
          await delay(Math.min(1000, refreshDelayMs(interval) / 4))
          continue
        }
        const headers = this.requestHeaders(interval)
        const byUpdate = this.host.refreshByUpdate()
        const result = byUpdate ? await this.host.sendUpdateRefresh(headers) : await this.host.sendReinviteRefresh(headers)
        if (result.ok || this.host.isEnded()) return
        if (result.status === 422) {
          // §7.3: ask again with at least the Min-SE the peer named.
          const minSe = result.response === undefined ? undefined : minSeOf422(result.response.headers, interval)
          if (minSe === undefined) return
          interval = minSe
          continue
        }
        if (result.status === 491) {
          // RFC 3261 §14.1: glare, wait 0-2 s (or 2.1-4 s) and try again.
          await delay(randomInt(500, 2000))
          continue
        }
        if (byUpdate && (result.status === 405 || result.status === 501)) {
          this.host.updateRefused()
          continue
        }
        // Any other failure: the session is not refreshed and expires at its deadline (§10).
        return
      }
    } finally {
      this.refreshing = false
    }
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
