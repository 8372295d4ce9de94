// Errors of the SIP codec. The parser throws only SipParseError so a transport
// can catch one type, answer when it can and drop the datagram otherwise.
import type {SipMessage} from './message.js'

export class SipParseError extends Error {
  /** Short, log-friendly reason, e.g. `missing Call-ID`. */
  readonly reason: string
  /**
   * The status to answer with when the message was a request (400, 413, 416,
   * 505, 513); undefined when nothing should be sent back (a broken response,
   * or bytes that are not a SIP request at all).
   */
  readonly status: number | undefined
  /** What was parsed before the failure: the start line and the header lines that were well formed. */
  readonly partial: SipMessage | undefined

  constructor(reason: string, status?: number, partial?: SipMessage) {
    super(reason)
    this.name = 'SipParseError'
    this.reason = reason
    this.status = status
    this.partial = partial
  }

  /** The same failure, now knowing whether a response is possible and what was parsed. */
  withContext(status: number | undefined, partial: SipMessage | undefined): SipParseError {
    return new SipParseError(this.reason, status, partial)
  }
}

/** A structured header value did not match its grammar; requests carrying it get 400. */
export const syntaxError = (reason: string): SipParseError => new SipParseError(reason, 400)
