// An outgoing call attempt (UAC, RFC 3261 §13.2): the INVITE, its
// provisional responses and post-dial delay, one Digest retry, CANCEL
// (§9.1: sent only after a provisional response; a 2xx that crosses it is
// ACKed and ended with BYE), and the call once a 2xx arrives.
import {EventEmitter} from 'node:events'
import {DigestClient} from './digest.js'
import {Dialog, credentialsOf} from './dialog.js'
import {formatCSeq} from './header-values.js'
import {SipHeaders} from './headers.js'
import {generateCallId, generateTag} from './ids.js'
import {createRequest, cseqOf, reasonPhrase, toOf, type SipRequest, type SipResponse} from './message.js'
import {formatNameAddr, parseNameAddr, tagOf} from './name-addr.js'
import {q850FromReason, sipStatusToQ850} from './q850.js'
import type {ClientTransaction} from './transaction/types.js'
import {transactionTimeout} from './transaction/timers.js'
import {parseHostPort, resolveHost, uriTransport} from './transport/target.js'
import {defaultSipPort, preciseNow, type SipTarget, type SipTransportProtocol} from './transport/types.js'
import {parseSipUri, parseUri} from './uri.js'
import {formatRAck, reliableRSeqOf} from './reliable-provisionals.js'
import {minSeOf422, uacRequestHeaders} from './session-timer.js'
import {SipCall} from './user-agent-call.js'
import {ALLOWED_METHODS, allowsMethod, dialogTarget, isSipsUri, productHeader, reasonHeader, supportedHeader, type UserAgentCore} from './user-agent-core.js'
import {sendWithFailover, type FailoverEvent} from './user-agent-failover.js'
import {failureStatus, reissued, sendRequest, type RequestOutcome} from './user-agent-request.js'
import {hangUpUnwanted2xx} from './user-agent-stray.js'
import {headerEntries, type HangupOptions, type InviteFailure, type InviteOptions, type InviteResult, type InviteTiming, type ProvisionalInfo} from './user-agent-types.js'

export interface OutgoingInviteEvents {
  /** The INVITE is being sent to the next target (RFC 3263 §4.3): the last one timed out, could not be reached or answered 503. */
  failover: [event: FailoverEvent]
  /** A 101-199 response (100 Trying is not reported). */
  provisional: [info: ProvisionalInfo]
  /** A 2xx: the dialog is established and our ACK is on its way. */
  answered: [call: SipCall]
  /** A final failure, a local timeout or transport error, or the end of a cancelled attempt. */
  failed: [failure: InviteFailure]
}

export type OutgoingInviteState = 'starting' | 'calling' | 'proceeding' | 'answered' | 'failed'

const asBuffer = (sdp: Buffer | string): Buffer => (typeof sdp === 'string' ? Buffer.from(sdp) : sdp)

/** Early dialogs (one per To tag of the 18x, RFC 3261 §12.1.2) tracked for PRACK; forks beyond this many are not PRACKed. */
const MAX_EARLY_DIALOGS = 16

interface EarlyState {
  dialog: Dialog | undefined
  /** The last RSeq we PRACKed (RFC 3262 §4: only the next one in order is PRACKed). */
  lastRseq: number | undefined
  /** The SDP of this fork's last 18x: the answer when the 2xx repeats none. */
  sdp: Buffer | undefined
}
export class OutgoingInvite extends EventEmitter<OutgoingInviteEvents> {
  readonly callId: string
  readonly localTag: string
  /** The transport of the target being tried (a NAPTR record may pick another for the next one), then of the call. */
  transport: SipTransportProtocol
  readonly timing: InviteTiming = {}
  /** How many targets the INVITE was sent to (failover, RFC 3263 §4.3). */
  targetsTried = 0
  /** Settles once with the call or the failure; never rejects. */
  readonly result: Promise<InviteResult>
  state: OutgoingInviteState = 'starting'
  /** The INVITE last sent (the authenticated retry after a challenge). */
  request: SipRequest
  call: SipCall | undefined
  private readonly sdp: Buffer
  private readonly digest: DigestClient | undefined
  private transaction: ClientTransaction | undefined
  private target: SipTarget | undefined
  private cancelRequest: HangupOptions | undefined
  private cancelSent = false
  private cancelTimer: NodeJS.Timeout | undefined
  private resolveResult!: (result: InviteResult) => void
  private readonly forget: () => void
  private readonly early = new Map<string, EarlyState>()
  /** PRACKs sent (RFC 3262 §4), for tests and logs. */
  pracksSent = 0

  constructor(private readonly core: UserAgentCore, private readonly options: InviteOptions) {
    super()
    this.result = new Promise((resolve) => (this.resolveResult = resolve))
    this.callId = options.callId ?? generateCallId()
    this.localTag = generateTag()
    this.sdp = asBuffer(options.sdp)
    this.digest = options.credentials === undefined ? undefined : new DigestClient(options.credentials)
    const uri = parseUri(options.requestUri)
    this.transport = options.transport ?? (uri.kind === 'sip' ? uriTransport(uri, 'udp') : 'udp')
    this.request = this.buildInvite()
    this.forget = core.track(this)
    void this.start()
  }

  /** INVITE sent → first 18x, in ms. */
  get pddMs(): number | undefined {
    const {inviteSentAt, firstProvisionalAt} = this.timing
    return inviteSentAt === undefined || firstProvisionalAt === undefined ? undefined : firstProvisionalAt - inviteSentAt
  }

  private buildInvite(): SipRequest {
    const from = parseNameAddr(this.options.from, 'From')
    from.params.set('tag', this.localTag)
    const to = parseNameAddr(this.options.to, 'To')
    const contact = this.options.contact ?? this.core.contactFor(this.transport, isSipsUri(this.options.requestUri))
    const headers = new SipHeaders([
      ['Max-Forwards', '70'],
      ['From', formatNameAddr(from)],
      ['To', formatNameAddr(to)],
      ['Call-ID', this.callId],
      ['CSeq', formatCSeq({seq: 1, method: 'INVITE'})],
      ['Contact', contact.includes('<') ? contact : `<${contact}>`],
      ['Allow', ALLOWED_METHODS.join(', ')],
      ...supportedHeader(this.core),
      // RFC 4028 §7.1: we ask for our interval and say the shortest we accept; the UAS picks the refresher.
      ...(this.core.sessionTimers === undefined ? [] : uacRequestHeaders(this.core.sessionTimers.expiresS, this.core.sessionTimers.minSeS)),
      ...productHeader(this.core),
      ...headerEntries(this.options.headers),
      ['Content-Type', 'application/sdp'],
    ])
    return createRequest('INVITE', this.options.requestUri, headers, this.sdp)
  }

  /** Where the INVITE may go, in order: the outbound proxy (`destination`), else the Request-URI through the UA's resolver (RFC 3263). */
  private targets(): AsyncIterable<SipTarget> {
    const destination = this.options.destination
    if (destination !== undefined) {
      const transport = this.transport
      return (async function* () {
        const {host, port} = parseHostPort(destination, defaultSipPort(transport))
        yield {transport, address: await resolveHost(host), port, hostname: host}
      })()
    }
    const uri = parseSipUri(this.options.requestUri)
    return this.core.resolver.targets(uri, {
      ...(this.options.transport === undefined ? {} : {transport: this.options.transport}),
      available: (transport) => this.core.transport.listenerFor(transport) !== undefined,
    })
  }

  private async start(): Promise<void> {
    const outcome = await sendWithFailover(this.core, this.targets(), {
      build: (target) => {
        // Each target gets the INVITE afresh: a new transaction, and a Contact of the target's transport.
        this.transport = target.transport
        this.target = target
        this.request = this.buildInvite()
        this.state = 'calling'
        this.timing.inviteSentAt ??= preciseNow()
        this.targetsTried++
        return this.request
      },
      targetTimeoutMs: this.core.targetTimeoutMs,
      proceed: () => this.cancelRequest === undefined && this.state !== 'failed',
      failover: (event) => this.emit('failover', event),
      digest: this.digest,
      provisional: (response) => this.onProvisional(response),
      later2xx: (response) => this.onAnotherAnswer(response),
      reissue: (response, current, seq) => this.reissueFor(response, current, seq),
      started: (transaction, request) => {
        this.transaction = transaction
        this.request = request
      },
    })
    if (outcome.kind === 'unresolved') return this.fail({status: 503, source: 'transport-error', error: outcome.error})
    if (outcome.kind === 'stopped') return this.fail({status: 487, source: 'cancel'})
    this.onFinal(outcome)
  }

  /** RFC 4028 §7.3: a 422 is answered once more with the Min-SE it names as both Session-Expires and Min-SE. */
  private reissueFor(response: SipResponse, current: SipRequest, seq: number): SipRequest | undefined {
    if (response.status !== 422 || this.core.sessionTimers === undefined) return undefined
    const asked = Number.parseInt(current.headers.get('session-expires') ?? '', 10)
    const minSe = minSeOf422(response.headers, Number.isNaN(asked) ? 0 : asked)
    if (minSe === undefined) return undefined
    return reissued(current, seq, uacRequestHeaders(minSe, minSe))
  }

  /**
   * RFC 3262 §4: a reliable 18x is PRACKed within its early dialog, once,
   * and only when its RSeq is the first of that dialog or the one after the
   * last; a retransmission or one out of order is not processed further.
   * False when the response is to be ignored.
   */
  private prackIfReliable(response: SipResponse): boolean {
    let rseq: number | undefined
    try {
      rseq = reliableRSeqOf(response.headers)
    } catch {
      // A Require: 100rel with a broken RSeq cannot be acknowledged: taken as an ordinary provisional.
      return true
    }
    const toTag = tagOf(toOf(response))
    if (toTag === undefined) return true
    let state = this.early.get(toTag)
    if (state === undefined) {
      if (this.early.size >= MAX_EARLY_DIALOGS) return rseq === undefined
      state = {dialog: undefined, lastRseq: undefined, sdp: undefined}
      this.early.set(toTag, state)
    }
    if (response.body.length > 0) state.sdp = response.body
    if (rseq === undefined) return true
    if (state.lastRseq !== undefined && rseq !== state.lastRseq + 1) return false
    state.lastRseq = rseq
    try {
      state.dialog ??= Dialog.asUac(this.request, response, {transport: this.transport, connectionId: this.transaction?.sent?.connectionId, localContact: this.request.headers.get('contact') ?? ''})
    } catch {
      return true
    }
    const dialog = state.dialog
    dialog.refreshTarget(response)
    const prack = dialog.createRequest('PRACK', {headers: [['RAck', formatRAck({rseq, cseq: cseqOf(this.request).seq, method: 'INVITE'})], ...productHeader(this.core)]})
    this.pracksSent++
    void dialogTarget(dialog)
      .then((target) => sendRequest(this.core, prack, target, {digest: this.digest, nextSeq: () => dialog.nextSequence()}))
      .catch(() => {})
    return true
  }

  private onProvisional(response: SipResponse): void {
    if (this.state !== 'calling' && this.state !== 'proceeding') return
    this.state = 'proceeding'
    if (response.status > 100 && !this.prackIfReliable(response)) return
    if (response.status > 100) {
      const first = this.timing.firstProvisionalAt === undefined
      if (first) this.timing.firstProvisionalAt = preciseNow()
      this.emit('provisional', {status: response.status, reason: response.reason, sdp: response.body.length > 0 ? response.body : undefined, pddMs: first ? this.pddMs : undefined, response})
    }
    // A cancel() that waited for this first provisional response (§9.1).
    if (this.cancelRequest !== undefined) this.sendCancel()
  }

  private onFinal(outcome: RequestOutcome): void {
    if (outcome.kind === 'failure') {
      return this.fail({status: failureStatus(outcome.failure), source: outcome.failure.kind, error: outcome.failure.kind === 'transport-error' ? outcome.failure.error : undefined})
    }
    const {response, request} = outcome
    if (response.status >= 300) return this.fail({status: response.status, source: 'response', response})
    if (this.state === 'failed' || this.cancelRequest !== undefined) {
      // The 2xx crossed our CANCEL (or came after we gave up on it): ACK, then BYE (§9.1, §15).
      hangUpUnwanted2xx(this.core, response, this.transport, this.transaction?.sent?.connectionId)
      return this.fail({status: 487, source: 'cancel'})
    }
    let dialog: Dialog
    try {
      dialog = Dialog.asUac(request, response, {transport: this.transport, connectionId: this.transaction?.sent?.connectionId, localContact: this.request.headers.get('contact') ?? ''})
    } catch (error) {
      // A 2xx without a To tag cannot make a dialog (§12.1.2): nothing to ACK or hang up in it.
      return this.fail({status: 502, source: 'response', response, error: error as Error})
    }
    const early = this.early.get(dialog.remoteTag)
    // The early dialog's PRACKs used CSeq numbers the confirmed dialog must not repeat.
    if (early?.dialog?.localSequence !== undefined) dialog.advanceLocalSequence(early.dialog.localSequence)
    // RFC 3262 §5: an answer already given in a reliable 18x need not come again in the 2xx.
    const remote = response.body.length > 0 ? response.body : early?.sdp
    const call = new SipCall(this.core, dialog, 'outbound', {local: this.sdp, remote}, this.digest)
    this.call = call
    call.peerAllowsUpdate = allowsMethod(response, 'UPDATE')
    call.sessionTimer?.accepted2xx(response, true)
    call.sendAck(cseqOf(request).seq, credentialsOf(request)).catch(() => {})
    this.state = 'answered'
    this.timing.answeredAt = this.timing.finalAt = call.timing.answeredAt
    this.finishAttempt()
    this.emit('answered', call)
    this.resolveResult({ok: true, call})
  }

  /** A 2xx after the first: a retransmission (same dialog, ACK again) or another fork (ACK and BYE). */
  private onAnotherAnswer(response: SipResponse): void {
    hangUpUnwanted2xx(this.core, response, this.transport, this.transaction?.sent?.connectionId)
  }

  /**
   * Cancels the attempt (§9.1). Before the INVITE went out (the target is
   * still being resolved) it is never sent; before any provisional response
   * the CANCEL waits for one; after a final response it does nothing (hang
   * up an answered call with `call.bye()`). Ends in `failed` with 487 and
   * `canceled: true`, whatever raced the CANCEL.
   */
  cancel(options: HangupOptions = {}): void {
    if (this.cancelRequest !== undefined || this.state === 'answered' || this.state === 'failed') return
    this.cancelRequest = options
    if (this.state === 'proceeding') this.sendCancel()
  }

  private sendCancel(): void {
    const target = this.transaction?.target ?? this.target
    if (this.cancelSent || target === undefined) return
    this.cancelSent = true
    const invite = this.request
    // §9.1: the INVITE's Request-URI, Call-ID, From, To, CSeq number, top Via and Route.
    const headers = new SipHeaders()
    headers.append('Via', invite.headers.get('via') ?? '')
    for (const route of invite.headers.getAll('route')) headers.append('Route', route)
    headers.append('Max-Forwards', '70')
    for (const name of ['From', 'To', 'Call-ID']) headers.append(name, invite.headers.get(name) ?? '')
    headers.append('CSeq', formatCSeq({seq: cseqOf(invite).seq, method: 'CANCEL'}))
    for (const [name, value] of [...productHeader(this.core), ...reasonHeader(this.cancelRequest)]) headers.append(name, value)
    void sendRequest(this.core, createRequest('CANCEL', invite.uri, headers), target)
    // §9.1: without a final response 64·T1 after the CANCEL, the INVITE transaction is given up.
    this.cancelTimer = setTimeout(() => {
      this.transaction?.terminate()
      this.fail({status: 487, source: 'cancel'})
    }, transactionTimeout(this.core.timers))
  }

  private fail(failure: {status: number; source: InviteFailure['source']; response?: SipResponse; error?: Error | undefined}): void {
    if (this.state === 'answered' || this.state === 'failed') return
    this.state = 'failed'
    this.timing.finalAt = preciseNow()
    this.finishAttempt()
    const response = failure.response
    const q850Cause = (response === undefined ? undefined : q850FromReason(response.headers.getAll('reason'))?.cause) ?? sipStatusToQ850(failure.status)
    const result: InviteFailure = {
      status: failure.status,
      reason: (response?.status === failure.status ? response.reason : undefined) ?? reasonPhrase(failure.status),
      q850Cause,
      canceled: this.cancelRequest !== undefined,
      source: failure.source,
      response,
      error: failure.error,
    }
    this.emit('failed', result)
    this.resolveResult({ok: false, failure: result})
  }

  private finishAttempt(): void {
    if (this.cancelTimer !== undefined) clearTimeout(this.cancelTimer)
    this.cancelTimer = undefined
    this.forget()
  }

  /** The UA is closing: the attempt ends as a transport failure. */
  shutdown(): void {
    this.transaction?.terminate()
    this.fail({status: 503, source: 'transport-error', error: new Error('user agent closed')})
  }
}
