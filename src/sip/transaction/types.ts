// What the transaction layer and its transaction user (the UA core) tell
// each other (RFC 3261 §17).
import type {SipRequest, SipResponse} from '../message.js'
import type {InboundContext, SentInfo, SipTarget, SipTransportLike} from '../transport/types.js'
import type {SipTimerConfig} from './timers.js'

export type ClientTransactionFailure =
  /** Timer B or F fired: no final response (§17.1.1.2, §17.1.2.2). */
  | {readonly kind: 'timeout'}
  /** The request could not be sent (§17.1.1.2: treated like a 503). */
  | {readonly kind: 'transport-error'; readonly error: Error}

export interface ClientTransactionHandler {
  /** Every response for the TU: provisional, final, and (INVITE) each 2xx while Accepted (RFC 6026). */
  response(response: SipResponse): void
  /** The transaction ended without a final response; called at most once. */
  failure(failure: ClientTransactionFailure): void
}

export interface ServerTransactionObserver {
  /** The response could not be sent; the transaction is terminated. */
  transportError?(error: Error): void
  /** INVITE only: Timer H fired, no ACK came for our non-2xx final response. */
  ackTimeout?(): void
}

/** The TU side of the layer: what arrives that no existing transaction absorbs. */
export interface TransactionUser {
  /** A new request: a server transaction was created for it (never for ACK). */
  request(request: SipRequest, transaction: ServerTransaction): void
  /** An ACK matching no INVITE server transaction in Completed: the ACK for a 2xx (§17.2.3, §13.3.1.4). */
  ack(request: SipRequest, context: InboundContext): void
  /** A 2xx to an INVITE whose client transaction is gone: the TU must still ACK it (§13.2.2.4). */
  strayInvite2xx(response: SipResponse, context: InboundContext): void
}

export interface ServerTransaction {
  readonly request: SipRequest
  readonly context: InboundContext
  readonly isInvite: boolean
  readonly state: string
  /** The last response passed to `respond`, if any. */
  readonly lastResponse: SipResponse | undefined
  /** Whether a final response was already sent. */
  readonly finished: boolean
  respond(response: SipResponse): void
  observe(observer: ServerTransactionObserver): void
}

export interface ClientTransaction {
  readonly request: SipRequest
  readonly state: string
  /** Where the request went; for TCP it names the connection used. */
  readonly sent: SentInfo | undefined
  readonly target: SipTarget
  /** Ends the transaction now, e.g. an INVITE left in Proceeding after a CANCEL got no final response (§9.1). */
  terminate(): void
}

/** What a transaction needs from its layer. */
export interface TransactionEnvironment {
  readonly transport: SipTransportLike
  readonly timers: SipTimerConfig
  /** The Server header of the responses a transaction makes itself (the automatic 100 Trying); '' for none. */
  readonly server: string
  /** Called once when the transaction reaches Terminated. */
  terminated(key: string, kind: 'client' | 'server'): void
  /** ACK for a 2xx that arrived at an INVITE server transaction in Accepted (RFC 6026 §8.7). */
  passAck(request: SipRequest, context: InboundContext): void
  /** A 2xx after the first at an INVITE client transaction in Accepted: the TU's stray-2xx path (ACK again, or ACK and BYE a fork). */
  passLater2xx(response: SipResponse, context: InboundContext): void
}

/**
 * What a transaction holds in place of its TU's handler once the TU has had
 * all it will get. A transaction lingers for up to 64·T1 (32 s) to absorb
 * retransmissions, and a TU's handler is a closure over the whole call
 * (dialog, media, loggers): holding it that long kept every call of the last
 * 32 s on the heap, about 45 KB each.
 */
export const RELEASED_HANDLER: ClientTransactionHandler = {response: () => {}, failure: () => {}}
