// Reliable provisional responses (RFC 3262), the pure part: the RSeq and
// RAck grammars (§7.1, §7.2), the first RSeq of a UAS (§3), and whether an
// INVITE asks for reliability. The runtime (retransmission until PRACK,
// PRACK as UAC) is in user-agent-reliable.ts.
import {randomInt} from 'node:crypto'
import {syntaxError} from './errors.js'
import {Cursor, isToken, parseBoundedInteger} from './grammar.js'
import type {SipHeaders} from './headers.js'
import {listsOptionTag} from './session-timer.js'

/** RSeq and the response-num of RAck are 1 to 2^32 - 1 (§7.1). */
const MAX_RSEQ = 2 ** 32 - 1

/** When the UAS sends reliable provisionals: never, when the INVITE requires it, or also when the INVITE only supports it. */
export type ReliableProvisionalMode = 'off' | 'supported' | 'preferred'

export interface RAck {
  readonly rseq: number
  readonly cseq: number
  readonly method: string
}

const readNumber = (cursor: Cursor, what: string, min: number): number => {
  cursor.skipWs()
  const value = parseBoundedInteger(cursor.readWhile(/\d/), MAX_RSEQ)
  if (value === undefined || value < min) throw syntaxError(`malformed ${what}`)
  return value
}

/** `RSeq: 988789` (§7.1). */
export const parseRSeq = (value: string): number => {
  const cursor = new Cursor(value)
  const rseq = readNumber(cursor, 'RSeq', 1)
  cursor.expectEnd('RSeq')
  return rseq
}

/** `RAck: 776656 1 INVITE` (§7.2): the RSeq, then the CSeq number and method of the request the provisional answered. */
export const parseRAck = (value: string): RAck => {
  const cursor = new Cursor(value)
  const rseq = readNumber(cursor, 'RAck response-num', 1)
  if (!cursor.skipWs()) throw syntaxError('malformed RAck')
  const cseq = readNumber(cursor, 'RAck CSeq-num', 0)
  if (!cursor.skipWs()) throw syntaxError('malformed RAck')
  const method = cursor.readToken('RAck method')
  cursor.expectEnd('RAck')
  if (!isToken(method)) throw syntaxError('malformed RAck method')
  return {rseq, cseq, method}
}

export const formatRAck = (rack: RAck): string => `${rack.rseq} ${rack.cseq} ${rack.method}`

/** §3: the first RSeq is chosen at random, below 2^31 so that it never wraps within one INVITE. */
export const firstRSeq = (): number => randomInt(1, 2 ** 31)

/**
 * Whether our provisionals to this INVITE go reliably (§3, §4): always when
 * it requires 100rel (unless we support none), and when it only supports
 * 100rel in `preferred` mode.
 */
export const wantsReliable = (headers: SipHeaders, mode: ReliableProvisionalMode): boolean => {
  if (mode === 'off') return false
  if (listsOptionTag(headers, 'require', '100rel')) return true
  return mode === 'preferred' && listsOptionTag(headers, 'supported', '100rel')
}

/** The RSeq of a provisional response that asks to be PRACKed (Require: 100rel and one RSeq), undefined for an ordinary one. Throws SipParseError on a malformed RSeq. */
export const reliableRSeqOf = (headers: SipHeaders): number | undefined => {
  if (!listsOptionTag(headers, 'require', '100rel')) return undefined
  const values = headers.getAll('rseq')
  if (values.length !== 1) throw syntaxError(values.length === 0 ? 'a reliable provisional without RSeq' : 'more than one RSeq')
  return parseRSeq(values[0] as string)
}
