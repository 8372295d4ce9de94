// Non-INVITE client transaction (RFC 3261 §17.1.2).
//
//   Trying --1xx--> Proceeding --final--> Completed --Timer K--> Terminated
//   Trying/Proceeding --Timer F / transport error--> Terminated (failure)
// Timer E retransmits on unreliable transports: T1 doubling up to T2 while
// Trying, every T2 once Proceeding.
import type {SipRequest, SipResponse} from '../message.js'
import {serializeSipMessage} from '../serializer.js'
import {isReliable, type SentInfo, type SipTarget} from '../transport/types.js'
import {TimerPair} from './timer-pair.js'
import {nextInterval, transactionTimeout} from './timers.js'
import {RELEASED_HANDLER, type ClientTransaction, type ClientTransactionFailure, type ClientTransactionHandler, type TransactionEnvironment} from './types.js'

type State = 'trying' | 'proceeding' | 'completed' | 'terminated'

export class NonInviteClientTransaction implements ClientTransaction {
  state: State = 'trying'
  sent: SentInfo | undefined
  private readonly timers = new TimerPair()
  private readonly bytes: Buffer

  constructor(
    private readonly env: TransactionEnvironment,
    readonly key: string,
    readonly request: SipRequest,
    public target: SipTarget,
    private handler: ClientTransactionHandler,
  ) {
    this.bytes = serializeSipMessage(request)
  }

  start(): void {
    this.transmit()
    const timers = this.env.timers
    if (!isReliable(this.target.transport)) this.timers.repeat(timers.t1, () => this.retransmit(timers.t1))
    // Timer F.
    this.timers.deadline(transactionTimeout(timers), () => {
      if (this.state === 'trying' || this.state === 'proceeding') this.fail({kind: 'timeout'})
    })
  }

  private retransmit(interval: number): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return
    this.transmit()
    const next = this.state === 'proceeding' ? this.env.timers.t2 : nextInterval(interval, this.env.timers, true)
    this.timers.repeat(next, () => this.retransmit(next))
  }

  private transmit(): void {
    this.env.transport.send(this.request, this.target, this.bytes).then(
      (info) => {
        this.sent ??= info
        if (info.connectionId !== undefined && this.target.connectionId !== info.connectionId) this.target = {...this.target, connectionId: info.connectionId}
      },
      (error: Error) => {
        if (this.state === 'trying' || this.state === 'proceeding') this.fail({kind: 'transport-error', error})
      },
    )
  }

  receiveResponse(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return
    if (response.status < 200) {
      this.state = 'proceeding'
      this.handler.response(response)
      return
    }
    this.state = 'completed'
    this.timers.clear()
    // Timer K: T4 on unreliable transports to absorb retransmitted finals, 0 on reliable ones.
    if (isReliable(this.target.transport)) this.terminate()
    else this.timers.deadline(this.env.timers.t4, () => this.terminate())
    // The TU gets nothing after the final response: let its handler (and the call it closes over) go for Timer K.
    const handler = this.handler
    this.handler = RELEASED_HANDLER
    handler.response(response)
  }

  private fail(failure: ClientTransactionFailure): void {
    const handler = this.handler
    this.handler = RELEASED_HANDLER
    this.terminate()
    handler.failure(failure)
  }

  terminate(): void {
    if (this.state === 'terminated') return
    this.state = 'terminated'
    this.timers.clear()
    this.env.terminated(this.key, 'client')
  }
}
