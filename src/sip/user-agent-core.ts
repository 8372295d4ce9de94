// What the pieces of the user agent (outgoing and incoming INVITEs, calls)
// share: the transaction layer, the dialog registry, and how our messages
// are dressed (Contact, User-Agent/Server, Allow). Internal to the UA.
import {formatReason} from './header-values.js'
import {generateTag} from './ids.js'
import {createResponseTo, type SipRequest, type SipResponse} from './message.js'
import type {Dialog} from './dialog.js'
import type {ReliableProvisionalMode} from './reliable-provisionals.js'
import type {SessionTimerSettings} from './session-timer.js'
import type {SipTransactionLayer} from './transaction/transaction-layer.js'
import type {SipTimerConfig} from './transaction/timers.js'
import {resolveSipTarget} from './transport/target.js'
import type {SipTargetResolver} from './transport/target-resolver.js'
import type {SipTarget, SipTransportLike, SipTransportProtocol} from './transport/types.js'
import {parseSipUri} from './uri.js'
import {headerEntries, type ExtraHeaders, type HangupOptions} from './user-agent-types.js'

/** Methods we implement (RFC 3261 §20.5 Allow): UPDATE (RFC 3311), PRACK (RFC 3262), REFER (RFC 3515) and its NOTIFY within dialogs. */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'PRACK', 'REFER', 'NOTIFY']

/** Methods we know but do not serve: 405 with Allow (§8.2.1); anything else unknown gets 501. */
export const KNOWN_UNSUPPORTED = new Set(['REGISTER', 'SUBSCRIBE', 'MESSAGE', 'PUBLISH'])

/** A registered dialog's owner: receives the in-dialog requests and ACKs the UA routes to it. */
export interface DialogUser {
  readonly dialog: Dialog
  receiveRequest(request: SipRequest, transaction: import('./transaction/types.js').ServerTransaction): void
  receiveAck(ack: SipRequest): void
  /** The UA is closing: stop timers, end quietly. */
  shutdown(): void
}

export interface UserAgentCore {
  readonly transactions: SipTransactionLayer
  readonly transport: SipTransportLike
  readonly timers: SipTimerConfig
  readonly product: string
  /** Session timers (RFC 4028); undefined when the UA does not use them. */
  readonly sessionTimers: SessionTimerSettings | undefined
  readonly reliableProvisionals: ReliableProvisionalMode
  /** Whether INVITEs with Replaces are taken (RFC 3891). */
  readonly replaces: boolean
  /** Where out-of-dialog requests go: the ordered targets of a URI (RFC 3263 with the daemon's resolver). */
  readonly resolver: SipTargetResolver
  /** A target that sends no response at all this long is left for the next one (0: Timer B/F only). */
  readonly targetTimeoutMs: number
  /** Our Contact on `transport`; `sips` asks for a sips: URI (TLS only); `user` replaces the default user part. */
  contactFor(transport: SipTransportProtocol, sips?: boolean, user?: string): string
  register(user: DialogUser): void
  lookup(key: string): DialogUser | undefined
  unregister(user: DialogUser): void
  /** Keeps an object to shut down on close(); returns the function that forgets it. */
  track(closable: {shutdown(): void}): () => void
}

/** The option tags we support (RFC 3261 §20.37), in the order our Supported headers list them. */
export const supportedTags = (core: Pick<UserAgentCore, 'sessionTimers' | 'reliableProvisionals'> & Partial<Pick<UserAgentCore, 'replaces'>>): string[] => [
  ...(core.reliableProvisionals === 'off' ? [] : ['100rel']),
  ...(core.replaces === true ? ['replaces'] : []),
  ...(core.sessionTimers === undefined ? [] : ['timer']),
]

/** `Supported: 100rel, timer` as a header entry, or nothing when we support no extension. */
export const supportedHeader = (core: Pick<UserAgentCore, 'sessionTimers' | 'reliableProvisionals'> & Partial<Pick<UserAgentCore, 'replaces'>>): Array<[string, string]> => {
  const tags = supportedTags(core)
  return tags.length === 0 ? [] : [['Supported', tags.join(', ')]]
}

/** Whether a message's Allow lists a method; a message without Allow says nothing, taken as no. */
export const allowsMethod = (message: {headers: {values(name: string): string[]}}, method: string): boolean =>
  message.headers.values('allow').some((value) => value.toUpperCase() === method)

/** Where in-dialog requests go: the first route or the remote target; TCP and TLS reuse the dialog's connection. */
export const dialogTarget = (dialog: Dialog): Promise<SipTarget> =>
  resolveSipTarget(parseSipUri(dialog.nextHopUri), dialog.transport, dialog.transport === 'udp' ? undefined : dialog.connectionId)

/** Whether a Request-URI (or the URI of a name-addr) is a sips: URI: its dialog then needs a sips: Contact. */
export const isSipsUri = (uri: string): boolean => /^(?:[^<]*<)?\s*sips:/i.test(uri)

/** A response to `request` with the headers a UAS adds: To tag, Contact, Record-Route (§12.1.1), Server. */
export const buildResponse = (
  core: UserAgentCore,
  request: SipRequest,
  status: number,
  options: {toTag?: string; contact?: boolean; transport?: SipTransportProtocol; body?: Buffer; contentType?: string; reason?: string; headers?: ExtraHeaders} = {},
): SipResponse => {
  // §8.2.6.2: a response other than 100 carries a To tag; createResponseTo keeps one already there.
  const toTag = options.toTag ?? (status > 100 ? generateTag() : undefined)
  const response = createResponseTo(request, status, {...(toTag === undefined ? {} : {toTag}), ...(options.reason === undefined ? {} : {reason: options.reason})})
  const dialogCreating = options.toTag !== undefined && request.method === 'INVITE' && status > 100 && status < 300
  if (dialogCreating) for (const value of request.headers.getAll('record-route')) response.headers.append('Record-Route', value)
  if (options.contact === true && options.transport !== undefined) response.headers.append('Contact', core.contactFor(options.transport, isSipsUri(request.uri)))
  if (core.product !== '') response.headers.append('Server', core.product)
  // §8.2.1: a 405 must list what we allow; 2xx to INVITE and OPTIONS say it too (§13.3.1.4, §11.2).
  const success = status >= 200 && status < 300
  if (status === 405 || (success && (request.method === 'INVITE' || request.method === 'OPTIONS' || request.method === 'UPDATE'))) {
    response.headers.append('Allow', ALLOWED_METHODS.join(', '))
  }
  // RFC 3261 §20.37: what we support goes with every 2xx to INVITE, OPTIONS and UPDATE, and with 18x to INVITE.
  if ((success || (status > 100 && status < 200 && request.method === 'INVITE')) && (request.method === 'INVITE' || request.method === 'OPTIONS' || request.method === 'UPDATE')) {
    for (const [name, value] of supportedHeader(core)) response.headers.append(name, value)
  }
  for (const [name, value] of headerEntries(options.headers)) response.headers.append(name, value)
  if (options.body !== undefined && options.body.length > 0) {
    response.headers.append('Content-Type', options.contentType ?? 'application/sdp')
    response.body = options.body
  }
  return response
}

/** `Reason: Q.850;cause=N[;text="..."]` (RFC 3326) as a header entry, when a cause is given. */
export const reasonHeader = (options: Pick<HangupOptions, 'q850Cause' | 'text'> | undefined): Array<[string, string]> =>
  options?.q850Cause === undefined ? [] : [['Reason', formatReason({protocol: 'Q.850', cause: options.q850Cause, text: options.text})]]

/** Request headers our UA adds to every request it originates. */
export const productHeader = (core: UserAgentCore): Array<[string, string]> => (core.product === '' ? [] : [['User-Agent', core.product]])
