// SIP status ↔ ITU-T Q.850 cause (RFC 3398 §7.2.4.1, §8.2.6.1), the Reason
// header's Q.850 cause (RFC 3326, RFC 6432: it wins over the status mapping),
// and the final call status of DESIGN §5 used by CDRs and metrics.
import {parseReason} from './header-values.js'
import {SipParseError} from './errors.js'

export type CallStatus = 'completed' | 'busy' | 'no-answer' | 'canceled' | 'failed'
export const CALL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'no-answer', 'canceled', 'failed']

/** No route to destination: a B-leg whose host has no DNS records to reach it by. */
export const Q850_NO_ROUTE_TO_DESTINATION = 3
export const Q850_NORMAL_CLEARING = 16
export const Q850_USER_BUSY = 17
export const Q850_NO_USER_RESPONDING = 18
export const Q850_NO_ANSWER = 19
export const Q850_TEMPORARY_FAILURE = 41
/** No media stream (RTP port, shard) for the call. */
export const Q850_RESOURCE_UNAVAILABLE = 47
/** The answer offered no codec the gateway can use. */
export const Q850_BEARER_CAPABILITY_NOT_IMPLEMENTED = 65

const SIP_TO_Q850: Readonly<Record<number, number>> = {
  400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22, 413: 127, 414: 127, 415: 79,
  416: 127, 420: 127, 421: 127, 423: 127, 480: 18, 481: 41, 482: 25, 483: 25, 484: 28, 485: 1, 486: 17, 487: 127, 488: 127,
  500: 41, 501: 79, 502: 38, 503: 41, 504: 102, 505: 127, 513: 127, 600: 17, 603: 21, 604: 1, 606: 58,
}

const Q850_TO_SIP: Readonly<Record<number, number>> = {
  1: 404, 2: 404, 3: 404, 17: 486, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410, 26: 404, 27: 502, 28: 484, 29: 501, 31: 480,
  34: 503, 38: 503, 41: 503, 42: 503, 47: 503, 55: 403, 57: 403, 58: 503, 65: 488, 69: 501, 70: 488, 79: 501, 87: 403, 88: 503,
  102: 504, 111: 500, 127: 500,
}

/**
 * The Q.850 cause for a final SIP status. 2xx is normal clearing (16).
 * Statuses outside the table take their class default: a 5xx is a temporary
 * failure (41) like 500 and 503; an unknown 3xx (a redirect we did not
 * follow), 4xx or 6xx is interworking, unspecified (127).
 */
export const sipStatusToQ850 = (status: number): number => {
  const mapped = SIP_TO_Q850[status]
  if (mapped !== undefined) return mapped
  if (status >= 200 && status < 300) return Q850_NORMAL_CLEARING
  if (status >= 500 && status < 600) return Q850_TEMPORARY_FAILURE
  return 127
}

/**
 * The SIP status for rejecting a call with a Q.850 cause. Normal clearing
 * (16) has none: an answered call ends with BYE; before answer choose the
 * status yourself (480 is customary). Causes outside the table take their
 * class default: 1-31 (normal event) 480, 32-63 (resource or service
 * unavailable) 503, 64-79 (not implemented) 501, anything else 500.
 */
export const q850ToSipStatus = (cause: number): number | undefined => {
  if (cause === Q850_NORMAL_CLEARING) return undefined
  const mapped = Q850_TO_SIP[cause]
  if (mapped !== undefined) return mapped
  if (cause >= 1 && cause <= 31) return 480
  if (cause >= 32 && cause <= 63) return 503
  if (cause >= 64 && cause <= 79) return 501
  return 500
}

/** The first `Q.850;cause=N` (N in 0-127) of one or more Reason header values; malformed values are skipped. */
export const q850FromReason = (reasonHeaders: string | readonly string[] | undefined): {cause: number; text?: string} | undefined => {
  const values = reasonHeaders === undefined ? [] : typeof reasonHeaders === 'string' ? [reasonHeaders] : reasonHeaders
  for (const value of values) {
    let reasons
    try {
      reasons = parseReason(value)
    } catch (error) {
      if (error instanceof SipParseError) continue
      throw error
    }
    for (const reason of reasons) {
      if (reason.protocol.toUpperCase() === 'Q.850' && reason.cause !== undefined && reason.cause <= 127) {
        return reason.text === undefined ? {cause: reason.cause} : {cause: reason.cause, text: reason.text}
      }
    }
  }
  return undefined
}

export interface CallOutcome {
  /** A 2xx was sent or received for the INVITE. */
  answered: boolean
  /** The final status of the INVITE when it was not answered (487 after a CANCEL, 408 on timeout...). */
  finalStatus?: number | undefined
  /** Reason header values of the final response, the CANCEL or the BYE. */
  reason?: string | readonly string[] | undefined
  /** The caller sent, or we sent, CANCEL before answer. */
  canceled?: boolean | undefined
  /** We stopped ringing because nobody answered in time. */
  ringTimeout?: boolean | undefined
  /** A cause known first-hand (a dialplan hangup node, an SDK hangup); wins over everything else. */
  cause?: number | undefined
}

const BUSY_STATUSES = new Set([486, 600])
const NO_ANSWER_STATUSES = new Set([408, 480])

/**
 * The CDR status and Q.850 cause of a finished call. The cause is, in order:
 * the first-hand cause, 19 for a ring timeout, the Reason header's Q.850
 * cause, the mapped final status, else 16 (answered or canceled without a
 * response) or 41. A 487 maps to 127 by the table yet classifies as canceled.
 */
export const classifyCall = (outcome: CallOutcome): {status: CallStatus; q850Cause: number} => {
  const fallback = outcome.answered || outcome.canceled === true ? Q850_NORMAL_CLEARING : Q850_TEMPORARY_FAILURE
  const statusCause = outcome.answered || outcome.finalStatus === undefined ? undefined : sipStatusToQ850(outcome.finalStatus)
  const q850Cause = outcome.cause ?? (outcome.ringTimeout === true ? Q850_NO_ANSWER : undefined) ?? q850FromReason(outcome.reason)?.cause ?? statusCause ?? fallback
  const status = ((): CallStatus => {
    if (outcome.answered) return 'completed'
    if (outcome.ringTimeout === true) return 'no-answer'
    const finalStatus = outcome.finalStatus
    if (outcome.canceled === true || finalStatus === 487) return 'canceled'
    if ((finalStatus !== undefined && BUSY_STATUSES.has(finalStatus)) || q850Cause === Q850_USER_BUSY) return 'busy'
    if ((finalStatus !== undefined && NO_ANSWER_STATUSES.has(finalStatus)) || q850Cause === Q850_NO_USER_RESPONDING || q850Cause === Q850_NO_ANSWER) return 'no-answer'
    return 'failed'
  })()
  return {status, q850Cause}
}
