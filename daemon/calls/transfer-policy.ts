// A tenant's transfer policy (tenants[].transfer, docs/sip-transfer.md):
// whether a caller's REFER is carried out, which destinations a transfer
// (a REFER we receive, or one an AI agent asks for) may go to, and how the
// new call is routed. Patterns are globs: `*` is any run of characters.
import type {TransferPolicy} from '../../src/config/schema.js'
import {formatUri, parseUri, type Uri} from '../../src/sip/uri.js'

export interface TransferTarget {
  /** The URI as given (sip:, sips: or tel:). */
  readonly uri: string
  /** `scheme:user@host[:port]`, or `tel:number`: what URI patterns match (no parameters, no headers). */
  readonly bare: string
  /** The tel: number without visual separators, or the user part of a SIP URI ('' when it has none). */
  readonly number: string
  readonly kind: 'sip' | 'tel'
}

export type TransferRoute = {readonly kind: 'trunk'; readonly trunk: string; readonly number: string} | {readonly kind: 'direct'; readonly uri: string}

export type TransferDecision = {readonly ok: true; readonly route: TransferRoute} | {readonly ok: false; readonly status: number; readonly reason: string}

/** A target from a URI; undefined when it is not a sip:, sips: or tel: URI. */
export const transferTarget = (text: string): TransferTarget | undefined => {
  let uri: Uri
  try {
    uri = parseUri(text)
  } catch {
    return undefined
  }
  if (uri.kind === 'tel') {
    const number = uri.number.replace(/[-.()]/g, '')
    return {uri: formatUri(uri), bare: `tel:${number}`, number, kind: 'tel'}
  }
  if (uri.kind !== 'sip') return undefined
  const host = uri.host.includes(':') ? `[${uri.host}]` : uri.host
  const bare = `${uri.scheme}:${uri.user === undefined ? '' : `${uri.user}@`}${host.toLowerCase()}${uri.port === undefined ? '' : `:${uri.port}`}`
  return {uri: formatUri(uri), bare, number: uri.user ?? '', kind: 'sip'}
}

const globCache = new Map<string, RegExp>()
const glob = (pattern: string): RegExp => {
  let regex = globCache.get(pattern)
  if (regex === undefined) {
    regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i')
    if (globCache.size < 10_000) globCache.set(pattern, regex)
  }
  return regex
}

/** Whether a pattern list admits a target: number patterns match its number, URI patterns its bare URI. */
export const destinationAllowed = (patterns: readonly string[], target: TransferTarget): boolean =>
  patterns.some((pattern) => (/^(?:sips?|tel):/i.test(pattern) ? glob(pattern).test(target.bare) : target.number !== '' && glob(pattern).test(target.number)))

/**
 * Decides a transfer to `target`. `refer`: a peer's REFER, which the policy
 * must accept (`accept_refer`); `agent`: an AI agent's request. Both go only
 * to `destinations`. With `trunk` the target's number is called through it;
 * without, sip:/sips: targets are called at their host and tel: targets
 * have no route. Refusals carry the status and reason the REFER is answered with.
 */
export const decideTransfer = (policy: TransferPolicy | undefined, target: TransferTarget, origin: 'refer' | 'agent'): TransferDecision => {
  if (origin === 'refer' && policy?.accept_refer !== true) return {ok: false, status: 603, reason: 'Transfers Not Accepted'}
  if (policy === undefined || !destinationAllowed(policy.destinations, target)) return {ok: false, status: 403, reason: 'Transfer Target Not Allowed'}
  if (policy.trunk !== undefined) {
    if (target.number === '') return {ok: false, status: 403, reason: 'No Route For Transfer Target'}
    return {ok: true, route: {kind: 'trunk', trunk: policy.trunk, number: target.number}}
  }
  if (target.kind === 'tel') return {ok: false, status: 403, reason: 'No Route For Transfer Target'}
  return {ok: true, route: {kind: 'direct', uri: target.uri}}
}
