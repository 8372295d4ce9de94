// Values of call transfer: Refer-To (RFC 3515 §2.1) with an embedded
// Replaces (RFC 3891 §6.1), the Event and Subscription-State of REFER's
// implicit subscription (RFC 6665 §8.2), and message/sipfrag bodies
// (RFC 3420) that carry the new call's progress in NOTIFYs.
import {SipParseError, syntaxError} from './errors.js'
import {Cursor, isToken} from './grammar.js'
import {parseNameAddr} from './name-addr.js'
import {readHeaderParams} from './params.js'
import {formatUri, parseUri, type SipUri, type TelUri} from './uri.js'

/** The Content-Type of our NOTIFY bodies (RFC 3515 §2.4.5). */
export const SIPFRAG_CONTENT_TYPE = 'message/sipfrag;version=2.0'

/** Schemes a transfer target may have: anything else (http:, mailto:, urn:…) is refused with 416. */
export const REFER_TARGET_SCHEMES: readonly string[] = ['sip', 'sips', 'tel']

/** A refusal of a REFER's Refer-To: the status and reason phrase it is answered with. */
export class ReferError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(reason)
    this.name = 'ReferError'
  }
}

/** The dialog a Replaces header names (RFC 3891 §6.1): its Call-ID and both tags, as its sender sees them. */
export interface ReplacesValue {
  readonly callId: string
  readonly toTag: string
  readonly fromTag: string
  readonly earlyOnly: boolean
}

export interface ReferTarget {
  /** The target without embedded headers: where the new call goes. */
  readonly uri: SipUri | TelUri
  /** `uri` as text. */
  readonly text: string
  /** An attended transfer: the dialog at the target the new call replaces. */
  readonly replaces?: ReplacesValue | undefined
}

/** Parses a Replaces value: `call-id;to-tag=…;from-tag=…[;early-only]`. Throws SipParseError. */
export const parseReplaces = (value: string): ReplacesValue => {
  const cursor = new Cursor(value.trim())
  const callId = cursor.readWhile(/[^;\s]/)
  if (callId === '') throw syntaxError('Replaces has no Call-ID')
  const params = readHeaderParams(cursor, 'Replaces')
  cursor.expectEnd('Replaces')
  const toTag = params.get('to-tag')
  const fromTag = params.get('from-tag')
  if (typeof toTag !== 'string' || typeof fromTag !== 'string' || !isToken(toTag) || !isToken(fromTag)) throw syntaxError('Replaces needs to-tag and from-tag')
  return {callId, toTag, fromTag, earlyOnly: params.has('early-only')}
}

export const formatReplaces = (replaces: ReplacesValue): string =>
  `${replaces.callId};to-tag=${replaces.toTag};from-tag=${replaces.fromTag}${replaces.earlyOnly ? ';early-only' : ''}`

/**
 * Reads the Refer-To values of a REFER: exactly one (§2.4.1, 400 otherwise),
 * a name-addr or addr-spec that parses (400), a sip:, sips: or tel: URI (416),
 * no `method` other than INVITE (400: we only place calls). Of the headers a
 * SIP URI may embed only Replaces is taken; the others (Route, Call-ID, …)
 * are dropped, never copied into our INVITE.
 */
export const parseReferTo = (values: readonly string[]): ReferTarget => {
  if (values.length === 0) throw new ReferError(400, 'Missing Refer-To')
  if (values.length > 1) throw new ReferError(400, 'Multiple Refer-To')
  let uri
  try {
    uri = parseNameAddr(values[0] ?? '', 'Refer-To').uri
  } catch (error) {
    if (error instanceof SipParseError && error.status === 416) throw new ReferError(416, 'Unsupported Refer-To Scheme')
    throw new ReferError(400, 'Malformed Refer-To')
  }
  if (!REFER_TARGET_SCHEMES.includes(uri.scheme)) throw new ReferError(416, 'Unsupported Refer-To Scheme')
  if (uri.kind === 'tel') return {uri, text: formatUri(uri)}
  if (uri.kind !== 'sip') throw new ReferError(416, 'Unsupported Refer-To Scheme')
  const method = uri.params.get('method')
  if (method !== undefined && (method ?? '').toUpperCase() !== 'INVITE') throw new ReferError(400, 'Refer-To Method Not INVITE')
  const embedded = uri.headers.filter((header) => header.name.toLowerCase() === 'replaces')
  if (embedded.length > 1) throw new ReferError(400, 'Multiple Replaces')
  let replaces: ReplacesValue | undefined
  if (embedded[0] !== undefined) {
    try {
      replaces = parseReplaces(embedded[0].value)
    } catch {
      throw new ReferError(400, 'Malformed Replaces')
    }
  }
  const target: SipUri = {...uri, params: uri.params.clone(), headers: []}
  target.params.delete('method')
  return {uri: target, text: formatUri(target), replaces}
}

/** A Refer-To value for `target` (a sip:, sips: or tel: URI), with `replaces` embedded as a URI header (RFC 3891 §6.1, escaped). */
export const formatReferTo = (target: string, replaces?: ReplacesValue): string => {
  const uri = parseUri(target)
  if (!REFER_TARGET_SCHEMES.includes(uri.scheme) || uri.kind === 'absolute') throw new ReferError(416, 'Unsupported Refer-To Scheme')
  if (replaces === undefined || uri.kind !== 'sip') return `<${formatUri(uri)}>`
  return `<${formatUri({...uri, headers: [...uri.headers, {name: 'Replaces', value: formatReplaces(replaces)}]})}>`
}

export interface EventValue {
  /** The event package, lower-case (`refer`). */
  readonly package: string
  readonly id: string | undefined
}

/** Parses an Event header (RFC 6665 §8.2.1): `refer;id=93809824`. Throws SipParseError. */
export const parseEvent = (value: string): EventValue => {
  const cursor = new Cursor(value)
  cursor.skipWs()
  const name = cursor.readToken('Event package')
  const params = readHeaderParams(cursor, 'Event')
  cursor.skipWs()
  cursor.expectEnd('Event')
  const id = params.get('id')
  return {package: name.toLowerCase(), id: typeof id === 'string' ? id : undefined}
}

export interface SubscriptionStateValue {
  /** `active`, `pending`, `terminated` (or an extension value), lower-case. */
  readonly state: string
  readonly reason: string | undefined
  readonly expires: number | undefined
}

/** Parses Subscription-State (RFC 6665 §8.2.3): `active;expires=60`, `terminated;reason=noresource`. Throws SipParseError. */
export const parseSubscriptionState = (value: string): SubscriptionStateValue => {
  const cursor = new Cursor(value)
  cursor.skipWs()
  const state = cursor.readToken('Subscription-State').toLowerCase()
  const params = readHeaderParams(cursor, 'Subscription-State')
  cursor.skipWs()
  cursor.expectEnd('Subscription-State')
  const reason = params.get('reason')
  const expires = params.get('expires')
  const seconds = typeof expires === 'string' && /^\d{1,10}$/.test(expires) ? Number(expires) : undefined
  return {state, reason: typeof reason === 'string' ? reason.toLowerCase() : undefined, expires: seconds}
}

/** A sipfrag body carrying one status line (RFC 3515 §2.4.5): `SIP/2.0 200 OK`. */
export const formatSipfrag = (status: number, reason: string): Buffer => Buffer.from(`SIP/2.0 ${status} ${reason.replace(/[\r\n]/g, ' ')}\r\n`)

/** The status line of a sipfrag body; undefined when its first line is not one (a sipfrag may carry headers after it, which are ignored). */
export const parseSipfrag = (body: Buffer): {status: number; reason: string} | undefined => {
  const firstLine = body.subarray(0, 256).toString('latin1').split(/\r?\n/)[0] ?? ''
  const match = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(firstLine.trimEnd())
  if (match === null) return undefined
  return {status: Number(match[1]), reason: (match[2] ?? '').trim()}
}
