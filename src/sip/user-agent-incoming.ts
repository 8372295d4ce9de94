// An incoming call attempt (UAS, RFC 3261 §13.3): ring, answer, reject,
// Digest challenge and verification, and CANCEL from the caller (§9.2).
import {EventEmitter} from 'node:events'
import {parseDigestCredentials} from './digest-header.js'
import type {DigestServer, DigestVerification} from './digest-server.js'
import {Dialog} from './dialog.js'
import {generateTag} from './ids.js'
import {callIdOf, fromOf, toOf, type SipRequest} from './message.js'
import type {NameAddr} from './name-addr.js'
import {q850FromReason} from './q850.js'
import type {ServerTransaction} from './transaction/types.js'
import {preciseNow, type SocketAddress, type SipTransportProtocol} from './transport/types.js'
import type {UasDecision} from './session-timer.js'
import {SipCall} from './user-agent-call.js'
import {allowsMethod, buildResponse, isSipsUri, reasonHeader, type UserAgentCore} from './user-agent-core.js'
import {EarlyDialog, ReliableProvisionalSender} from './user-agent-reliable.js'
import {headerEntries, type Credentials, type ExtraHeaders, type RejectOptions} from './user-agent-types.js'

export interface IncomingInviteEvents {
  /** The caller sent CANCEL (or BYE in the early dialog): 200 went to it and 487 to the INVITE (§9.2, §15.1.2). */
  cancelled: [request: SipRequest, q850Cause: number | undefined]
  /**
   * The stack ended the attempt itself: a reliable provisional never PRACKed
   * (RFC 3262 §3: `status` 500 went to the caller with Q.850 cause 102), or
   * a response that could not be sent (`status` 503 and cause 41 stand for
   * it; nothing went).
   */
  failed: [status: number, q850Cause: number]
}

/** What the UA decided about an INVITE before the application saw it. */
export interface IncomingInviteOptions {
  /** The session timer its 2xx carries (RFC 4028 §9). */
  readonly sessionTimer?: Extract<UasDecision, {kind: 'timer'}> | undefined
  /** Our provisionals go reliably (RFC 3262). */
  readonly reliable?: boolean
  /** The confirmed dialog of ours its Replaces header names (RFC 3891), checked by the UA. */
  readonly replaces?: SipCall
}

/** Q.850 102, recovery on timer expiry: the cause when a reliable provisional is never acknowledged. */
const Q850_TIMER_EXPIRY = 102
/** Q.850 41, temporary failure: the cause when a response to the INVITE could not be sent. */
const Q850_TEMPORARY_FAILURE = 41

export type IncomingInviteState = 'pending' | 'ringing' | 'answered' | 'rejected' | 'cancelled' | 'failed'

export type DigestCheck = DigestVerification | {readonly ok: false; readonly failure: 'missing'; readonly stale: false}

const asBuffer = (sdp: Buffer | string): Buffer => (typeof sdp === 'string' ? Buffer.from(sdp) : sdp)

export class IncomingInvite extends EventEmitter<IncomingInviteEvents> {
  readonly source: {readonly transport: SipTransportProtocol} & SocketAddress
  readonly local: SocketAddress
  readonly callId: string
  readonly from: NameAddr
  readonly to: NameAddr
  readonly requestUri: string
  /** The caller's offer; undefined for an offerless INVITE. */
  readonly remoteSdp: Buffer | undefined
  /** Our To tag, the same in every response. */
  readonly localTag = generateTag()
  readonly timing: {receivedAt: number; ringingAt?: number; answeredAt?: number; ackedAt?: number}
  state: IncomingInviteState = 'pending'
  call: SipCall | undefined
  /** Set when our provisionals go reliably (RFC 3262). */
  readonly reliable: ReliableProvisionalSender | undefined
  /** Our confirmed dialog this INVITE asks to replace (RFC 3891): the application puts the new call in its place, or refuses. */
  readonly replaces: SipCall | undefined
  private readonly sessionTimer: IncomingInviteOptions['sessionTimer']
  /** The early dialog our reliable provisionals created (RFC 3261 §12.1.1); the call continues it. */
  private early: EarlyDialog | undefined

  constructor(
    private readonly core: UserAgentCore,
    readonly request: SipRequest,
    readonly transaction: ServerTransaction,
    /** Called once the attempt is over (final response sent or failed), so the UA can forget it. */
    private readonly settled: () => void = () => {},
    options: IncomingInviteOptions = {},
  ) {
    super()
    const context = transaction.context
    this.source = {transport: context.transport, ...context.remote}
    this.local = context.local
    this.callId = callIdOf(request)
    this.from = fromOf(request)
    this.to = toOf(request)
    this.requestUri = request.uri
    this.remoteSdp = request.body.length > 0 ? request.body : undefined
    this.timing = {receivedAt: context.receivedAt}
    this.sessionTimer = options.sessionTimer
    this.replaces = options.replaces
    this.reliable = options.reliable === true ? new ReliableProvisionalSender(core, transaction, () => this.prackTimedOut()) : undefined
    transaction.observe({
      transportError: () => {
        if (!this.open) return
        this.settle('failed')
        this.emit('failed', 503, Q850_TEMPORARY_FAILURE)
      },
    })
  }

  /** RFC 3262 §3: no PRACK within 64·T1, the INVITE is refused with a 5xx. */
  private prackTimedOut(): void {
    if (!this.open) return
    this.transaction.respond(buildResponse(this.core, this.request, 500, {toTag: this.localTag, reason: 'Provisional Response Not Acknowledged', headers: reasonHeader({q850Cause: Q850_TIMER_EXPIRY})}))
    this.settle('failed')
    this.emit('failed', 500, Q850_TIMER_EXPIRY)
  }

  private dialog(): Dialog {
    const transport = this.source.transport
    return this.early?.dialog ?? Dialog.asUas(this.request, this.localTag, {transport, connectionId: this.transaction.context.connectionId, localContact: this.core.contactFor(transport, isSipsUri(this.request.uri))})
  }

  private get open(): boolean {
    return this.state === 'pending' || this.state === 'ringing'
  }

  private settle(state: 'answered' | 'rejected' | 'cancelled' | 'failed'): void {
    this.state = state
    // Settled, the observer above ignores everything: the transaction, which lingers up to 64·T1, stops holding this call.
    this.transaction.observe({})
    if (state !== 'answered') {
      this.reliable?.stop()
      if (this.early !== undefined) this.core.unregister(this.early)
    }
    this.settled()
  }

  /** 180 Ringing, or 183 Session Progress when early-media SDP is given. False when it is too late. */
  ring(options: {sdp?: Buffer | string; status?: number; headers?: ExtraHeaders} = {}): boolean {
    if (!this.open) return false
    const body = options.sdp === undefined ? undefined : asBuffer(options.sdp)
    const status = options.status ?? (body === undefined ? 180 : 183)
    if (status <= 100 || status >= 200) throw new RangeError(`ring() sends 101-199, not ${status}`)
    const response = buildResponse(this.core, this.request, status, {toTag: this.localTag, contact: true, transport: this.source.transport, ...(body === undefined ? {} : {body}), ...(options.headers === undefined ? {} : {headers: options.headers})})
    if (this.reliable !== undefined) {
      // The PRACK comes within the early dialog this provisional creates.
      if (this.early === undefined) {
        this.early = new EarlyDialog(this.core, this.dialog(), {reliable: this.reliable, byeBeforeAnswer: (bye) => this.cancelled(bye)})
        this.core.register(this.early)
      }
      if (!this.reliable.send(response)) return false
    } else {
      this.transaction.respond(response)
    }
    this.state = 'ringing'
    this.timing.ringingAt ??= preciseNow()
    return true
  }

  /**
   * 200 OK with our To tag, Contact and `sdp`; the 2xx is retransmitted
   * until the ACK (§13.3.1.4). Resolves with the call once ACKed (or ended
   * by a BYE that crossed the ACK); rejects when no ACK came within 64·T1
   * (the call is then ended with BYE) or when the attempt is already over.
   */
  async answer(sdp: Buffer | string, options: {headers?: ExtraHeaders} = {}): Promise<SipCall> {
    if (!this.open) throw new Error(`cannot answer: the call is ${this.state}`)
    // RFC 3262 §3: no 2xx while a reliable provisional carrying SDP is unacknowledged.
    if (this.reliable?.sdpUnacknowledged === true) {
      await this.reliable.sdpAcknowledged()
      if (!this.open) throw new Error(`cannot answer: the call is ${this.state}`)
    }
    const body = asBuffer(sdp)
    const transport = this.source.transport
    const dialog = this.dialog()
    const call = new SipCall(this.core, dialog, 'inbound', {local: body, remote: this.remoteSdp})
    this.call = call
    call.peerAllowsUpdate = allowsMethod(this.request, 'UPDATE')
    const reliable = this.reliable
    if (reliable !== undefined) {
      reliable.stop()
      call.prackHandler = (prack, transaction) => reliable.receiveLatePrack(prack, transaction)
    }
    const timer = call.sessionTimer === undefined ? undefined : this.sessionTimer
    const headers = [...(timer === undefined ? [] : (call.sessionTimer?.responseHeaders(timer) ?? [])), ...headerEntries(options.headers)]
    // RFC 3261 §13.2.1: once a PRACKed provisional carried our answer, the 2xx carries no other.
    const answerSent = reliable?.answerAcknowledged === true && this.remoteSdp !== undefined
    const response = buildResponse(this.core, this.request, 200, {toTag: this.localTag, contact: true, transport, ...(answerSent ? {} : {body}), headers})
    this.settle('answered')
    this.timing.answeredAt = call.timing.answeredAt
    this.transaction.respond(response)
    if (timer !== undefined) call.sessionTimer?.acceptedRemote(timer)
    const ack = await call.awaitAck(response, this.transaction)
    if (ack !== undefined) this.timing.ackedAt = call.timing.establishedAt
    // An offerless INVITE: our 2xx carried the offer, the ACK the answer (RFC 3264 §4).
    if (ack !== undefined && this.remoteSdp === undefined && ack.body.length > 0) call.remoteSdp = ack.body
    return call
  }

  /** A final 3xx-6xx, with `Reason: Q.850;cause=N` when a cause is given. False when it is too late. */
  reject(status: number, options: RejectOptions = {}): boolean {
    if (!this.open) return false
    if (status < 300 || status > 699) throw new RangeError(`reject() sends 300-699, not ${status}`)
    const headers = [...reasonHeader(options), ...headerEntries(options.headers)]
    this.transaction.respond(buildResponse(this.core, this.request, status, {toTag: this.localTag, headers, ...(options.reason === undefined ? {} : {reason: options.reason})}))
    this.settle('rejected')
    return true
  }

  /**
   * Checks the INVITE's Digest credentials (Authorization, or
   * Proxy-Authorization with `proxy`). `credentials` gives the expected
   * username and password, or finds them from the username presented.
   */
  verifyDigest(server: DigestServer, credentials: Credentials | ((username: string) => Credentials | undefined), options: {proxy?: boolean} = {}): DigestCheck {
    const header = this.request.headers.get(options.proxy === true ? 'proxy-authorization' : 'authorization')
    if (header === undefined) return {ok: false, failure: 'missing', stale: false}
    let presented: string
    try {
      presented = parseDigestCredentials(header).username
    } catch {
      return {ok: false, failure: 'malformed', stale: false}
    }
    const expected = typeof credentials === 'function' ? credentials(presented) : credentials
    if (expected === undefined) return {ok: false, failure: 'wrong-username', stale: false}
    return server.verify(header, {method: 'INVITE', uri: this.request.uri, username: expected.username, password: expected.password, body: this.request.body})
  }

  /** 401 with WWW-Authenticate (407 with Proxy-Authenticate when `proxy`): the caller re-sends the INVITE with credentials. */
  challenge(server: DigestServer, options: {stale?: boolean; proxy?: boolean} = {}): boolean {
    const name = options.proxy === true ? 'Proxy-Authenticate' : 'WWW-Authenticate'
    return this.reject(options.proxy === true ? 407 : 401, {headers: server.challenges({stale: options.stale === true}).map((value) => [name, value] as const)})
  }

  /** @internal The UA matched a CANCEL to this INVITE and answered it 200. */
  cancelled(cancel: SipRequest): void {
    if (!this.open) return
    this.reliable?.stop()
    this.transaction.respond(buildResponse(this.core, this.request, 487, {toTag: this.localTag}))
    this.settle('cancelled')
    this.emit('cancelled', cancel, q850FromReason(cancel.headers.getAll('reason'))?.cause)
  }
}
