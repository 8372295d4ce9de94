// Session timers (RFC 4028), the pure part: the Session-Expires and Min-SE
// header grammars (§4, §5), what a UAS decides for an INVITE, re-INVITE or
// UPDATE it receives (§9: 422, an interval, a refresher), what a UAC learns
// from a 2xx or a 422 (§7), and when each side acts (§10). The timers that
// run on these decisions are in user-agent-session-timer.ts.
import {syntaxError} from './errors.js'
import {Cursor, parseBoundedInteger} from './grammar.js'
import type {SipHeaders} from './headers.js'
import {readHeaderParams} from './params.js'

/** delta-seconds is a 32-bit unsigned integer (RFC 3261 §25.1); anything larger is malformed, not clamped. */
export const MAX_DELTA_SECONDS = 2 ** 32 - 1
/** RFC 4028 §4: the Min-SE every party accepts without saying so, and the floor of any configured Min-SE on the wire. */
export const RFC_MIN_SE = 90

export type Refresher = 'uac' | 'uas'

export interface SessionExpires {
  /** Seconds. */
  readonly interval: number
  /** Absent when the request leaves the choice to the UAS. */
  readonly refresher?: Refresher | undefined
}

/** Our side of the negotiation: the interval we ask for (and the longest we grant) and the shortest we accept. */
export interface SessionTimerSettings {
  readonly expiresS: number
  readonly minSeS: number
}

const readDeltaSeconds = (cursor: Cursor, what: string): number => {
  cursor.skipWs()
  const digits = cursor.readWhile(/\d/)
  const value = parseBoundedInteger(digits, MAX_DELTA_SECONDS)
  if (value === undefined) throw syntaxError(`${what} must be delta-seconds (0 to ${MAX_DELTA_SECONDS})`)
  return value
}

/** `Session-Expires: 1800;refresher=uac` (§4). Unknown parameters are allowed; a refresher other than uac or uas is malformed. */
export const parseSessionExpires = (value: string): SessionExpires => {
  const cursor = new Cursor(value)
  const interval = readDeltaSeconds(cursor, 'Session-Expires')
  const params = readHeaderParams(cursor, 'Session-Expires')
  cursor.expectEnd('Session-Expires')
  const refresher = params.get('refresher')
  if (refresher === undefined) return {interval}
  const lower = refresher?.toLowerCase()
  if (lower !== 'uac' && lower !== 'uas') throw syntaxError('Session-Expires refresher must be uac or uas')
  return {interval, refresher: lower}
}

export const formatSessionExpires = (expires: SessionExpires): string => `${expires.interval}${expires.refresher === undefined ? '' : `;refresher=${expires.refresher}`}`

/** `Min-SE: 90` (§5); generic parameters are allowed and ignored. */
export const parseMinSe = (value: string): number => {
  const cursor = new Cursor(value)
  const seconds = readDeltaSeconds(cursor, 'Min-SE')
  readHeaderParams(cursor, 'Min-SE')
  cursor.expectEnd('Min-SE')
  return seconds
}

/** Whether a Supported or Require list of a message names an option tag. */
export const listsOptionTag = (headers: SipHeaders, header: 'supported' | 'require', tag: string): boolean =>
  headers.values(header).some((value) => value.toLowerCase() === tag)

/** The one Session-Expires and Min-SE of a message; repeating either is malformed (neither is a list header). Throws SipParseError. */
export const sessionHeadersOf = (headers: SipHeaders): {sessionExpires: SessionExpires | undefined; minSe: number | undefined} => {
  const expires = headers.getAll('session-expires')
  const minSe = headers.getAll('min-se')
  if (expires.length > 1) throw syntaxError('more than one Session-Expires')
  if (minSe.length > 1) throw syntaxError('more than one Min-SE')
  return {
    sessionExpires: expires[0] === undefined ? undefined : parseSessionExpires(expires[0]),
    minSe: minSe[0] === undefined ? undefined : parseMinSe(minSe[0]),
  }
}

export type UasDecision =
  /** 400: a Session-Expires or Min-SE that does not parse. */
  | {readonly kind: 'malformed'; readonly reason: string}
  /** 422 with this Min-SE (§6): the interval asked for is below what we accept. */
  | {readonly kind: 'too-small'; readonly minSe: number}
  /** The session runs with this interval; `refresher` as the 2xx says it (uac: the sender of the request refreshes). */
  | {readonly kind: 'timer'; readonly interval: number; readonly refresher: Refresher}

/**
 * §9: what a UAS answers to an INVITE, re-INVITE or UPDATE. A request
 * below our minimum gets 422. Otherwise the interval is the request's,
 * lowered to `expiresS` when longer, but never below the request's own
 * Min-SE; the refresher is the request's choice, else the UAC when it
 * supports timers, else us. A request without Session-Expires gets one in
 * the 2xx all the same (§9 allows it): `expiresS`, with us refreshing, so a
 * call whose peer knows nothing of timers is still checked for life.
 */
export const decideAsUas = (headers: SipHeaders, settings: SessionTimerSettings): UasDecision => {
  let parsed: ReturnType<typeof sessionHeadersOf>
  try {
    parsed = sessionHeadersOf(headers)
  } catch (error) {
    return {kind: 'malformed', reason: error instanceof Error ? error.message : String(error)}
  }
  const {sessionExpires, minSe} = parsed
  const floor = Math.max(settings.minSeS, minSe ?? 0)
  const uacSupports = listsOptionTag(headers, 'supported', 'timer') || listsOptionTag(headers, 'require', 'timer')
  if (sessionExpires === undefined) return {kind: 'timer', interval: Math.max(settings.expiresS, floor), refresher: 'uas'}
  if (sessionExpires.interval < settings.minSeS) return {kind: 'too-small', minSe: floor}
  const interval = Math.min(sessionExpires.interval, Math.max(settings.expiresS, floor))
  const refresher: Refresher = sessionExpires.refresher === 'uas' || !uacSupports ? 'uas' : 'uac'
  return {kind: 'timer', interval, refresher}
}

/** The headers of our 2xx for a UAS decision (§9): Session-Expires, and Require: timer when the UAC refreshes. */
export const uasResponseHeaders = (decision: Extract<UasDecision, {kind: 'timer'}>): Array<[string, string]> => [
  ['Session-Expires', formatSessionExpires({interval: decision.interval, refresher: decision.refresher})],
  ...(decision.refresher === 'uac' ? [['Require', 'timer'] as [string, string]] : []),
]

/** The headers of a request we send (INVITE, re-INVITE, UPDATE): Session-Expires, optionally with the refresher, and Min-SE (§7.1, §7.4). */
export const uacRequestHeaders = (interval: number, minSe: number, refresher?: Refresher): Array<[string, string]> => [
  ['Session-Expires', formatSessionExpires({interval, refresher})],
  ['Min-SE', String(minSe)],
]

export type UacOutcome =
  /** The 2xx carries no Session-Expires: there is no session expiration (§7.2). */
  | {readonly kind: 'none'}
  | {readonly kind: 'timer'; readonly interval: number; readonly refresher: Refresher}

/**
 * §7.2: what a 2xx to our INVITE, re-INVITE or UPDATE says. A refresher the
 * UAS failed to name is taken as `uac`: we refresh, which keeps the call
 * alive whichever side was meant. Throws SipParseError on a malformed header.
 */
export const outcomeOf2xx = (headers: SipHeaders): UacOutcome => {
  const {sessionExpires} = sessionHeadersOf(headers)
  if (sessionExpires === undefined) return {kind: 'none'}
  return {kind: 'timer', interval: sessionExpires.interval, refresher: sessionExpires.refresher ?? 'uac'}
}

/**
 * §7.3: the Min-SE of a 422, which the retry must meet; undefined when it
 * has none we can use or asks for no more than we did (a retry would fail
 * the same way).
 */
export const minSeOf422 = (headers: SipHeaders, asked: number): number | undefined => {
  try {
    const {minSe} = sessionHeadersOf(headers)
    return minSe !== undefined && minSe > asked ? minSe : undefined
  } catch {
    return undefined
  }
}

/** §10: the refresher refreshes at half the interval. Milliseconds after the last refresh. */
export const refreshDelayMs = (interval: number): number => (interval * 1000) / 2

/**
 * §10: the party that does not refresh sends BYE shortly before the session
 * expires, by the smaller of 32 s and a third of the interval. Milliseconds
 * after the last refresh.
 */
export const expiryDelayMs = (interval: number): number => (interval - Math.min(32, interval / 3)) * 1000
