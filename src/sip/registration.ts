// Outbound registration (RFC 3261 §10.2): one binding of our Contact at a
// registrar, kept alive. REGISTER with one Digest retry per request
// (user-agent-request.ts), the same Call-ID and increasing CSeq for the
// binding's lifetime (§10.2.4), a refresh before it expires, a 423's
// Min-Expires taken once (§10.2.8), exponential backoff with jitter after a
// failure (at least any Retry-After, capped), and REGISTER with Expires: 0 to
// remove the binding on stop (§10.2.2).
import {EventEmitter} from 'node:events'
import {DigestClient, DigestError} from './digest.js'
import {parseDigestChallenge} from './digest-header.js'
import {formatCSeq, parseContact} from './header-values.js'
import {SipHeaders} from './headers.js'
import {generateCallId, generateTag} from './ids.js'
import {createRequest, type SipRequest, type SipResponse} from './message.js'
import {firstTargetOf} from './out-of-dialog-target.js'
import type {SipTarget, SipTransportProtocol} from './transport/types.js'
import {formatUri, parseSipUri, type SipUri} from './uri.js'
import {isSipsUri, productHeader, type UserAgentCore} from './user-agent-core.js'
import {sendRequest, type RequestOutcome} from './user-agent-request.js'
import type {Credentials} from './user-agent-types.js'

/** The longest binding we ask for, whatever a 423 asks (a day): a registrar demanding more is refused. */
export const MAX_REGISTRATION_EXPIRES_S = 86_400
/** A Retry-After longer than this is read as this (a hostile registrar cannot park us for a year; retry_max_s caps it further). */
const MAX_RETRY_AFTER_S = 86_400

export type RegistrationState = 'registering' | 'registered' | 'failed' | 'unregistered'

export interface RegistrationOptions {
  /** The REGISTER Request-URI; its host, port and transport say where it goes. */
  readonly registrar: string
  /** The address-of-record: To and From. */
  readonly aor: string
  /** The user part of the Contact we bind. */
  readonly contactUser: string
  readonly credentials: Credentials
  /** Answer only challenges of this realm. */
  readonly realm?: string | undefined
  readonly expiresS: number
  readonly retryMinS: number
  readonly retryMaxS: number
  /** Random in [0, 1): the backoff's jitter; Math.random unless a test fixes it. */
  readonly random?: () => number
}

export interface RegistrationStatus {
  readonly state: RegistrationState
  /** The registrar as configured. */
  readonly registrar: string
  readonly aor: string
  /** The Contact last sent (or to be sent). */
  readonly contact: string | null
  /** When the binding ends (epoch ms) while registered; null otherwise. */
  readonly expiresAt: number | null
  /** The interval the registrar granted last; null before a success. */
  readonly grantedS: number | null
  /** When the last successful REGISTER was answered (epoch ms). */
  readonly registeredAt: number | null
  /** When the next REGISTER goes out (a refresh or a retry), epoch ms; null while one is in flight or after stop. */
  readonly nextAttemptAt: number | null
  /** Failed attempts since the last success. */
  readonly failures: number
  readonly lastError: {readonly at: number; readonly message: string; readonly status: number | null} | null
  /** Where the last REGISTER was sent: `udp:127.0.0.1:5060`. */
  readonly sentTo: string | null
}

export interface RegistrationEvents {
  /** Every change of state, with the status after it. */
  state: [status: RegistrationStatus]
}

/** When to refresh a binding granted for `grantedS`: at the later of half of it and a minute before it ends. */
export const refreshDelayS = (grantedS: number): number => Math.max(grantedS / 2, grantedS - 60)

/** The wait after the `failures`-th failure in a row: doubling from min to max, shortened by up to half at random, never below a Retry-After (itself capped by max). */
export const backoffDelayS = (failures: number, options: {retryMinS: number; retryMaxS: number; retryAfterS?: number | undefined; random: number}): number => {
  const ceiling = Math.min(options.retryMaxS, options.retryMinS * 2 ** Math.min(30, Math.max(0, failures - 1)))
  const jittered = ceiling * (0.5 + options.random / 2)
  const floor = options.retryAfterS === undefined ? 0 : Math.min(options.retryAfterS, options.retryMaxS)
  return Math.max(jittered, floor, Math.min(1, options.retryMinS))
}

/** A Retry-After's seconds (RFC 3261 §20.33: delta-seconds, maybe a comment and params), undefined when absent or malformed. */
export const retryAfterOf = (response: SipResponse): number | undefined => {
  const match = /^\s*(\d{1,10})/.exec(response.headers.get('retry-after') ?? '')
  return match?.[1] === undefined ? undefined : Math.min(MAX_RETRY_AFTER_S, Number(match[1]))
}

/** The interval a 2xx granted our contact: its Contact's expires param, else the Expires header, else what we asked (§10.2.4). */
export const grantedExpiresOf = (response: SipResponse, ours: SipUri, asked: number): number => {
  for (const value of response.headers.getAll('contact')) {
    let parsed
    try {
      parsed = parseContact(value)
    } catch {
      continue
    }
    if (parsed.star) continue
    for (const address of parsed.addresses) {
      if (address.uri.kind !== 'sip' || !sameContact(address.uri, ours)) continue
      const expires = Number.parseInt(address.params.get('expires') ?? '', 10)
      if (Number.isFinite(expires) && expires >= 0) return expires
    }
  }
  const header = Number.parseInt(response.headers.get('expires') ?? '', 10)
  return Number.isFinite(header) && header >= 0 ? header : asked
}

const sameContact = (a: SipUri, b: SipUri): boolean => a.user === b.user && a.host.toLowerCase() === b.host.toLowerCase() && (a.port ?? 5060) === (b.port ?? 5060)

/** A Digest client that answers only challenges of one realm (credentials are not handed to whoever asks). */
class RealmDigestClient extends DigestClient {
  constructor(credentials: Credentials, private readonly realm: string | undefined) {
    super(credentials)
  }

  override authorize(challenge: Parameters<DigestClient['authorize']>[0], request: Parameters<DigestClient['authorize']>[1]): string {
    const parsed = typeof challenge === 'string' ? parseDigestChallenge(challenge) : challenge
    if (this.realm !== undefined && parsed.realm !== this.realm) throw new DigestError(`challenge for realm ${parsed.realm}, configured ${this.realm}`)
    return super.authorize(parsed, request)
  }
}

/** Why a final response (or its absence) failed a registration, in words for `trunks status`. */
const describeFailure = (outcome: RequestOutcome, realm: string | undefined): {message: string; status: number | null} => {
  if (outcome.kind === 'failure') {
    const {failure} = outcome
    return failure.kind === 'timeout' ? {message: 'no answer from the registrar (timeout)', status: null} : {message: `cannot reach the registrar: ${failure.error.message}`, status: null}
  }
  const {response, request} = outcome
  const line = `${response.status} ${response.reason}`
  if (response.status === 401 || response.status === 407) {
    const challenges = response.headers.getAll(response.status === 401 ? 'www-authenticate' : 'proxy-authenticate')
    const sentCredentials = request.headers.has(response.status === 401 ? 'authorization' : 'proxy-authorization')
    if (sentCredentials) return {message: `${line}: the registrar refused the credentials`, status: response.status}
    const realms: string[] = []
    for (const value of challenges) {
      try {
        realms.push(parseDigestChallenge(value).realm)
      } catch {
        // Unreadable: said below.
      }
    }
    if (realms.length === 0) return {message: `${line} without a usable Digest challenge`, status: response.status}
    if (realm !== undefined && !realms.includes(realm)) return {message: `${line}: challenge for realm ${realms.join(', ')}, configured ${realm}`, status: response.status}
    return {message: `${line} with a challenge we cannot answer`, status: response.status}
  }
  if (response.status === 423) return {message: `${line}: Min-Expires ${response.headers.get('min-expires') ?? 'missing'} cannot be met (at most ${MAX_REGISTRATION_EXPIRES_S} s)`, status: 423}
  return {message: line, status: response.status}
}

export class Registration extends EventEmitter<RegistrationEvents> {
  private readonly callId = generateCallId()
  private readonly fromTag = generateTag()
  private readonly digest: RealmDigestClient
  private readonly random: () => number
  private seq = 0
  private expiresS: number
  private state: RegistrationState = 'registering'
  private timer: NodeJS.Timeout | undefined
  private stopped = false
  private inFlight: Promise<void> | undefined
  private contact: string | undefined
  private expiresAt: number | undefined
  private grantedS: number | undefined
  private registeredAt: number | undefined
  private nextAttemptAt: number | undefined
  private failures = 0
  private lastError: RegistrationStatus['lastError'] = null
  private sentTo: string | undefined
  /** The address the registrar's name resolved to last: calls for our contact come from there. */
  registrarAddress: string | undefined

  constructor(private readonly core: UserAgentCore, private readonly options: RegistrationOptions) {
    super()
    this.digest = new RealmDigestClient(options.credentials, options.realm)
    this.random = options.random ?? Math.random
    this.expiresS = Math.min(options.expiresS, MAX_REGISTRATION_EXPIRES_S)
  }

  /** Sends the first REGISTER now. */
  start(): void {
    this.schedule(0)
  }

  status(): RegistrationStatus {
    return {
      state: this.state,
      registrar: this.options.registrar,
      aor: this.options.aor,
      contact: this.contact ?? null,
      expiresAt: this.state === 'registered' ? (this.expiresAt ?? null) : null,
      grantedS: this.grantedS ?? null,
      registeredAt: this.registeredAt ?? null,
      nextAttemptAt: this.stopped ? null : (this.nextAttemptAt ?? null),
      failures: this.failures,
      lastError: this.lastError,
      sentTo: this.sentTo ?? null,
    }
  }

  /**
   * Stops refreshing. With `unregister`, removes the binding (REGISTER with Expires: 0) when one may
   * exist, waiting at most `timeoutMs` for the registrar's answer.
   */
  async stop(options: {unregister: boolean; timeoutMs: number}): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.timer)
    this.nextAttemptAt = undefined
    const hadBinding = this.registeredAt !== undefined || this.inFlight !== undefined
    if (!options.unregister || !hadBinding) {
      this.setState('unregistered')
      return
    }
    let timer: NodeJS.Timeout | undefined
    const removal = this.send(0).then((outcome) => {
      if (outcome.kind === 'response' && outcome.response.status < 300) return
      const failure = describeFailure(outcome, this.options.realm)
      this.lastError = {at: Date.now(), ...failure}
    })
    await Promise.race([removal, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.timeoutMs)))])
    clearTimeout(timer)
    this.expiresAt = undefined
    this.setState('unregistered')
  }

  private setState(state: RegistrationState): void {
    this.state = state
    this.emit('state', this.status())
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    this.nextAttemptAt = Date.now() + delayMs
    this.timer = setTimeout(() => {
      this.nextAttemptAt = undefined
      this.inFlight = this.attempt().finally(() => (this.inFlight = undefined))
    }, delayMs)
    this.timer.unref?.()
  }

  private async attempt(): Promise<void> {
    const asked = this.expiresS
    const outcome = await this.send(asked)
    if (this.stopped) return
    if (outcome.kind === 'response' && outcome.response.status >= 200 && outcome.response.status < 300) {
      const granted = grantedExpiresOf(outcome.response, parseSipUri(this.contactUri()), this.expiresS)
      if (granted > 0) return this.succeeded(granted)
      return this.failed({message: `${outcome.response.status} ${outcome.response.reason}, but the registrar kept no binding (expires 0)`, status: outcome.response.status}, undefined)
    }
    const retryAfter = outcome.kind === 'response' ? retryAfterOf(outcome.response) : undefined
    this.failed(describeFailure(outcome, this.options.realm), retryAfter)
  }

  private succeeded(grantedS: number): void {
    const now = Date.now()
    this.failures = 0
    this.grantedS = grantedS
    this.registeredAt = now
    this.expiresAt = now + grantedS * 1000
    this.schedule(refreshDelayS(grantedS) * 1000)
    this.setState('registered')
  }

  private failed(failure: {message: string; status: number | null}, retryAfterS: number | undefined): void {
    this.failures++
    this.lastError = {at: Date.now(), ...failure}
    const delayS = backoffDelayS(this.failures, {retryMinS: this.options.retryMinS, retryMaxS: this.options.retryMaxS, retryAfterS, random: this.random()})
    this.schedule(delayS * 1000)
    this.setState('failed')
  }

  private contactUri(): string {
    return this.contact?.replace(/^<|>$/g, '') ?? ''
  }

  /** A REGISTER over `transport`: our Contact is the listener of that transport. */
  private buildRegister(expires: number, transport: SipTransportProtocol): SipRequest {
    this.contact = this.core.contactFor(transport, isSipsUri(this.options.registrar), this.options.contactUser)
    const headers = new SipHeaders([
      ['Max-Forwards', '70'],
      ['From', `<${this.options.aor}>;tag=${this.fromTag}`],
      ['To', `<${this.options.aor}>`],
      ['Call-ID', this.callId],
      ['CSeq', formatCSeq({seq: ++this.seq, method: 'REGISTER'})],
      ['Contact', this.contact],
      ['Expires', String(expires)],
      ...productHeader(this.core),
    ])
    return createRequest('REGISTER', this.options.registrar, headers)
  }

  /**
   * One REGISTER with its Digest retry, to the registrar's address resolved now. A 423 whose
   * Min-Expires we can meet is answered once with a new REGISTER (and its own Digest round) asking
   * for that interval, which the refreshes keep too.
   */
  private async send(expires: number): Promise<RequestOutcome> {
    let outcome = await this.sendOnce(expires)
    if (expires === 0 || outcome.kind !== 'response' || outcome.response.status !== 423) return outcome
    const minExpires = Number.parseInt(outcome.response.headers.get('min-expires') ?? '', 10)
    if (!Number.isFinite(minExpires) || minExpires <= expires || minExpires > MAX_REGISTRATION_EXPIRES_S) return outcome
    this.expiresS = minExpires
    outcome = await this.sendOnce(minExpires)
    return outcome
  }

  private async sendOnce(expires: number): Promise<RequestOutcome> {
    let request: SipRequest
    let target: SipTarget
    try {
      target = await firstTargetOf(this.core, parseSipUri(this.options.registrar))
      request = this.buildRegister(expires, target.transport)
    } catch (error) {
      return {kind: 'failure', failure: {kind: 'transport-error', error: error as Error}, request: createRequest('REGISTER', this.options.registrar)}
    }
    this.sentTo = `${target.transport}:${target.address.includes(':') ? `[${target.address}]` : target.address}:${target.port}`
    this.registrarAddress = target.address
    return sendRequest(this.core, request, target, {digest: this.digest, nextSeq: () => ++this.seq})
  }
}

/** The registrar URI for a trunk whose outbound URI is `uri`: the same host, port and parameters, without a user. */
export const registrarOf = (uri: string): string => {
  const parsed = parseSipUri(uri)
  parsed.user = undefined
  parsed.password = undefined
  parsed.headers = []
  return formatUri(parsed)
}
