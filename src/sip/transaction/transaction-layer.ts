// The transaction layer (RFC 3261 §17): creates client transactions for
// requests the TU sends and server transactions for requests that arrive,
// matches every incoming message to its transaction (§17.1.3, §17.2.3), and
// hands the TU what no transaction absorbs.
import {SipParseError} from '../errors.js'
import {generateBranch} from '../ids.js'
import {cseqOf, topViaOf, type SipMessage, type SipRequest, type SipResponse} from '../message.js'
import {serializeSipMessage} from '../serializer.js'
import {SipTransportError, type InboundContext, type SentInfo, type SipTarget, type SipTransportLike} from '../transport/types.js'
import {viaBranch} from '../via.js'
import {InviteClientTransaction} from './client-invite.js'
import {NonInviteClientTransaction} from './client-non-invite.js'
import {clientKeyOf, clientKeyOfResponse, serverKeyOf} from './keys.js'
import {InviteServerTransaction} from './server-invite.js'
import {NonInviteServerTransaction} from './server-non-invite.js'
import {sipTimers, type SipTimerConfig} from './timers.js'
import type {ClientTransaction, ClientTransactionHandler, ServerTransaction, TransactionEnvironment, TransactionUser} from './types.js'

export interface TransactionLayerCounters {
  /** Responses matching no client transaction (and not a 2xx to INVITE): dropped (§17.1.3). */
  strayResponses: number
  /** Retransmitted requests absorbed or answered by their server transaction. */
  retransmissionsAbsorbed: number
  /** Requests the screen turned away before any transaction existed for them. */
  screenedOut: number
}

/** Decides, before any state is created, whether a request goes on; `inTransaction` when it matches a server transaction we hold. */
export type TransactionScreen = (request: SipRequest, context: InboundContext, inTransaction: boolean) => boolean

type ClientTx = InviteClientTransaction | NonInviteClientTransaction
type ServerTx = InviteServerTransaction | NonInviteServerTransaction

export class SipTransactionLayer {
  readonly timers: SipTimerConfig
  private readonly clients = new Map<string, ClientTx>()
  private readonly servers = new Map<string, ServerTx>()
  private readonly env: TransactionEnvironment
  private readonly unsubscribe: () => void
  private readonly counts: TransactionLayerCounters = {strayResponses: 0, retransmissionsAbsorbed: 0, screenedOut: 0}

  private readonly screen: TransactionScreen | undefined

  constructor(readonly transport: SipTransportLike, private readonly tu: TransactionUser, options?: {timers?: Partial<SipTimerConfig>; server?: string; screen?: TransactionScreen}) {
    this.timers = sipTimers(options?.timers)
    this.screen = options?.screen
    this.env = {
      transport,
      timers: this.timers,
      server: options?.server ?? '',
      terminated: (key, kind) => (kind === 'client' ? this.clients : this.servers).delete(key),
      passAck: (request, context) => this.tu.ack(request, context),
      passLater2xx: (response, context) => this.tu.strayInvite2xx(response, context),
    }
    this.unsubscribe = transport.onMessage((message, context) => this.receive(message, context))
  }

  /** Server transactions held now (what remote parties make us keep). */
  get serverTransactionCount(): number {
    return this.servers.size
  }

  get counters(): Readonly<TransactionLayerCounters & {clientTransactions: number; serverTransactions: number}> {
    return {...this.counts, clientTransactions: this.clients.size, serverTransactions: this.servers.size}
  }

  /**
   * Adds our Via (sent-by from the transport's listener, a new branch and
   * `rport`, RFC 3581 §3) unless the request already has one, as a CANCEL
   * copied from its INVITE does (§9.1). Returns the branch it added.
   */
  addVia(request: SipRequest, target: SipTarget, branch: string = generateBranch()): string | undefined {
    if (request.headers.has('via')) return undefined
    const listener = this.transport.listenerFor(target.transport)
    if (listener === undefined) throw new SipTransportError(`no ${target.transport.toUpperCase()} listener to send from`, target)
    const host = listener.advertise.includes(':') ? `[${listener.advertise}]` : listener.advertise
    // Over TLS, `alias` lets the peer send its requests back over this connection (RFC 5923).
    request.headers.prepend('Via', `SIP/2.0/${target.transport.toUpperCase()} ${host}:${listener.port};branch=${branch};rport${target.transport === 'tls' ? ';alias' : ''}`)
    return branch
  }

  /** Sends a request (never ACK) in a new client transaction. */
  sendRequest(request: SipRequest, target: SipTarget, handler: ClientTransactionHandler): ClientTransaction {
    if (request.method === 'ACK') throw new TypeError('ACK is not sent in a transaction; use sendAck')
    let branch: string | undefined
    try {
      branch = this.addVia(request, target) ?? viaBranch(topViaOf(request))
    } catch (error) {
      const failed = new NonInviteClientTransaction(this.env, '', request, target, handler)
      failed.state = 'terminated'
      queueMicrotask(() => handler.failure({kind: 'transport-error', error: error as Error}))
      return failed
    }
    const key = clientKeyOf(branch ?? '', request.method)
    const transaction = request.method === 'INVITE' ? new InviteClientTransaction(this.env, key, request, target, handler) : new NonInviteClientTransaction(this.env, key, request, target, handler)
    this.clients.set(key, transaction)
    transaction.start()
    return transaction
  }

  /** Sends an ACK for a 2xx: its own transaction-less request (§13.2.2.4, §17.1.1.3). */
  sendAck(ack: SipRequest, target: SipTarget, bytes?: Buffer): Promise<SentInfo> {
    this.addVia(ack, target)
    return this.transport.send(ack, target, bytes ?? serializeSipMessage(ack))
  }

  /** The INVITE server transaction a CANCEL refers to (§9.2: same key, method INVITE). */
  findInviteServerTransaction(cancel: SipRequest): ServerTransaction | undefined {
    const transaction = this.servers.get(serverKeyOf(cancel, 'INVITE'))
    return transaction?.isInvite === true ? transaction : undefined
  }

  receive(message: SipMessage, context: InboundContext): void {
    try {
      if (message.kind === 'response') this.receiveResponse(message, context)
      else this.receiveRequest(message, context)
    } catch (error) {
      // The parser validated Via, CSeq and friends; anything else here is a stray we drop.
      if (!(error instanceof SipParseError)) throw error
    }
  }

  private receiveResponse(response: SipResponse, context: InboundContext): void {
    const key = clientKeyOfResponse(response)
    const transaction = key === undefined ? undefined : this.clients.get(key)
    if (transaction !== undefined) {
      transaction.receiveResponse(response, context)
      return
    }
    if (response.status >= 200 && response.status < 300 && cseqOf(response).method === 'INVITE') {
      this.tu.strayInvite2xx(response, context)
      return
    }
    this.counts.strayResponses++
  }

  private receiveRequest(request: SipRequest, context: InboundContext): void {
    const key = serverKeyOf(request)
    const existing = this.servers.get(key)
    if (this.screen !== undefined && !this.screen(request, context, existing !== undefined)) {
      this.counts.screenedOut++
      return
    }
    if (existing !== undefined) {
      if (request.method !== 'ACK') this.counts.retransmissionsAbsorbed++
      existing.receiveRequest(request, context)
      return
    }
    if (request.method === 'ACK') {
      this.tu.ack(request, context)
      return
    }
    const transaction = request.method === 'INVITE' ? new InviteServerTransaction(this.env, key, request, context) : new NonInviteServerTransaction(this.env, key, request, context)
    this.servers.set(key, transaction)
    if (transaction instanceof InviteServerTransaction) transaction.start()
    this.tu.request(request, transaction)
  }

  /** Terminates every transaction and stops listening; timers are cleared. */
  close(): void {
    this.unsubscribe()
    for (const transaction of [...this.clients.values(), ...this.servers.values()]) transaction.terminate()
    this.clients.clear()
    this.servers.clear()
  }
}
