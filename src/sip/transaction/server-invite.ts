// INVITE server transaction (RFC 3261 §17.2.1, with the Accepted state of
// RFC 6026 §7.1: after a 2xx the transaction stays to absorb retransmitted
// INVITEs while the TU retransmits the 2xx itself, §13.3.1.4).
//
//   Proceeding --2xx--> Accepted --Timer L--> Terminated
//   Proceeding --300-699--> Completed --ACK--> Confirmed --Timer I--> Terminated
//                              |--Timer H (no ACK)--> Terminated
// 100 Trying goes out when the TU sends nothing within 200 ms.
import {createResponseTo, type SipRequest, type SipResponse} from '../message.js'
import {serializeSipMessage} from '../serializer.js'
import {isReliable, type InboundContext} from '../transport/types.js'
import {TimerPair} from './timer-pair.js'
import {nextInterval, transactionTimeout} from './timers.js'
import type {ServerTransaction, ServerTransactionObserver, TransactionEnvironment} from './types.js'

type State = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated'

export class InviteServerTransaction implements ServerTransaction {
  readonly isInvite = true
  state: State = 'proceeding'
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
    return this.state !== 'proceeding'
  }

  observe(observer: ServerTransactionObserver): void {
    this.observer = observer
  }

  start(): void {
    this.timers.repeat(this.env.timers.trying, () => {
      if (this.state !== 'proceeding' || this.lastResponse !== undefined) return
      const trying = createResponseTo(this.request, 100)
      if (this.env.server !== '') trying.headers.append('Server', this.env.server)
      this.respond(trying)
    })
  }

  respond(response: SipResponse): void {
    const status = response.status
    if (this.state === 'accepted') {
      // The TU's own 2xx retransmissions pass through (RFC 6026 §7.1).
      if (status >= 200 && status < 300) this.transmit(response, serializeSipMessage(response))
      return
    }
    if (this.state !== 'proceeding') return
    this.lastResponse = response
    this.lastBytes = serializeSipMessage(response)
    this.timers.stopRepeat()
    this.transmit(response, this.lastBytes)
    if (status < 200) return
    const timers = this.env.timers
    if (status < 300) {
      this.state = 'accepted'
      // Timer L.
      this.timers.deadline(transactionTimeout(timers), () => this.terminate())
      return
    }
    this.state = 'completed'
    // Timer G: retransmit the final response, T1 doubling to T2, on unreliable transports.
    if (!isReliable(this.context.transport)) this.timers.repeat(timers.t1, () => this.retransmitFinal(timers.t1))
    // Timer H: stop waiting for the ACK.
    this.timers.deadline(transactionTimeout(timers), () => {
      this.terminate()
      this.observer?.ackTimeout?.()
    })
  }

  private retransmitFinal(interval: number): void {
    if (this.state !== 'completed') return
    this.resendLast()
    const next = nextInterval(interval, this.env.timers, true)
    this.timers.repeat(next, () => this.retransmitFinal(next))
  }

  private resendLast(): void {
    if (this.lastResponse !== undefined && this.lastBytes !== undefined) this.transmit(this.lastResponse, this.lastBytes)
  }

  private transmit(response: SipResponse, bytes: Buffer): void {
    this.env.transport.respond(response, this.context, bytes).catch((error: Error) => {
      if (this.state === 'terminated') return
      this.terminate()
      this.observer?.transportError?.(error)
    })
  }

  /** A request that matched this transaction: a retransmitted INVITE or an ACK. */
  receiveRequest(request: SipRequest, context: InboundContext): void {
    if (request.method === 'INVITE') {
      // Retransmission: repeat the last provisional (Proceeding) or final (Completed) response.
      if (this.state === 'proceeding' || this.state === 'completed') this.resendLast()
      return
    }
    if (request.method !== 'ACK') return
    if (this.state === 'completed') {
      this.state = 'confirmed'
      // Nothing left to tell the TU (no Timer H, no response to send): let its observer, and the call it closes over, go.
      this.observer = undefined
      this.timers.clear()
      // Timer I: absorb further ACKs for T4 on unreliable transports, 0 on reliable ones.
      if (isReliable(this.context.transport)) this.terminate()
      else this.timers.deadline(this.env.timers.t4, () => this.terminate())
    } else if (this.state === 'accepted') {
      // The ACK ends the TU's 2xx retransmissions, the only sends left to fail: its observer (and the call it closes over) is let go for Timer L.
      this.observer = undefined
      this.env.passAck(request, context)
    }
  }

  terminate(): void {
    if (this.state === 'terminated') return
    this.state = 'terminated'
    this.timers.clear()
    this.env.terminated(this.key, 'server')
  }
}
