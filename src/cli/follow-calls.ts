// How `calls tail` follows the daemon's call events: one subscription at a
// time, and what happens when it ends. Without --reconnect the first cut is
// the end (the command fails with the reason). With it, a cut for a reason
// worth retrying is reported (events may have been missed), the tail waits
// with a bounded backoff and subscribes again, and says so once it follows
// again: one notice per change of state, never one per attempt. The command
// supplies how to open a subscription (the live view or NDJSON) and how to
// report; the retry policy lives here alone, so it is tested without a daemon.
import {setTimeout as delay} from 'node:timers/promises'
import {CCError, toCCError, type ErrorCode} from '../errors.js'

/** The wait before the first reconnect attempt after a cut, and after the first failed attempt at start. */
export const RECONNECT_FIRST_DELAY_MS = 200
/** The backoff doubles up to this, and stays there while the daemon is away. */
export const RECONNECT_MAX_DELAY_MS = 5_000

/**
 * Why a stream ends, or a reconnect attempt fails, that --reconnect retries:
 * the daemon cut a slow reader off, the connection went away, the daemon is
 * not running (yet), does not answer in time, or is draining towards a stop.
 * Anything else (a protocol mismatch after an upgrade, a permission, a bug)
 * would fail the same way again: the tail stops with it.
 */
export const RETRIED_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CC_ERR_ADMIN_SUBSCRIBER_LAGGING',
  'CC_ERR_ADMIN_CONNECTION_LOST',
  'CC_ERR_DAEMON_NOT_RUNNING',
  'CC_ERR_ADMIN_TIMEOUT',
  'CC_ERR_DRAINING',
])

/** 0.2 s, 0.4 s, 0.8 s, … up to 5 s; back to 0.2 s after a successful subscribe. */
export class Backoff {
  private upcoming = RECONNECT_FIRST_DELAY_MS

  next(): number {
    const current = this.upcoming
    this.upcoming = Math.min(RECONNECT_MAX_DELAY_MS, current * 2)
    return current
  }

  reset(): void {
    this.upcoming = RECONNECT_FIRST_DELAY_MS
  }
}

/** One open `calls.subscribe`, as the command set it up. */
export interface TailSubscription {
  /** The daemon's process id (from the handshake). */
  readonly pid: number
  /** How many calls were up when the subscription started. */
  readonly activeCalls: number
  /**
   * Shows the events (mounts the live view; NDJSON lines flow from the
   * subscription on). Called once, after the notice that the tail follows
   * again, so that line is never written under a mounted view. Resolves when
   * the subscription ends by itself: `quit` when the operator quit the live
   * view, else why the stream ended.
   */
  start(): Promise<'quit' | CCError>
  /** Ends it (closes the connection, unmounts the view); safe to call after it ended. */
  close(): Promise<void>
}

/** What the tail tells its operator on stderr, once per change of state. */
export type TailNotice =
  /** The stream that was following ended for `reason`; the first attempt follows in `retryInMs`. */
  | {readonly kind: 'cut'; readonly reason: CCError; readonly retryInMs: number; readonly atMs: number}
  /** An attempt failed for `reason`, a different one than before (the daemon is not running, say); retries go on. */
  | {readonly kind: 'unavailable'; readonly reason: CCError; readonly giveUpAfterS: number | undefined; readonly atMs: number}
  /** Subscribed again after `attempts` attempts over `downMs`. */
  | {readonly kind: 'resumed'; readonly pid: number; readonly activeCalls: number; readonly attempts: number; readonly downMs: number; readonly atMs: number}

export interface FollowOptions {
  /** Connects, subscribes and starts delivering events; throws (a CCError) when it cannot. */
  readonly open: () => Promise<TailSubscription>
  /** --reconnect: retry instead of failing. */
  readonly reconnect: boolean
  /** --give-up-after: with reconnect, fail once the stream has been gone this long. */
  readonly giveUpAfterS?: number | undefined
  /** Aborted by SIGINT/SIGTERM (or a reader that went away): the tail ends normally. */
  readonly signal: AbortSignal
  readonly notice: (notice: TailNotice) => void
  /** The clock and the wait between attempts (tests shorten them). */
  readonly now?: () => number
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>
}

const STOPPED = Symbol('stopped')

/** `promise`, or STOPPED as soon as `signal` aborts, whichever comes first; leaves nothing attached to the signal. */
const unlessStopped = <T>(promise: Promise<T>, signal: AbortSignal): Promise<T | typeof STOPPED> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) {
      resolve(STOPPED)
      return
    }
    const onAbort = () => resolve(STOPPED)
    signal.addEventListener('abort', onAbort, {once: true})
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })

const abortableWait = async (ms: number, signal: AbortSignal): Promise<void> => {
  await delay(ms, undefined, {signal}).catch(() => {
    // Aborted: the caller sees the signal and stops.
  })
}

interface Outage {
  /** When the stream was cut (or the first attempt at start failed). */
  readonly since: number
  attempts: number
  /** The reason last reported, so the same failure is not reported again on every attempt. */
  reported: ErrorCode | undefined
}

/**
 * Follows until the operator stops it (resolves) or the stream ends for good
 * (throws the reason: without reconnect, for a reason not retried, or after
 * giveUpAfterS without a subscription: CC_ERR_TAIL_GAVE_UP).
 */
export const followCalls = async (options: FollowOptions): Promise<void> => {
  const {open, reconnect, giveUpAfterS, signal, notice, now = Date.now, wait = abortableWait} = options
  const backoff = new Backoff()
  let outage: Outage | undefined
  let lastFailure: CCError | undefined
  for (;;) {
    if (outage) outage.attempts++
    const opening = open()
    let opened: TailSubscription | CCError | typeof STOPPED
    try {
      opened = await unlessStopped(opening, signal)
    } catch (error) {
      opened = toCCError(error)
    }
    if (opened === STOPPED) {
      // A subscription that completes after the stop is closed at once.
      opening.then((late) => late.close()).catch(() => undefined)
      return
    }
    if (opened instanceof CCError) {
      if (!reconnect || !RETRIED_CODES.has(opened.code)) throw opened
      lastFailure = opened
      outage ??= {since: now(), attempts: 1, reported: undefined}
      if (opened.code !== outage.reported) {
        outage.reported = opened.code
        notice({kind: 'unavailable', reason: opened, giveUpAfterS, atMs: now()})
      }
      const elapsed = now() - outage.since
      let pause = backoff.next()
      if (giveUpAfterS !== undefined) {
        const left = giveUpAfterS * 1000 - elapsed
        if (left <= 0) {
          throw new CCError('CC_ERR_TAIL_GAVE_UP', {seconds: giveUpAfterS, attempts: outage.attempts, code: lastFailure.code, reason: lastFailure.message})
        }
        pause = Math.min(pause, left)
      }
      await wait(pause, signal)
      if (signal.aborted) return
      continue
    }

    const subscription = opened
    backoff.reset()
    if (outage) {
      notice({kind: 'resumed', pid: subscription.pid, activeCalls: subscription.activeCalls, attempts: outage.attempts, downMs: now() - outage.since, atMs: now()})
      outage = undefined
    }
    const ending = await unlessStopped(subscription.start(), signal)
    await subscription.close()
    if (ending === STOPPED || ending === 'quit') return
    if (!reconnect || !RETRIED_CODES.has(ending.code)) throw ending
    const pause = backoff.next()
    notice({kind: 'cut', reason: ending, retryInMs: pause, atMs: now()})
    lastFailure = ending
    outage = {since: now(), attempts: 0, reported: undefined}
    await wait(pause, signal)
    if (signal.aborted) return
  }
}
