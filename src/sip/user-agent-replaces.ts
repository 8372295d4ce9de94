// The UAS side of Replaces (RFC 3891 §3): which of our dialogs an INVITE's
// Replaces header names, or the response that refuses it. Only a confirmed
// dialog of ours can be replaced: an early one (we are still answering it, or
// our own INVITE is unanswered) gets 481, as does a dialog we do not hold.
import {dialogKey} from './dialog.js'
import type {SipRequest} from './message.js'
import {parseReplaces, type ReplacesValue} from './refer.js'
import type {DialogUser} from './user-agent-core.js'
import {SipCall} from './user-agent-call.js'

export type ReplacesCheck =
  | {readonly kind: 'none'}
  | {readonly kind: 'replaces'; readonly call: SipCall; readonly value: ReplacesValue}
  | {readonly kind: 'refuse'; readonly status: number; readonly reason: string}

/** Checks an out-of-dialog INVITE's Replaces against the dialogs `lookup` finds by key. */
export const checkReplaces = (request: SipRequest, lookup: (key: string) => DialogUser | undefined): ReplacesCheck => {
  const headers = request.headers.getAll('replaces')
  if (headers.length === 0) return {kind: 'none'}
  if (headers.length > 1) return {kind: 'refuse', status: 400, reason: 'Multiple Replaces'}
  let value: ReplacesValue
  try {
    value = parseReplaces(headers[0] ?? '')
  } catch {
    return {kind: 'refuse', status: 400, reason: 'Malformed Replaces'}
  }
  // §3: to-tag is compared with our (local) tag, from-tag with the peer's.
  const user = lookup(dialogKey(value.callId, value.toTag, value.fromTag))
  if (!(user instanceof SipCall) || user.state !== 'established') return {kind: 'refuse', status: 481, reason: 'Call/Transaction Does Not Exist'}
  // §3: early-only names a dialog that must still be early; ours is confirmed.
  if (value.earlyOnly) return {kind: 'refuse', status: 486, reason: 'Busy Here'}
  return {kind: 'replaces', call: user, value}
}
