// Sending one request in a client transaction and waiting for its outcome,
// with one Digest retry (RFC 3261 §22.2). Used for in-dialog requests
// (BYE, re-INVITE) and CANCEL.
import type {DigestClient} from './digest.js'
import {formatCSeq} from './header-values.js'
import {headerKey, SipHeaders} from './headers.js'
import {createRequest, cseqOf, type SipRequest, type SipResponse} from './message.js'
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
  /**
   * A final response the request is sent again for, e.g. a 422 with the
   * Min-SE it asks for (RFC 4028 §7.3): returns the new request (build it
   * with `reissued`), or undefined to take the response as final. At most
   * MAX_REISSUES times per request.
   */
  readonly reissue?: (response: SipResponse, current: SipRequest, seq: number) => SipRequest | undefined
  /**
   * A target that has sent no response at all (not even 100 Trying) `afterMs`
   * after the request left: `giveUp` decides (e.g. whether another target is
   * left to try); true ends the transaction now as a timeout, before Timer B/F;
   * false asks again `afterMs` later.
   */
  readonly noResponse?: {readonly afterMs: number; readonly giveUp: () => Promise<boolean>}
}

/** How often one request is sent again for `reissue` (a peer that keeps asking for more gets its answer taken as final). */
export const MAX_REISSUES = 2

/** `request` again with a new CSeq number, no Via (the transaction layer adds one with a new branch), and `replace` instead of the headers it names. */
export const reissued = (request: SipRequest, seq: number, replace: ReadonlyArray<readonly [string, string]>): SipRequest => {
  const replaced = new Set(replace.map(([name]) => headerKey(name)))
  const headers = new SipHeaders()
  for (const {name, value} of request.headers) {
    const key = headerKey(name)
    if (key === 'via' || replaced.has(key)) continue
    headers.append(name, key === 'cseq' ? formatCSeq({seq, method: request.method}) : value)
  }
  for (const [name, value] of replace) headers.append(name, value)
  return createRequest(request.method, request.uri, headers, request.body)
}

/** The status a local failure stands for: 408 for a timeout, 503 when the request could not be sent (§8.1.3.1). */
export const failureStatus = (failure: ClientTransactionFailure): number => (failure.kind === 'timeout' ? 408 : 503)

export const sendRequest = (core: UserAgentCore, request: SipRequest, target: SipTarget, options: RequestOptions = {}): Promise<RequestOutcome> =>
  new Promise((resolve) => {
    let retried = false
    let reissues = 0
    let settled = false
    let answered = false
    let live: {transaction: ClientTransaction; request: SipRequest} | undefined
    let silence: NodeJS.Timeout | undefined
    const noResponse = options.noResponse
    // Asked again every afterMs while the target stays silent: what stops it (a cancel) may come later.
    const armSilence = (): void => {
      if (noResponse === undefined) return
      silence = setTimeout(() => {
        void noResponse.giveUp().then((giveUp) => {
          // A transaction ended from outside (the UA closing) reports nothing more: stop asking.
          if (answered || settled || live === undefined || live.transaction.state === 'terminated') return
          if (!giveUp) return armSilence()
          settled = true
          live.transaction.terminate()
          resolve({kind: 'failure', failure: {kind: 'timeout'}, request: live.request})
        })
      }, noResponse.afterMs)
    }
    armSilence()
    const send = (current: SipRequest): void => {
      const transaction = core.transactions.sendRequest(current, target, {
        response: (response) => {
          answered = true
          clearTimeout(silence)
          if (response.status < 200) return options.provisional?.(response)
          if (settled) {
            if (response.status < 300) options.later2xx?.(response)
            return
          }
          if (options.reissue !== undefined && response.status >= 300 && reissues < MAX_REISSUES) {
            const again = options.reissue(response, current, options.nextSeq?.() ?? cseqOf(current).seq + 1)
            if (again !== undefined) {
              reissues++
              send(again)
              return
            }
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
          clearTimeout(silence)
          if (settled) return
          settled = true
          resolve({kind: 'failure', failure, request: current})
        },
      })
      live = {transaction, request: current}
      options.started?.(transaction, current)
    }
    send(request)
  })
