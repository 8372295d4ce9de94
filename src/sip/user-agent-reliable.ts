// Reliable provisional responses (RFC 3262) as a UAS: each 18x carries
// Require: 100rel and the next RSeq, goes again at T1, 2·T1, 4·T1... until
// its PRACK arrives, and after 64·T1 without one the INVITE is refused with
// a 5xx (§3). One is outstanding at a time: later ones wait their turn. The
// 2xx waits while an unacknowledged one carries SDP. PRACKs reach us within
// the early dialog (EarlyDialog below, registered with the UA while the
// INVITE is unanswered) or, after the 2xx, within the call.
import {syntaxError} from './errors.js'
import type {Dialog} from './dialog.js'
import type {SipRequest, SipResponse} from './message.js'
import {cseqOf} from './message.js'
import {firstRSeq, parseRAck, type RAck} from './reliable-provisionals.js'
import type {ServerTransaction} from './transaction/types.js'
import {transactionTimeout} from './transaction/timers.js'
import {buildResponse, KNOWN_UNSUPPORTED, type DialogUser, type UserAgentCore} from './user-agent-core.js'

/** Reliable provisionals waiting behind the outstanding one; the application sends them (ring), so this only guards against a runaway loop. */
export const MAX_QUEUED_PROVISIONALS = 8

interface Outstanding {
  readonly response: SipResponse
  readonly rseq: number
  readonly sdp: boolean
  readonly startedAt: number
  timer: NodeJS.Timeout | undefined
}

export class ReliableProvisionalSender {
  private nextRseq = firstRSeq()
  private outstanding: Outstanding | undefined
  private readonly queue: SipResponse[] = []
  /** RSeqs sent and not acknowledged (the outstanding one included): a PRACK for one of them after the 2xx still gets 200. */
  private readonly unacknowledged = new Set<number>()
  private waiters: Array<{resolve: () => void; reject: (error: Error) => void}> = []
  private stopped = false
  /** Reliable provisionals sent (retransmissions not counted) and PRACKs matched, for tests and logs. */
  readonly counts = {sent: 0, retransmissions: 0, acknowledged: 0}
  /** Whether a reliable provisional carrying SDP (our answer) was acknowledged: the 2xx then needs none (RFC 3261 §13.2.1). */
  answerAcknowledged = false

  constructor(
    private readonly core: UserAgentCore,
    private readonly transaction: ServerTransaction,
    /** No PRACK within 64·T1 (§3): the INVITE is to be refused. */
    private readonly giveUp: () => void,
  ) {}

  private get inviteCseq(): number {
    return cseqOf(this.transaction.request).seq
  }

  /** Sends (or queues behind the outstanding one) a provisional, adding Require: 100rel and RSeq. */
  send(response: SipResponse): boolean {
    if (this.stopped) return false
    if (this.outstanding !== undefined) {
      if (this.queue.length >= MAX_QUEUED_PROVISIONALS) return false
      this.queue.push(response)
      return true
    }
    const rseq = this.nextRseq++
    response.headers.append('Require', '100rel')
    response.headers.append('RSeq', String(rseq))
    const outstanding: Outstanding = {response, rseq, sdp: response.body.length > 0, startedAt: Date.now(), timer: undefined}
    this.outstanding = outstanding
    this.unacknowledged.add(rseq)
    this.counts.sent++
    this.transaction.respond(response)
    this.schedule(outstanding, this.core.timers.t1)
    return true
  }

  private schedule(outstanding: Outstanding, interval: number): void {
    const remaining = transactionTimeout(this.core.timers) - (Date.now() - outstanding.startedAt)
    if (remaining <= 0) {
      this.stop(new Error(`no PRACK within ${transactionTimeout(this.core.timers)} ms`))
      this.giveUp()
      return
    }
    outstanding.timer = setTimeout(() => {
      if (this.outstanding !== outstanding) return
      if (Date.now() - outstanding.startedAt >= transactionTimeout(this.core.timers)) return this.schedule(outstanding, 0)
      this.counts.retransmissions++
      this.transaction.respond(outstanding.response)
      // §3: the interval starts at T1 and doubles, with no T2 cap.
      this.schedule(outstanding, interval * 2)
    }, Math.min(interval, remaining))
  }

  /** Whether the 2xx must wait: a reliable provisional with SDP is outstanding or queued (§3). */
  get sdpUnacknowledged(): boolean {
    return this.outstanding?.sdp === true || this.queue.some((response) => response.body.length > 0)
  }

  /** Resolves once no reliable provisional with SDP is unacknowledged; rejects when the attempt ends first. */
  sdpAcknowledged(): Promise<void> {
    if (!this.sdpUnacknowledged) return Promise.resolve()
    if (this.stopped) return Promise.reject(new Error('the INVITE is over'))
    return new Promise((resolve, reject) => this.waiters.push({resolve, reject}))
  }

  /** A PRACK (§3): 200 when its RAck names an unacknowledged reliable provisional of ours, 481 otherwise, 400 when malformed. */
  receivePrack(request: SipRequest, transaction: ServerTransaction): void {
    const respond = (status: number, reason?: string): void => transaction.respond(buildResponse(this.core, request, status, reason === undefined ? {} : {reason}))
    let rack: RAck
    try {
      const values = request.headers.getAll('rack')
      if (values.length !== 1) throw syntaxError(values.length === 0 ? 'PRACK without RAck' : 'more than one RAck')
      rack = parseRAck(values[0] as string)
    } catch {
      return respond(400, 'Bad RAck')
    }
    if (rack.method.toUpperCase() !== 'INVITE' || rack.cseq !== this.inviteCseq || !this.unacknowledged.has(rack.rseq)) return respond(481)
    // An offer in a PRACK (§5) is not taken: the INVITE carried the offer, our provisional the answer.
    if (request.body.length > 0) return respond(488)
    respond(200)
    this.acknowledge(rack.rseq)
  }

  private acknowledge(rseq: number): void {
    this.unacknowledged.delete(rseq)
    this.counts.acknowledged++
    const outstanding = this.outstanding
    if (outstanding?.rseq !== rseq) return
    if (outstanding.timer !== undefined) clearTimeout(outstanding.timer)
    this.outstanding = undefined
    if (outstanding.sdp) this.answerAcknowledged = true
    const next = this.queue.shift()
    if (next !== undefined && !this.stopped) this.send(next)
    if (!this.sdpUnacknowledged) {
      const waiters = this.waiters
      this.waiters = []
      for (const waiter of waiters) waiter.resolve()
    }
  }

  /** The final response went (or the attempt ended): no more retransmissions; waiters are refused when `error` is given. */
  stop(error?: Error): void {
    if (this.stopped) return
    this.stopped = true
    if (this.outstanding?.timer !== undefined) clearTimeout(this.outstanding.timer)
    this.queue.length = 0
    const waiters = this.waiters
    this.waiters = []
    for (const waiter of waiters) waiter.reject(error ?? new Error('the INVITE is over'))
  }

  /** After the 2xx, a PRACK for a provisional still unacknowledged gets 200 (its retransmissions stopped with the 2xx). */
  receiveLatePrack(request: SipRequest, transaction: ServerTransaction): void {
    this.receivePrack(request, transaction)
  }
}

/** What the early dialog hands back to its INVITE. */
export interface EarlyDialogOwner {
  readonly reliable: ReliableProvisionalSender
  /** A BYE in the early dialog (RFC 3261 §15.1.2): 200 went to it; the INVITE is to be ended with 487. */
  byeBeforeAnswer(request: SipRequest): void
}

/**
 * The UAS side of an early dialog (RFC 3261 §12.1.1, a 1xx with our To
 * tag): registered with the UA while the INVITE is unanswered so that the
 * caller's PRACKs (and UPDATEs, BYE) reach the attempt. UPDATE without a
 * body gets 200; an UPDATE offer before the answer is refused with 488.
 */
export class EarlyDialog implements DialogUser {
  constructor(
    private readonly core: UserAgentCore,
    readonly dialog: Dialog,
    private readonly owner: EarlyDialogOwner,
  ) {}

  receiveRequest(request: SipRequest, transaction: ServerTransaction): void {
    const respond = (status: number, contact = false): void => transaction.respond(buildResponse(this.core, request, status, contact ? {contact: true, transport: this.dialog.transport} : {}))
    if (!this.dialog.acceptRemoteSequence(request)) return transaction.respond(buildResponse(this.core, request, 500, {reason: 'CSeq Out Of Order'}))
    switch (request.method) {
      case 'PRACK':
        return this.owner.reliable.receivePrack(request, transaction)
      case 'UPDATE':
        if (request.body.length > 0) return respond(488)
        this.dialog.refreshTarget(request)
        return respond(200, true)
      case 'BYE':
        respond(200)
        return this.owner.byeBeforeAnswer(request)
      case 'INFO':
      case 'OPTIONS':
        return respond(200)
      case 'INVITE':
        // No re-INVITE before the dialog is confirmed (RFC 3261 §14.1).
        return respond(491)
      default:
        return respond(KNOWN_UNSUPPORTED.has(request.method) ? 405 : 501)
    }
  }

  receiveAck(): void {}

  shutdown(): void {
    this.owner.reliable.stop()
  }
}
