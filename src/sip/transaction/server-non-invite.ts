// Non-INVITE server transaction (RFC 3261 §17.2.2).
//
//   Trying --1xx--> Proceeding --final--> Completed --Timer J--> Terminated
// Retransmitted requests are absorbed while Trying and answered with the
// last response afterwards.
import type {SipRequest, SipResponse} from '../message.js'
import {serializeSipMessage} from '../serializer.js'
import {isReliable, type InboundContext} from '../transport/types.js'
import {TimerPair} from './timer-pair.js'
import {transactionTimeout} from './timers.js'
import type {ServerTransaction, ServerTransactionObserver, TransactionEnvironment} from './types.js'

type State = 'trying' | 'proceeding' | 'completed' | 'terminated'

export class NonInviteServerTransaction implements ServerTransaction {
  readonly isInvite = false
  state: State = 'trying'
  lastResponse: SipResponse | undefined
  private lastBytes: Buffer | undefined
  private readonly timers = new TimerPair()
  private observer: ServerTransactionObserver | undefined

  constructor(
    private readonly env: TransactionEnvironment,
    readonly key: string,
    readonly request: SipRequest,
    readonly context: InboundContext,
  ) {}

  get finished(): boolean {
    return this.state === 'completed' || this.state === 'terminated'
  }

  observe(observer: ServerTransactionObserver): void {
    this.observer = observer
  }

  respond(response: SipResponse): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return
    this.lastResponse = response
    this.lastBytes = serializeSipMessage(response)
    this.transmit()
    if (response.status < 200) {
      this.state = 'proceeding'
      return
    }
    this.state = 'completed'
    // Timer J: 64·T1 on unreliable transports to answer retransmissions, 0 on reliable ones.
    if (isReliable(this.context.transport)) this.terminate()
    else this.timers.deadline(transactionTimeout(this.env.timers), () => this.terminate())
  }

  private transmit(): void {
    if (this.lastResponse === undefined || this.lastBytes === undefined) return
    this.env.transport.respond(this.lastResponse, this.context, this.lastBytes).catch((error: Error) => {
      if (this.state === 'terminated') return
      this.terminate()
      this.observer?.transportError?.(error)
    })
  }

  receiveRequest(_request: SipRequest): void {
    if (this.state === 'proceeding' || this.state === 'completed') this.transmit()
  }

  terminate(): void {
    if (this.state === 'terminated') return
    this.state = 'terminated'
    this.timers.clear()
    this.env.terminated(this.key, 'server')
  }
}
