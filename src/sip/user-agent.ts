// The user agent core (RFC 3261 §8, §12-§15) on top of the transaction
// layer: places calls (invite → OutgoingInvite), takes calls (`invite`
// event → IncomingInvite), routes in-dialog requests and ACKs to their call,
// answers OPTIONS outside a dialog (200, or 503 while the owner says it takes
// no new calls: health for load balancers), 481 for unknown dialogs, 405/501 for
// methods we do not handle, 420 for extensions we do not support. Used by
// the gateway (a B2BUA is two of its calls) and by the CLI's caller.
// Extensions: session timers (RFC 4028, 422 and 400 here, before the
// application sees the INVITE), UPDATE (RFC 3311) and reliable provisionals
// (RFC 3262), Replaces (RFC 3891, user-agent-replaces.ts) when asked for; a
// Require naming anything else gets 420.
import {EventEmitter} from 'node:events'
import {dialogKeyOfRequest} from './dialog.js'
import {acceptsMediaType} from './header-values.js'
import {callIdOf, cseqOf, fromOf, toOf, type SipRequest, type SipResponse} from './message.js'
import {tagOf} from './name-addr.js'
import {SipTransactionLayer} from './transaction/transaction-layer.js'
import type {ServerTransaction} from './transaction/types.js'
import {addressResolver, type SipTargetResolver} from './transport/target-resolver.js'
import type {InboundContext, SipTransportLike, SipTransportProtocol} from './transport/types.js'
import type {ReliableProvisionalMode} from './reliable-provisionals.js'
import {wantsReliable} from './reliable-provisionals.js'
import {decideAsUas, type SessionTimerSettings} from './session-timer.js'
import {buildResponse, KNOWN_UNSUPPORTED, supportedHeader, supportedTags, type DialogUser, type UserAgentCore} from './user-agent-core.js'
import {IncomingInvite} from './user-agent-incoming.js'
import {checkReplaces} from './user-agent-replaces.js'
import {OutgoingInvite} from './user-agent-outgoing.js'
import {hangUpUnwanted2xx} from './user-agent-stray.js'
import type {InviteOptions, RequestScreen, Unavailable, UserAgentOptions} from './user-agent-types.js'

export interface UserAgentEvents {
  /** A new call. Without a listener it is refused with 480. */
  invite: [incoming: IncomingInvite]
}

/** Requests that belong in a dialog: outside one they get 481 (a REFER outside a dialog, a NOTIFY for no subscription of ours). */
const DIALOG_ONLY = new Set(['BYE', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY'])

export class UserAgent extends EventEmitter<UserAgentEvents> implements UserAgentCore {
  readonly transactions: SipTransactionLayer
  readonly transport: SipTransportLike
  readonly product: string
  readonly sessionTimers: SessionTimerSettings | undefined
  readonly reliableProvisionals: ReliableProvisionalMode
  readonly replaces: boolean
  readonly resolver: SipTargetResolver
  readonly targetTimeoutMs: number
  private readonly contactUser: string
  private readonly dialogs = new Map<string, DialogUser>()
  /** Unanswered incoming INVITEs by transaction, for CANCEL; each leaves at its final response. */
  private readonly incoming = new Map<ServerTransaction, IncomingInvite>()
  /** The same unanswered INVITEs by Call-ID, From tag and CSeq, to spot merged requests (§8.2.2.2). */
  private readonly pendingInvites = new Set<string>()
  private readonly live = new Set<{shutdown(): void}>()
  private closed = false
  private readonly availability: (() => Unavailable | undefined) | undefined
  /** The Retry-After of the stateless 503 a `busy` screen verdict gets (security.overload.retry_after_s; a config reload changes it). */
  busyRetryAfterS: number

  constructor(options: UserAgentOptions) {
    super()
    this.transport = options.transport
    this.product = options.product ?? 'ClutchCall'
    this.contactUser = options.contactUser ?? 'clutchcall'
    this.sessionTimers = options.sessionTimers
    this.reliableProvisionals = options.reliableProvisionals ?? 'supported'
    this.replaces = options.replaces ?? false
    this.availability = options.availability
    this.resolver = options.resolver ?? addressResolver
    this.targetTimeoutMs = options.targetTimeoutMs ?? 0
    this.busyRetryAfterS = options.busyRetryAfterS ?? 5
    this.transactions = new SipTransactionLayer(options.transport, {
      request: (request, transaction) => this.onRequest(request, transaction),
      ack: (ack) => this.dialogs.get(dialogKeyOfRequest(ack) ?? '')?.receiveAck(ack),
      strayInvite2xx: (response, context) => this.onStray2xx(response, context),
    }, {timers: options.timers ?? {}, server: this.product, ...(options.screen === undefined ? {} : {screen: this.screenWith(options.screen)})})
  }

  /** The transaction layer's screen: adds what only the UA knows (its dialogs, pending INVITEs), and sends a `reject` its stateless 403, a `busy` its 503. */
  private screenWith(screen: RequestScreen): (request: SipRequest, context: InboundContext, inTransaction: boolean) => boolean {
    return (request, context, inTransaction) => {
      const belongs = inTransaction || this.belongs(request)
      const verdict = screen(request, context, belongs)
      if (verdict === 'admit') return true
      if (verdict !== 'drop' && request.method !== 'ACK') {
        // Stateless (RFC 3261 §8.2.6): no transaction, so a flood of rejected requests holds no memory.
        const response = verdict === 'reject' ? buildResponse(this, request, 403) : buildResponse(this, request, 503, {headers: [['Retry-After', String(this.busyRetryAfterS)]]})
        this.transport.respond(response, context).catch(() => {})
      }
      return false
    }
  }

  /** True when a request matches a dialog we hold, or is a CANCEL of an INVITE we are still answering. */
  private belongs(request: SipRequest): boolean {
    if (request.method === 'CANCEL') return this.transactions.findInviteServerTransaction(request) !== undefined
    if (tagOf(toOf(request)) === undefined) return false
    return this.dialogs.has(dialogKeyOfRequest(request) ?? '')
  }

  get timers(): UserAgentCore['timers'] {
    return this.transactions.timers
  }

  /** Calls with a dialog (established, being answered or being hung up). */
  get dialogCount(): number {
    return this.dialogs.size
  }

  /**
   * Places a call. Network failures (an unresolvable or unreachable
   * destination included) arrive as the `failed` event and in `result`; a
   * malformed Request-URI, From or To throws (SipParseError) right here.
   */
  invite(options: InviteOptions): OutgoingInvite {
    if (this.closed) throw new Error('user agent is closed')
    return new OutgoingInvite(this, options)
  }

  /**
   * Our Contact for a dialog on `transport`: over TLS a sips: URI when the
   * dialog's Request-URI is sips: (RFC 3261 §8.1.1.8, §12.1.1), else
   * `;transport=tls`; `;transport=tcp` for TCP; nothing for UDP. `user` replaces
   * the user part (a registering trunk binds its own contact user).
   */
  contactFor(transport: SipTransportProtocol, sips = false, user = this.contactUser): string {
    const listener = this.transport.listenerFor(transport)
    if (listener === undefined) throw new Error(`no ${transport.toUpperCase()} listener for a Contact`)
    const host = listener.advertise.includes(':') ? `[${listener.advertise}]` : listener.advertise
    if (transport === 'tls' && sips) return `<sips:${user}@${host}:${listener.port}>`
    return `<sip:${user}@${host}:${listener.port}${transport === 'udp' ? '' : `;transport=${transport}`}>`
  }

  register(user: DialogUser): void {
    this.dialogs.set(user.dialog.key, user)
  }

  unregister(user: DialogUser): void {
    if (this.dialogs.get(user.dialog.key) === user) this.dialogs.delete(user.dialog.key)
  }

  lookup(key: string): DialogUser | undefined {
    return this.dialogs.get(key)
  }

  track(closable: {shutdown(): void}): () => void {
    this.live.add(closable)
    return () => this.live.delete(closable)
  }

  private onRequest(request: SipRequest, transaction: ServerTransaction): void {
    const respond = (status: number, headers?: Array<[string, string]>): void => transaction.respond(buildResponse(this, request, status, headers === undefined ? {} : {headers}))
    if (this.closed) return respond(503)
    if (request.method === 'CANCEL') return this.onCancel(request, transaction)
    // §8.2.2.3: a Require (other than on ACK/CANCEL) naming an extension we do not support is refused.
    const supported = supportedTags(this)
    const unsupported = request.headers.values('require').filter((tag) => !supported.includes(tag.toLowerCase()))
    if (unsupported.length > 0) return respond(420, [['Unsupported', unsupported.join(', ')], ...supportedHeader(this)])
    if (tagOf(toOf(request)) !== undefined) {
      const user = this.dialogs.get(dialogKeyOfRequest(request) ?? '')
      // §12.2.2: a request for a dialog we do not have.
      if (user === undefined) return respond(481)
      return user.receiveRequest(request, transaction)
    }
    switch (request.method) {
      case 'INVITE':
        return this.onInvite(request, transaction)
      case 'OPTIONS': {
        // Keep-alive probes and capability queries (§11.2; buildResponse adds Allow and Supported); a load balancer's health probe reads the status.
        const unavailable = this.availability?.()
        if (unavailable !== undefined) {
          return transaction.respond(buildResponse(this, request, 503, {reason: unavailable.reason, headers: [['Retry-After', String(unavailable.retryAfterS)]]}))
        }
        return respond(200, [['Accept', 'application/sdp']])
      }
      default:
        if (DIALOG_ONLY.has(request.method)) return respond(481)
        return respond(KNOWN_UNSUPPORTED.has(request.method) ? 405 : 501)
    }
  }

  private onInvite(request: SipRequest, transaction: ServerTransaction): void {
    const contentType = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
    // §8.2.3: a body we cannot read. SDP is the only session description we take.
    if (request.body.length > 0 && contentType !== 'application/sdp') {
      return transaction.respond(buildResponse(this, request, 415, {headers: [['Accept', 'application/sdp']]}))
    }
    // §21.4.7: our answer is SDP in every 2xx, so a caller that accepts no SDP cannot be answered (RFC 4475 §3.3.16, sdp01).
    if (!acceptsMediaType(request.headers.has('accept') ? request.headers.values('accept') : undefined, 'application/sdp')) {
      return transaction.respond(buildResponse(this, request, 406, {headers: [['Accept', 'application/sdp']]}))
    }
    // RFC 4028 §9: an interval below our minimum gets 422 with our Min-SE, a malformed one 400.
    const timer = this.sessionTimers === undefined ? undefined : decideAsUas(request.headers, this.sessionTimers)
    if (timer?.kind === 'malformed') return transaction.respond(buildResponse(this, request, 400, {reason: 'Bad Session-Expires or Min-SE'}))
    if (timer?.kind === 'too-small') return transaction.respond(buildResponse(this, request, 422, {headers: [['Min-SE', String(timer.minSe)]]}))
    if (this.listenerCount('invite') === 0) return transaction.respond(buildResponse(this, request, 480))
    const replacing = this.replaces ? checkReplaces(request, (key) => this.dialogs.get(key)) : ({kind: 'none'} as const)
    if (replacing.kind === 'refuse') return transaction.respond(buildResponse(this, request, replacing.status, {reason: replacing.reason}))
    // §8.2.2.2: the same INVITE reaching us again by another path (a forking proxy) is a merged request.
    const mergeKey = `${callIdOf(request)}\n${tagOf(fromOf(request)) ?? ''}\n${cseqOf(request).seq}`
    if (this.pendingInvites.has(mergeKey)) return transaction.respond(buildResponse(this, request, 482))
    const incoming = new IncomingInvite(
      this,
      request,
      transaction,
      () => {
        this.incoming.delete(transaction)
        this.pendingInvites.delete(mergeKey)
      },
      {sessionTimer: timer, reliable: wantsReliable(request.headers, this.reliableProvisionals), ...(replacing.kind === 'replaces' ? {replaces: replacing.call} : {})},
    )
    this.incoming.set(transaction, incoming)
    this.pendingInvites.add(mergeKey)
    this.emit('invite', incoming)
  }

  /** §9.2: 200 to the CANCEL and 487 to its INVITE when that is still unanswered; 481 when there is no such INVITE. */
  private onCancel(cancel: SipRequest, transaction: ServerTransaction): void {
    const invite = this.transactions.findInviteServerTransaction(cancel)
    if (invite === undefined) return transaction.respond(buildResponse(this, cancel, 481))
    transaction.respond(buildResponse(this, cancel, 200))
    const incoming = this.incoming.get(invite)
    if (incoming !== undefined) incoming.cancelled(cancel)
    else if (!invite.finished) invite.respond(buildResponse(this, invite.request, 487))
  }

  private onStray2xx(response: SipResponse, context: InboundContext): void {
    if (cseqOf(response).method !== 'INVITE') return
    hangUpUnwanted2xx(this, response, context.transport, context.connectionId)
  }

  /** Ends every call and attempt without signalling, stops every timer. The transport stays open (its owner closes it). */
  close(): void {
    this.closed = true
    for (const closable of [...this.live]) closable.shutdown()
    for (const user of [...this.dialogs.values()]) user.shutdown()
    this.dialogs.clear()
    this.incoming.clear()
    this.pendingInvites.clear()
    this.transactions.close()
  }
}
