// A SIP dialog (RFC 3261 §12): its identity (Call-ID, local and remote
// tags), sequence numbers, remote target and route set, created from the
// request and response that establish it (§12.1.1 UAS, §12.1.2 UAC), and
// the requests sent within it (§12.2.1.1), the ACK for a 2xx included
// (§13.2.2.4).
import {randomInt} from 'node:crypto'
import {DEFAULT_MAX_FORWARDS, formatCSeq} from './header-values.js'
import {SipHeaders} from './headers.js'
import {callIdOf, contactOf, createRequest, cseqOf, fromOf, toOf, type SipMessage, type SipRequest, type SipResponse} from './message.js'
import {formatNameAddr, parseNameAddr, tagOf} from './name-addr.js'
import {formatUri, type SipUri} from './uri.js'
import type {SipTransportProtocol} from './transport/types.js'

export type DialogState = 'early' | 'confirmed' | 'terminated'

export interface DialogId {
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
}

/** Call-ID and both tags, the dialog's identity (§12). */
export const dialogKey = (callId: string, localTag: string, remoteTag: string): string => `${callId}\n${localTag}\n${remoteTag}`

/** The key of the dialog an incoming request belongs to: our tag is in To, the peer's in From. */
export const dialogKeyOfRequest = (request: SipRequest): string | undefined => {
  const localTag = tagOf(toOf(request))
  const remoteTag = tagOf(fromOf(request))
  return localTag === undefined ? undefined : dialogKey(callIdOf(request), localTag, remoteTag ?? '')
}

/** The key of the dialog a response to our request belongs to: our tag is in From, the peer's in To. */
export const dialogKeyOfResponse = (response: SipResponse): string | undefined => {
  const localTag = tagOf(fromOf(response))
  const remoteTag = tagOf(toOf(response))
  return localTag === undefined || remoteTag === undefined ? undefined : dialogKey(callIdOf(response), localTag, remoteTag)
}

/** The Authorization and Proxy-Authorization headers of a request, which its ACK repeats (§13.2.2.4). */
export const credentialsOf = (request: SipRequest): Array<readonly [string, string]> =>
  ['Authorization', 'Proxy-Authorization'].flatMap((name) => request.headers.getAll(name).map((value) => [name, value] as const))

/** The first Contact URI of a message, as written; undefined when absent or `*`. */
export const contactUriOf = (message: SipMessage): string | undefined => {
  const contact = contactOf(message)
  const first = contact?.star === false ? contact.addresses[0] : undefined
  return first === undefined ? undefined : formatUri(first.uri)
}

const CONTACT_METHODS = new Set(['INVITE', 'UPDATE', 'REFER', 'NOTIFY', 'SUBSCRIBE'])

// §19.1.1: parameters a Request-URI built from a strict route must not carry.
const NOT_IN_REQUEST_URI = ['method', 'ttl', 'maddr', 'lr']

export interface DialogInit {
  readonly role: 'uac' | 'uas'
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
  /** Our From value in requests we send, tag included. */
  readonly localAddress: string
  /** Our To value in requests we send, tag included. */
  readonly remoteAddress: string
  readonly localSeq: number | undefined
  readonly remoteSeq: number | undefined
  readonly remoteTarget: string
  /** Route header values, in the order our requests carry them. */
  readonly routeSet: readonly string[]
  readonly localContact: string
  readonly transport: SipTransportProtocol
  readonly connectionId?: number | undefined
  readonly state: DialogState
}

export class Dialog implements DialogId {
  readonly role: 'uac' | 'uas'
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
  readonly key: string
  readonly localAddress: string
  readonly remoteAddress: string
  state: DialogState
  remoteTarget: string
  readonly routeSet: readonly string[]
  localContact: string
  readonly transport: SipTransportProtocol
  /** The TCP connection the dialog was set up on; in-dialog requests use it while it is open. */
  connectionId: number | undefined
  private localSeq: number | undefined
  remoteSeq: number | undefined

  constructor(init: DialogInit) {
    this.role = init.role
    this.callId = init.callId
    this.localTag = init.localTag
    this.remoteTag = init.remoteTag
    this.key = dialogKey(init.callId, init.localTag, init.remoteTag)
    this.localAddress = init.localAddress
    this.remoteAddress = init.remoteAddress
    this.localSeq = init.localSeq
    this.remoteSeq = init.remoteSeq
    this.remoteTarget = init.remoteTarget
    this.routeSet = init.routeSet
    this.localContact = init.localContact
    this.transport = init.transport
    this.connectionId = init.connectionId
    this.state = init.state
  }

  /**
   * §12.1.2: a UAC dialog from our INVITE and a 2xx (confirmed) or a 1xx
   * with a To tag (early). The route set is the Record-Route reversed.
   */
  static asUac(invite: SipRequest, response: SipResponse, options: {transport: SipTransportProtocol; connectionId?: number | undefined; localContact: string}): Dialog {
    const remoteTag = tagOf(toOf(response))
    const localTag = tagOf(fromOf(invite))
    if (remoteTag === undefined || localTag === undefined) throw new TypeError('a dialog needs tags on both sides')
    return new Dialog({
      role: 'uac',
      callId: callIdOf(invite),
      localTag,
      remoteTag,
      localAddress: invite.headers.get('from') ?? '',
      remoteAddress: response.headers.get('to') ?? '',
      localSeq: cseqOf(invite).seq,
      remoteSeq: undefined,
      // A 2xx without Contact is broken; the Request-URI is the best guess left.
      remoteTarget: contactUriOf(response) ?? invite.uri,
      routeSet: response.headers.values('record-route').reverse(),
      localContact: options.localContact,
      transport: options.transport,
      connectionId: options.connectionId,
      state: response.status >= 200 ? 'confirmed' : 'early',
    })
  }

  /** §12.1.1: a UAS dialog from a received INVITE and the To tag we chose. The route set is the Record-Route as received. */
  static asUas(invite: SipRequest, localTag: string, options: {transport: SipTransportProtocol; connectionId?: number | undefined; localContact: string}): Dialog {
    const to = toOf(invite)
    to.params.set('tag', localTag)
    return new Dialog({
      role: 'uas',
      callId: callIdOf(invite),
      localTag,
      remoteTag: tagOf(fromOf(invite)) ?? '',
      localAddress: formatNameAddr(to),
      remoteAddress: invite.headers.get('from') ?? '',
      localSeq: undefined,
      remoteSeq: cseqOf(invite).seq,
      remoteTarget: contactUriOf(invite) ?? invite.uri,
      routeSet: invite.headers.values('record-route'),
      localContact: options.localContact,
      transport: options.transport,
      connectionId: options.connectionId,
      state: 'early',
    })
  }

  get localSequence(): number | undefined {
    return this.localSeq
  }

  /** The next local CSeq number (§12.2.1.1); a UAS starts anywhere below 2^31 (§8.1.1.5). */
  nextSequence(): number {
    this.localSeq = this.localSeq === undefined ? randomInt(1, 2 ** 20) : this.localSeq + 1
    return this.localSeq
  }

  /** Moves the local CSeq number up to `seq` when it is below (requests of an early dialog used numbers the confirmed one continues from). */
  advanceLocalSequence(seq: number): void {
    if (this.localSeq === undefined || this.localSeq < seq) this.localSeq = seq
  }

  /** The URI the next hop is taken from: the first route, else the remote target (§12.2.1.1, §8.1.2). */
  get nextHopUri(): string {
    const first = this.routeSet[0]
    return first === undefined ? this.remoteTarget : formatUri(parseNameAddr(first, 'Route').uri)
  }

  /** Request-URI and Route headers per §12.2.1.1, loose and strict routing. */
  private routing(): {uri: string; routes: string[]} {
    const first = this.routeSet[0]
    if (first === undefined) return {uri: this.remoteTarget, routes: []}
    const firstUri = parseNameAddr(first, 'Route').uri
    if (firstUri.kind === 'sip' && firstUri.params.has('lr')) return {uri: this.remoteTarget, routes: [...this.routeSet]}
    // Strict router: it becomes the Request-URI, the remote target the last Route.
    const uri = firstUri.kind === 'sip' ? stripParams(firstUri) : formatUri(firstUri)
    return {uri, routes: [...this.routeSet.slice(1), `<${this.remoteTarget}>`]}
  }

  /** A request within the dialog. CSeq: the next local number, or `cseq` when given (ACK). */
  createRequest(method: string, options: {cseq?: number; body?: Buffer; contentType?: string; headers?: Iterable<readonly [string, string]>} = {}): SipRequest {
    const {uri, routes} = this.routing()
    const seq = options.cseq ?? this.nextSequence()
    const headers = new SipHeaders()
    for (const route of routes) headers.append('Route', route)
    headers.append('Max-Forwards', String(DEFAULT_MAX_FORWARDS))
    headers.append('From', this.localAddress)
    headers.append('To', this.remoteAddress)
    headers.append('Call-ID', this.callId)
    headers.append('CSeq', formatCSeq({seq, method}))
    // Target-refresh requests carry our Contact (§12.2.1.1); so do REFER and NOTIFY (RFC 3515 §2.4.1, RFC 6665 §8.2).
    if (CONTACT_METHODS.has(method)) headers.append('Contact', this.localContact)
    for (const [name, value] of options.headers ?? []) headers.append(name, value)
    const body = options.body ?? Buffer.alloc(0)
    if (body.length > 0) headers.append('Content-Type', options.contentType ?? 'application/sdp')
    return createRequest(method, uri, headers, body)
  }

  /**
   * The ACK for a 2xx to our INVITE with CSeq `seq` (§13.2.2.4): in-dialog
   * routing, the INVITE's CSeq number, and the INVITE's credentials.
   */
  createAck(seq: number, options: {credentials?: ReadonlyArray<readonly [string, string]>; headers?: ReadonlyArray<readonly [string, string]>; body?: Buffer} = {}): SipRequest {
    const ack = this.createRequest('ACK', {cseq: seq, headers: [...(options.credentials ?? []), ...(options.headers ?? [])], ...(options.body === undefined ? {} : {body: options.body})})
    return ack
  }

  /**
   * §12.2.2: a request with a CSeq below the last one is out of order (the
   * caller answers 500); otherwise the remote number advances.
   */
  acceptRemoteSequence(request: SipRequest): boolean {
    if (request.method === 'ACK' || request.method === 'CANCEL') return true
    const seq = cseqOf(request).seq
    if (this.remoteSeq !== undefined && seq < this.remoteSeq) return false
    this.remoteSeq = seq
    return true
  }

  /** A target refresh (re-INVITE or its 2xx) replaces the remote target with its Contact (§12.2). */
  refreshTarget(message: SipMessage): void {
    const contact = contactUriOf(message)
    if (contact !== undefined) this.remoteTarget = contact
  }
}

const stripParams = (uri: SipUri): string => {
  const copy: SipUri = {...uri, params: uri.params.clone(), headers: []}
  for (const name of NOT_IN_REQUEST_URI) copy.params.delete(name)
  return formatUri(copy)
}
