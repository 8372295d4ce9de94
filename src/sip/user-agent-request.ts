// Sending one request in a client transaction and waiting for its outcome,
// with one Digest retry (RFC 3261 §22.2). Used for in-dialog requests
// (BYE, re-INVITE) and CANCEL.
import type {DigestClient} from './digest.js'
import {cseqOf, type SipRequest, type SipResponse} from './message.js'
import type {ClientTransaction, ClientTransactionFailure} from './transaction/types.js'
import type {SipTarget} from './transport/types.js'
import {authorizedRetry, isAuthChallenge} from './user-agent-auth.js'
import type {UserAgentCore} from './user-agent-core.js'

export type RequestOutcome =
  | {readonly kind: 'response'; readonly response: SipResponse; readonly request: SipRequest}
  | {readonly kind: 'failure'; readonly failure: ClientTransactionFailure; readonly request: SipRequest}

export interface RequestOptions {
  readonly digest?: DigestClient | undefined
  /** The next CSeq for an authenticated retry (in-dialog: the dialog's next number). */
  readonly nextSeq?: () => number
  /** Each provisional response. */
  readonly provisional?: (response: SipResponse) => void
  /** INVITE only: a 2xx arriving after the first one (retransmission or fork, RFC 6026). */
  readonly later2xx?: (response: SipResponse) => void
  /** The transaction, once created (for CANCEL). */
  readonly started?: (transaction: ClientTransaction, request: SipRequest) => void
}

/** The status a local failure stands for: 408 for a timeout, 503 when the request could not be sent (§8.1.3.1). */
export const failureStatus = (failure: ClientTransactionFailure): number => (failure.kind === 'timeout' ? 408 : 503)

export const sendRequest = (core: UserAgentCore, request: SipRequest, target: SipTarget, options: RequestOptions = {}): Promise<RequestOutcome> =>
  new Promise((resolve) => {
    let retried = false
    let settled = false
    const send = (current: SipRequest): void => {
      const transaction = core.transactions.sendRequest(current, target, {
        response: (response) => {
          if (response.status < 200) return options.provisional?.(response)
          if (settled) {
            if (response.status < 300) options.later2xx?.(response)
            return
          }
          if (isAuthChallenge(response.status) && !retried && options.digest !== undefined) {
            const seq = options.nextSeq?.() ?? cseqOf(current).seq + 1
            const retry = authorizedRetry(current, response, options.digest, seq)
            if (retry !== undefined) {
              retried = true
              send(retry)
              return
            }
          }
          settled = true
          resolve({kind: 'response', response, request: current})
        },
        failure: (failure) => {
          if (settled) return
          settled = true
          resolve({kind: 'failure', failure, request: current})
        },
      })
      options.started?.(transaction, current)
    }
    send(request)
  })
