// Sending one request to an ordered list of targets (RFC 3263 §4.3): when a
// target times out (Timer B/F, or sooner: no response at all within the
// per-target timeout while another target is left), cannot be reached
// (transport error) or answers 503, the same request goes to the next
// target in a new transaction (a new Via branch); any other final response
// ends it. The targets come lazily from a SipTargetResolver, so the next
// one is looked up only when it is needed.
import type {SipRequest} from './message.js'
import {SipTransportError, type SipTarget} from './transport/types.js'
import type {UserAgentCore} from './user-agent-core.js'
import {sendRequest, type RequestOptions, type RequestOutcome} from './user-agent-request.js'

/** Why a target was left for the next one. */
export type FailoverReason = 'timeout' | 'transport-error' | '503'

export interface FailoverEvent {
  readonly from: SipTarget
  readonly next: SipTarget
  readonly reason: FailoverReason
  /** The error of a transport failure. */
  readonly error?: Error | undefined
}

export interface FailoverOptions extends Omit<RequestOptions, 'noResponse'> {
  /** The request for a target: a new one each time (no Via: the transaction layer adds one with a new branch). */
  readonly build: (target: SipTarget) => SipRequest
  /**
   * A target that sends no response at all this long is left for the next
   * one, when there is one (or given up when `proceed` says stop); 0: only
   * Timer B/F ends it.
   */
  readonly targetTimeoutMs: number
  /** Checked before each send: false stops (e.g. the attempt was cancelled). */
  readonly proceed?: () => boolean
  /** Each move to another target. */
  readonly failover?: (event: FailoverEvent) => void
}

export type FailoverOutcome =
  | (RequestOutcome & {readonly target: SipTarget; readonly tried: number})
  /** No target at all: the resolver's error (a SipDnsError for a lookup that failed). */
  | {readonly kind: 'unresolved'; readonly error: Error}
  /** `proceed` said no before anything (more) was sent. */
  | {readonly kind: 'stopped'; readonly tried: number}

/** The reason to try the next target after `outcome`, or undefined when the outcome is final. */
export const failoverReason = (outcome: RequestOutcome): FailoverReason | undefined => {
  if (outcome.kind === 'failure') return outcome.failure.kind
  return outcome.response.status === 503 ? '503' : undefined
}

export const sendWithFailover = async (core: UserAgentCore, targets: AsyncIterable<SipTarget>, options: FailoverOptions): Promise<FailoverOutcome> => {
  const iterator = targets[Symbol.asyncIterator]()
  let first: IteratorResult<SipTarget>
  try {
    first = await iterator.next()
  } catch (error) {
    return {kind: 'unresolved', error: error instanceof Error ? error : new SipTransportError(String(error))}
  }
  if (first.done === true) return {kind: 'unresolved', error: new SipTransportError('no target to send the request to')}
  let target = first.value
  let tried = 0
  try {
    for (;;) {
      if (options.proceed?.() === false) return {kind: 'stopped', tried}
      tried++
      // The next target, looked up once and only when needed; a lookup failing after the first target just ends the list.
      let upcoming: Promise<SipTarget | undefined> | undefined
      const peek = (): Promise<SipTarget | undefined> =>
        (upcoming ??= iterator.next().then(
          (result) => (result.done === true ? undefined : result.value),
          () => undefined,
        ))
      const {build, targetTimeoutMs, proceed, failover, ...requestOptions} = options
      const noResponse = targetTimeoutMs > 0 ? {afterMs: targetTimeoutMs, giveUp: async () => proceed?.() === false || (await peek()) !== undefined} : undefined
      const outcome = await sendRequest(core, build(target), target, {...requestOptions, ...(noResponse === undefined ? {} : {noResponse})})
      const reason = failoverReason(outcome)
      if (reason === undefined || proceed?.() === false) return {...outcome, target, tried}
      const next = await peek()
      if (next === undefined) return {...outcome, target, tried}
      failover?.({from: target, next, reason, error: outcome.kind === 'failure' && outcome.failure.kind === 'transport-error' ? outcome.failure.error : undefined})
      target = next
    }
  } finally {
    void iterator.return?.()
  }
}
