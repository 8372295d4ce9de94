// An established call (both directions): one dialog (RFC 3261 §12) with
// its SDP, BYE in both directions (§15), re-INVITE in both directions
// (§14, user-agent-reinvite.ts), the UAS 2xx retransmission until ACK
// (§13.3.1.4), the ACK retransmission for a UAC (§13.2.2.4), and call
// transfer with REFER and NOTIFY both ways (user-agent-refer.ts).
import {EventEmitter} from 'node:events'
import type {DigestClient} from './digest.js'
import {Uas2xxRetransmitter} from './dialog-2xx-retransmitter.js'
import type {Dialog} from './dialog.js'
import {cseqOf, type SipRequest, type SipResponse} from './message.js'
import {q850FromReason} from './q850.js'
import {serializeSipMessage} from './serializer.js'
import type {ServerTransaction} from './transaction/types.js'
import {preciseNow, type SipTarget} from './transport/types.js'
import {buildResponse, dialogTarget, KNOWN_UNSUPPORTED, productHeader, reasonHeader, type DialogUser, type UserAgentCore} from './user-agent-core.js'
import {answerNotify, answerRefer, sendRefer, type IncomingRefer, type ReferOptions, type ReferOutcome, type ReferSubscription} from './user-agent-refer.js'
import {answerReinvite, sendReinvite} from './user-agent-reinvite.js'
import {failureStatus, sendRequest} from './user-agent-request.js'
import {SessionTimer, type SessionTimerHost} from './user-agent-session-timer.js'
import {headerEntries, type CallEnd, type ExtraHeaders, type HangupOptions, type ReinviteHandler, type ReinviteResult, type UpdateResult} from './user-agent-types.js'
import {answerUpdate, sendUpdate} from './user-agent-update.js'

export interface SipCallEvents {
  /** Inbound: the ACK for our 2xx arrived. */
  established: []
  /** The peer sent BYE (already answered 200); its Q.850 cause when it gave one. */
  bye: [request: SipRequest, q850Cause: number | undefined]
  /** The call is over, whoever ended it. */
  ended: [end: CallEnd]
  /** The peer's SDP changed: its offer (re-INVITE, UPDATE), or its answer to our offer (`answer`: the 2xx to our re-INVITE or UPDATE, the ACK of an offerless re-INVITE). */
  'remote-sdp': [sdp: Buffer, role: 'offer' | 'answer']
  /** An INFO within the dialog (e.g. DTMF relay), already answered 200. */
  info: [request: SipRequest]
}

export type SipCallState = 'confirming' | 'established' | 'ended'

/** Q.850 "recovery on timer expiry": the cause of the BYE that ends a session whose refresh never came (RFC 4028 §10). */
export const Q850_RECOVERY_ON_TIMER_EXPIRY = 102

/**
 * Offers and refreshes (re-INVITE and UPDATE) a peer may send in one
 * dialog per window; past that they get 500 with Retry-After (RFC 3311
 * §5.2), so an UPDATE storm cannot keep the media thread re-negotiating.
 */
export const IN_DIALOG_REQUEST_BUDGET = {requests: 10, windowMs: 10_000}

interface AwaitedAck {
  readonly seq: number
  readonly retransmitter: Uas2xxRetransmitter
  /** The ACK, or undefined when the call ended before it came. */
  readonly settle: (ack: SipRequest | undefined) => void
}

export class SipCall extends EventEmitter<SipCallEvents> implements DialogUser {
  state: SipCallState
  localSdp: Buffer
  remoteSdp: Buffer | undefined
  /** Answers changed re-INVITE offers; without one, our current SDP answers with the direction adjusted. */
  reinviteHandler: ReinviteHandler | undefined
  end: CallEnd | undefined
  readonly timing: {answeredAt: number; establishedAt?: number; endedAt?: number}
  /** Resolves when the call ends, however it ends; never rejects. */
  readonly ended: Promise<CallEnd>
  /** @internal re-INVITE bookkeeping (user-agent-reinvite.ts). */
  reinviteInProgress: 'incoming' | 'outgoing' | undefined
  /** @internal An UPDATE of ours carrying an offer is pending (RFC 3311 §5.1: one offer at a time). */
  updateOfferInProgress = false
  /** The session timer (RFC 4028), when the user agent uses them; `interval` is undefined while the session has none. */
  readonly sessionTimer: SessionTimer | undefined
  /** Whether the peer listed UPDATE in its Allow: our session refreshes then go as UPDATE without SDP. */
  peerAllowsUpdate = false
  /**
   * Decides about the peer's REFERs (RFC 3515): accept, then report the new
   * call's progress, or reject. Without one a REFER gets 603.
   */
  referHandler: ((refer: IncomingRefer) => void) | undefined
  /** @internal REFERs received so far (user-agent-refer.ts bounds them). */
  refersReceived = 0
  /** @internal The peer's REFER being decided or carried out. */
  incomingRefer: IncomingRefer | undefined
  /** @internal Our REFER waiting for its NOTIFYs. */
  outgoingRefer: ReferSubscription | undefined
  /** @internal Answers a PRACK that reaches the call after its 2xx (user-agent-reliable.ts); without it a PRACK gets 481. */
  prackHandler: ((request: SipRequest, transaction: ServerTransaction) => void) | undefined
  private budget = {windowStart: 0, count: 0}
  private awaited: AwaitedAck | undefined
  private lastAck: {ack: SipRequest; bytes: Buffer; target: SipTarget; seq: number} | undefined
  private pendingBye: HangupOptions | undefined
  private pendingByeCause: CallEnd['cause'] = 'bye'
  /** The BYE a pending bye() waited for, once sent. */
  private byeSent: Promise<{status: number}> | undefined
  private resolveEnded!: (end: CallEnd) => void
  private readonly forget: () => void

  constructor(
    /** @internal */ readonly core: UserAgentCore,
    readonly dialog: Dialog,
    readonly direction: 'inbound' | 'outbound',
    sdp: {local: Buffer; remote: Buffer | undefined},
    /** @internal */ readonly digest?: DigestClient,
  ) {
    super()
    this.state = direction === 'inbound' ? 'confirming' : 'established'
    this.localSdp = sdp.local
    this.remoteSdp = sdp.remote
    this.timing = {answeredAt: preciseNow()}
    if (direction === 'outbound') this.timing.establishedAt = this.timing.answeredAt
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve))
    const settings = core.sessionTimers
    if (settings !== undefined) {
      const host: SessionTimerHost = {
        settings,
        canRefresh: () => this.state === 'established' && this.reinviteInProgress === undefined && !this.awaitingAck,
        isEnded: () => this.state === 'ended',
        refreshByUpdate: () => this.peerAllowsUpdate,
        updateRefused: () => (this.peerAllowsUpdate = false),
        sendUpdateRefresh: (headers) => sendUpdate(this, undefined, headers),
        sendReinviteRefresh: (headers) => sendReinvite(this, this.localSdp, headers),
        expire: () => this.expireSession(),
      }
      this.sessionTimer = new SessionTimer(host)
    }
    core.register(this)
    this.forget = core.track(this)
  }

  /**
   * @internal One more re-INVITE or UPDATE from the peer: false when it is
   * over IN_DIALOG_REQUEST_BUDGET for the current window (the caller
   * answers 500 with Retry-After, the seconds this returns in `retryAfterS`).
   */
  spendBudget(): {ok: true} | {ok: false; retryAfterS: number} {
    const now = Date.now()
    if (now - this.budget.windowStart >= IN_DIALOG_REQUEST_BUDGET.windowMs) this.budget = {windowStart: now, count: 0}
    if (this.budget.count >= IN_DIALOG_REQUEST_BUDGET.requests) {
      return {ok: false, retryAfterS: Math.max(1, Math.ceil((this.budget.windowStart + IN_DIALOG_REQUEST_BUDGET.windowMs - now) / 1000))}
    }
    this.budget.count++
    return {ok: true}
  }

  /** RFC 4028 §10: the session expired unrefreshed; BYE with Q.850 cause 102. */
  private expireSession(): void {
    if (this.state === 'ended') return
    const options: HangupOptions = {q850Cause: Q850_RECOVERY_ON_TIMER_EXPIRY, text: 'session timer expired'}
    if (this.awaited !== undefined) {
      this.pendingBye = options
      this.pendingByeCause = 'session-expired'
      return
    }
    this.byeSent = this.sendBye(options, 'session-expired')
  }

  get callId(): string {
    return this.dialog.callId
  }

  /** @internal A 2xx of ours is still waiting for its ACK. */
  get awaitingAck(): boolean {
    return this.awaited !== undefined
  }

  /** Sends BYE (§15.1.1), with `Reason: Q.850;cause=N` when given. Resolves with the BYE's final status (408 on timeout). */
  async bye(options: HangupOptions = {}): Promise<{status: number}> {
    if (this.state === 'ended') return {status: 481}
    if (this.awaited !== undefined) {
      // §15: a UAS sends no BYE before the ACK; it goes once the ACK (or the give-up) comes.
      this.pendingBye = options
      await this.ended
      return (await this.byeSent) ?? {status: 481}
    }
    return this.sendBye(options, 'bye')
  }

  private async sendBye(options: HangupOptions, cause: CallEnd['cause']): Promise<{status: number}> {
    const request = this.dialog.createRequest('BYE', {headers: [...productHeader(this.core), ...reasonHeader(options), ...headerEntries(options.headers)]})
    this.finish({by: cause === 'bye' ? 'local' : 'stack', cause, q850Cause: options.q850Cause, request, at: preciseNow()}, false)
    try {
      const target = await dialogTarget(this.dialog)
      const outcome = await sendRequest(this.core, request, target, {digest: this.digest, nextSeq: () => this.dialog.nextSequence()})
      return {status: outcome.kind === 'response' ? outcome.response.status : failureStatus(outcome.failure)}
    } catch {
      return {status: 503}
    } finally {
      this.core.unregister(this)
    }
  }

  /** Sends a re-INVITE with a new offer (hold, unhold, address change); 491 when one is already in progress. */
  reinvite(sdp: Buffer | string, options: {headers?: ExtraHeaders} = {}): Promise<ReinviteResult> {
    return sendReinvite(this, typeof sdp === 'string' ? Buffer.from(sdp) : sdp, options.headers)
  }

  /** Sends an UPDATE (RFC 3311): with `sdp` a new offer (491 while another offer is pending), without it a session refresh. */
  update(sdp?: Buffer | string, options: {headers?: ExtraHeaders} = {}): Promise<UpdateResult> {
    return sendUpdate(this, sdp === undefined ? undefined : typeof sdp === 'string' ? Buffer.from(sdp) : sdp, options.headers)
  }

  /**
   * Asks the peer to call `target` (a sip:, sips: or tel: URI) in our place
   * (REFER, RFC 3515) and follows its NOTIFYs. Resolves once the new call
   * succeeded or failed, or the deadline passed; the call itself stays up
   * (send `bye()` after a success).
   */
  refer(target: string, options: ReferOptions = {}): Promise<ReferOutcome> {
    return sendRefer(this, target, options)
  }

  /**
   * @internal UAS side: retransmits `response` until its ACK arrives
   * (§13.3.1.4). Resolves with the ACK, or undefined when the call ended
   * first (a BYE crossed it); rejects when no ACK came within 64·T1.
   */
  awaitAck(response: SipResponse, transaction: ServerTransaction): Promise<SipRequest | undefined> {
    return new Promise((resolve, reject) => {
      const seq = cseqOf(response).seq
      const retransmitter = new Uas2xxRetransmitter(this.core.transport, response, transaction.context, this.core.timers, () => {
        this.awaited = undefined
        reject(new Error(`no ACK for the 2xx within ${64 * this.core.timers.t1} ms`))
        // §13.3.1.4: the dialog is confirmed, then ended with a BYE.
        if (this.state !== 'ended') this.byeSent = this.sendBye(this.pendingBye ?? {}, 'no-ack')
      })
      this.awaited = {seq, retransmitter, settle: resolve}
    })
  }

  receiveAck(ack: SipRequest): void {
    const awaited = this.awaited
    if (awaited === undefined || cseqOf(ack).seq !== awaited.seq) return
    awaited.retransmitter.stop()
    this.awaited = undefined
    if (this.state === 'confirming') {
      this.state = 'established'
      this.dialog.state = 'confirmed'
      this.timing.establishedAt = preciseNow()
      this.emit('established')
    }
    awaited.settle(ack)
    if (this.pendingBye !== undefined && this.state !== 'ended') this.byeSent = this.sendBye(this.pendingBye, this.pendingByeCause)
  }

  /** @internal UAC side: sends the ACK for the 2xx to our INVITE with CSeq `seq`, and keeps it for retransmitted 2xx. */
  async sendAck(seq: number, credentials: ReadonlyArray<readonly [string, string]> = []): Promise<void> {
    const ack = this.dialog.createAck(seq, {credentials, headers: productHeader(this.core)})
    const target = await dialogTarget(this.dialog)
    this.core.transactions.addVia(ack, target)
    const bytes = serializeSipMessage(ack)
    this.lastAck = {ack, bytes, target, seq}
    await this.core.transactions.sendAck(ack, target, bytes)
  }

  /** @internal A 2xx came again (our ACK was lost): the same ACK goes again. */
  resendAck(response: SipResponse): void {
    const last = this.lastAck
    if (last === undefined || last.seq !== cseqOf(response).seq) return
    this.core.transactions.sendAck(last.ack, last.target, last.bytes).catch(() => {})
  }

  receiveRequest(request: SipRequest, transaction: ServerTransaction): void {
    const respond = (status: number, extra: {headers?: Array<[string, string]>; reason?: string} = {}): void => transaction.respond(buildResponse(this.core, request, status, extra))
    if (this.state === 'ended' && request.method !== 'BYE') return respond(481)
    if (!this.dialog.acceptRemoteSequence(request)) return respond(500, {reason: 'CSeq Out Of Order'})
    switch (request.method) {
      case 'BYE': {
        respond(200)
        if (this.state === 'ended') return
        const q850Cause = q850FromReason(request.headers.getAll('reason'))?.cause
        this.finish({by: 'remote', cause: 'bye', q850Cause, request, at: preciseNow()}, true)
        this.emit('bye', request, q850Cause)
        return
      }
      case 'INVITE':
        return answerReinvite(this, request, transaction)
      case 'UPDATE':
        return answerUpdate(this, request, transaction)
      case 'PRACK':
        if (this.prackHandler !== undefined) return this.prackHandler(request, transaction)
        return respond(481)
      case 'OPTIONS':
        return respond(200)
      case 'INFO':
        respond(200)
        this.emit('info', request)
        return
      case 'REFER':
        return answerRefer(this, request, transaction)
      case 'NOTIFY':
        return answerNotify(this, request, transaction)
      default:
        return respond(KNOWN_UNSUPPORTED.has(request.method) ? 405 : 501)
    }
  }

  /** @internal Ends the call once: stops timers, emits `ended`; `unregister` now unless a BYE of ours is still in flight. */
  finish(end: CallEnd, unregister: boolean): void {
    if (this.state === 'ended') return
    this.state = 'ended'
    this.dialog.state = 'terminated'
    this.end = end
    this.timing.endedAt = end.at
    this.sessionTimer?.stop()
    const awaited = this.awaited
    this.awaited = undefined
    awaited?.retransmitter.stop()
    awaited?.settle(undefined)
    this.forget()
    this.incomingRefer?.abandon()
    this.outgoingRefer?.settle({ok: false, stage: 'ended', status: 481, reason: 'Call Ended'})
    if (unregister) this.core.unregister(this)
    this.resolveEnded(end)
    this.emit('ended', end)
  }

  shutdown(): void {
    this.finish({by: 'stack', cause: 'closed', at: preciseNow()}, true)
  }
}
