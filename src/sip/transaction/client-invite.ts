// INVITE client transaction (RFC 3261 §17.1.1, with the Accepted state of
// RFC 6026 §7.2 so that 2xx retransmissions and forked 2xx reach the TU).
//
//   Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
//      |                 |
//      +--300-699--------+--> Completed (ACK sent) --Timer D--> Terminated
//   Calling --Timer B / transport error--> Terminated (failure to the TU)
import type {SipRequest, SipResponse} from '../message.js'
import {serializeSipMessage} from '../serializer.js'
import {isReliable, type InboundContext, type SentInfo, type SipTarget} from '../transport/types.js'
import {ackForFailure} from './ack-for-failure.js'
import {TimerPair} from './timer-pair.js'
import {transactionTimeout} from './timers.js'
import {RELEASED_HANDLER, type ClientTransaction, type ClientTransactionHandler, type TransactionEnvironment} from './types.js'

type State = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated'

export class InviteClientTransaction implements ClientTransaction {
  state: State = 'calling'
  sent: SentInfo | undefined
  private readonly timers = new TimerPair()
  private readonly bytes: Buffer
  private ackBytes: Buffer | undefined
  private ack: SipRequest | undefined

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
    this.transmit(this.request, this.bytes)
    const timers = this.env.timers
    // Timer A: retransmit at T1, 2·T1, 4·T1... on unreliable transports only (§17.1.1.2).
    if (!isReliable(this.target.transport)) this.timers.repeat(timers.t1, () => this.retransmit(timers.t1))
    // Timer B: give up when nothing at all came back.
    this.timers.deadline(transactionTimeout(timers), () => {
      if (this.state === 'calling') this.fail({kind: 'timeout'})
    })
  }

  private retransmit(interval: number): void {
    if (this.state !== 'calling') return
    this.transmit(this.request, this.bytes)
    // INVITE retransmissions keep doubling without the T2 cap (§17.1.1.2).
    this.timers.repeat(interval * 2, () => this.retransmit(interval * 2))
  }

  private transmit(message: SipRequest, bytes: Buffer): void {
    this.env.transport.send(message, this.target, bytes).then(
      (info) => {
        this.sent ??= info
        // Later messages of this transaction (ACK) use the same connection.
        if (info.connectionId !== undefined && this.target.connectionId !== info.connectionId) this.target = {...this.target, connectionId: info.connectionId}
      },
      (error: Error) => {
        if (this.state === 'calling' || this.state === 'proceeding') this.fail({kind: 'transport-error', error})
      },
    )
  }

  receiveResponse(response: SipResponse, context: InboundContext): void {
    const status = response.status
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          this.state = 'proceeding'
          // No retransmissions and no Timer B once the peer answered (§17.1.1.2).
          this.timers.clear()
          this.handler.response(response)
        } else if (status < 300) {
          this.state = 'accepted'
          this.timers.clear()
          // Timer M (RFC 6026 §7.2): absorbs 2xx retransmissions and forks for 64·T1.
          this.timers.deadline(transactionTimeout(this.env.timers), () => this.terminate())
          this.finalToTu(response)
        } else {
          this.state = 'completed'
          this.timers.clear()
          this.sendAck(response)
          // Timer D: 32 s (64·T1) on unreliable transports to absorb retransmitted finals, 0 on reliable ones.
          if (isReliable(this.target.transport)) this.terminate()
          else this.timers.deadline(transactionTimeout(this.env.timers), () => this.terminate())
          this.finalToTu(response)
        }
        return
      case 'accepted':
        // What the TU would do with it, keyed by dialog rather than by this transaction (user-agent-stray.ts).
        if (status >= 200 && status < 300) this.env.passLater2xx(response, context)
        return
      case 'completed':
        // A retransmitted final response: our ACK was lost, send it again.
        if (status >= 300) this.resendAck()
        return
      case 'terminated':
        return
    }
  }

  /** The final response is the last thing the TU's handler gets: it is let go so the call it closes over is not held while this transaction lingers. */
  private finalToTu(response: SipResponse): void {
    const handler = this.handler
    this.handler = RELEASED_HANDLER
    handler.response(response)
  }

  private sendAck(response: SipResponse): void {
    this.ack = ackForFailure(this.request, response)
    this.ackBytes = serializeSipMessage(this.ack)
    this.resendAck()
  }

  private resendAck(): void {
    if (this.ack === undefined || this.ackBytes === undefined) return
    this.env.transport.send(this.ack, this.target, this.ackBytes).catch(() => {})
  }

  private fail(failure: Parameters<ClientTransactionHandler['failure']>[0]): void {
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
