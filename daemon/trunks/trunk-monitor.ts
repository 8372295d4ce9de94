// What the gateway keeps running for its trunks (docs/sip-trunks.md): the
// outbound registration of each trunk with `outbound.register` and the
// OPTIONS keepalive of each trunk with `outbound.keepalive`. It answers the
// dialer's question "which trunks, in which order, for a call on this one"
// (TrunkRouting), the inbound router's "where do calls for a registered
// contact come from", and `trunks.status`.
import {EventEmitter} from 'node:events'
import type {Logger} from 'pino'
import type {TrunkStatus} from '../../src/admin/protocol.js'
import type {Config, Trunk} from '../../src/config/schema.js'
import {Registration, registrarOf, type RegistrationOptions, type RegistrationStatus} from '../../src/sip/registration.js'
import {parseSipUri} from '../../src/sip/uri.js'
import type {UserAgentCore} from '../../src/sip/user-agent-core.js'
import {TrunkKeepalive} from './keepalive.js'

/** How long a clean stop waits for the registrars' answers to the un-REGISTERs, all trunks together. */
export const UNREGISTER_TIMEOUT_MS = 2000

/** The trunks a new outbound call tries, in order; the dialer's only view of trunk health. */
export interface TrunkRouting {
  /**
   * The trunk asked for, then its `outbound.failover` trunks, in order, without the ones that are
   * down; `skipped` names the down ones. Trunks are taken from `trunks` (the config the call runs with).
   */
  plan(trunkId: string, trunks: readonly Trunk[]): {readonly trunks: readonly Trunk[]; readonly skipped: readonly string[]}
}

/** Every trunk is up: the routing of a dialer with no monitor (tests, the CLI). */
export const ALWAYS_UP: TrunkRouting = {plan: (trunkId, trunks) => planTrunks(trunkId, trunks, () => true)}

export const planTrunks = (trunkId: string, trunks: readonly Trunk[], isUp: (id: string) => boolean): {trunks: Trunk[]; skipped: string[]} => {
  const primary = trunks.find((trunk) => trunk.id === trunkId)
  if (primary === undefined) return {trunks: [], skipped: []}
  const chain = [primary, ...(primary.outbound?.failover ?? []).map((id) => trunks.find((trunk) => trunk.id === id)).filter((trunk): trunk is Trunk => trunk?.outbound !== undefined)]
  const usable = chain.filter((trunk) => isUp(trunk.id))
  return {trunks: usable, skipped: chain.filter((trunk) => !usable.includes(trunk)).map((trunk) => trunk.id)}
}

/** The registration a trunk's config asks for, or undefined without `outbound.register`. */
export const registrationOptionsOf = (trunk: Trunk): RegistrationOptions | undefined => {
  const outbound = trunk.outbound
  const register = outbound?.register
  if (outbound === undefined || register === undefined) return undefined
  const username = register.username ?? outbound.auth?.username ?? ''
  const password = register.password ?? outbound.auth?.password ?? ''
  const registrar = register.registrar ?? registrarOf(outbound.uri)
  const parsed = parseSipUri(registrar)
  const domain = register.domain ?? (parsed.host.includes(':') ? `[${parsed.host}]` : parsed.host)
  return {
    registrar,
    aor: `${parsed.scheme}:${username}@${domain}`,
    contactUser: register.contact_user ?? username,
    credentials: {username, password},
    realm: register.realm,
    expiresS: register.expires_s,
    retryMinS: register.retry_min_s,
    retryMaxS: register.retry_max_s,
  }
}

export interface TrunkMonitorEvents {
  /** A trunk's keepalive marked it up or down; also sent once per monitored trunk at start (up). */
  reachability: [trunkId: string, up: boolean]
  /** A trunk's registration changed state. */
  registration: [trunkId: string, registered: boolean]
  /** A trunk is no longer monitored (removed by a reload, or its keepalive/registration switched off). */
  forgotten: [trunkId: string, what: 'keepalive' | 'registration']
}

interface Running<T> {
  readonly key: string
  readonly value: T
}

export class TrunkMonitor extends EventEmitter<TrunkMonitorEvents> implements TrunkRouting {
  private trunks: readonly Trunk[] = []
  private readonly keepalives = new Map<string, Running<TrunkKeepalive>>()
  private readonly registrations = new Map<string, Running<Registration>>()
  /** Registrations being removed (a reload changed or dropped them): stop() waits for them too. */
  private readonly leaving = new Set<Promise<void>>()
  private stopped = false
  private core: UserAgentCore | undefined

  constructor(private readonly log: Logger) {
    super()
  }

  /** Starts the registrations and keepalives of `config` on the user agent (once the SIP listeners are bound). */
  start(core: UserAgentCore, config: Pick<Config, 'trunks'>): void {
    this.core = core
    this.apply(config)
  }

  /** Starts, restarts or stops each trunk's registration and keepalive to match `config` (at start and on every reload). */
  apply(config: Pick<Config, 'trunks'>): void {
    this.trunks = config.trunks
    if (this.stopped || this.core === undefined) return
    const ids = new Set(config.trunks.map((trunk) => trunk.id))
    for (const trunk of config.trunks) {
      this.applyKeepalive(trunk)
      this.applyRegistration(trunk)
    }
    for (const id of [...this.keepalives.keys()]) if (!ids.has(id)) this.dropKeepalive(id)
    for (const id of [...this.registrations.keys()]) if (!ids.has(id)) this.dropRegistration(id)
  }

  private applyKeepalive(trunk: Trunk): void {
    const settings = trunk.outbound?.keepalive
    const uri = trunk.outbound?.uri
    const key = JSON.stringify({settings, uri})
    if (this.keepalives.get(trunk.id)?.key === key) return
    this.dropKeepalive(trunk.id)
    if (settings === undefined || uri === undefined || this.core === undefined) return
    const keepalive = new TrunkKeepalive(this.core, trunk.id, uri, settings, this.log, (up) => this.emit('reachability', trunk.id, up))
    this.keepalives.set(trunk.id, {key, value: keepalive})
    this.emit('reachability', trunk.id, true)
    keepalive.start()
  }

  private dropKeepalive(id: string): void {
    const running = this.keepalives.get(id)
    if (running === undefined) return
    running.value.stop()
    this.keepalives.delete(id)
    this.emit('forgotten', id, 'keepalive')
  }

  private applyRegistration(trunk: Trunk): void {
    const options = registrationOptionsOf(trunk)
    const key = JSON.stringify(options ?? null)
    if (this.registrations.get(trunk.id)?.key === key) return
    this.dropRegistration(trunk.id)
    if (options === undefined || this.core === undefined) return
    const registration = new Registration(this.core, options)
    const log = this.log.child({trunk_id: trunk.id})
    let registered = false
    registration.on('state', (status) => {
      const now = status.state === 'registered'
      if (now && !registered) log.info({registrar: status.registrar, aor: status.aor, granted_s: status.grantedS, sent_to: status.sentTo}, 'trunk registered')
      if (status.state === 'failed') log.warn({registrar: status.registrar, error: status.lastError?.message, failures: status.failures, retry_in_s: retryInS(status)}, 'trunk registration failed')
      if (now !== registered) this.emit('registration', trunk.id, now)
      registered = now
    })
    this.registrations.set(trunk.id, {key, value: registration})
    this.emit('registration', trunk.id, false)
    registration.start()
  }

  private dropRegistration(id: string): void {
    const running = this.registrations.get(id)
    if (running === undefined) return
    this.registrations.delete(id)
    const leaving = running.value.stop({unregister: true, timeoutMs: UNREGISTER_TIMEOUT_MS}).catch(() => undefined)
    this.leaving.add(leaving)
    void leaving.finally(() => this.leaving.delete(leaving))
    this.emit('forgotten', id, 'registration')
  }

  isUp(trunkId: string): boolean {
    return this.keepalives.get(trunkId)?.value.up ?? true
  }

  plan(trunkId: string, trunks: readonly Trunk[]): {readonly trunks: readonly Trunk[]; readonly skipped: readonly string[]} {
    return planTrunks(trunkId, trunks, (id) => this.isUp(id))
  }

  /** The address a registering trunk's registrar resolved to last (calls for its contact come from there). */
  registrarAddress(trunkId: string): string | undefined {
    return this.registrations.get(trunkId)?.value.registrarAddress
  }

  status(): TrunkStatus[] {
    const now = Date.now()
    return this.trunks.map((trunk) => {
      const registration = this.registrations.get(trunk.id)?.value.status()
      const keepalive = this.keepalives.get(trunk.id)?.value.status()
      return {
        id: trunk.id,
        tenant: trunk.tenant,
        uri: trunk.outbound?.uri ?? null,
        failover: trunk.outbound?.failover ?? [],
        registration: registration === undefined ? NO_REGISTRATION : registrationView(registration, now),
        reachability:
          keepalive === undefined
            ? {state: 'off', since: null, lastProbeAt: null, lastStatus: null, lastRttMs: null, consecutiveFailures: 0, consecutiveSuccesses: 0, lastError: null, probes: 0}
            : {
                ...keepalive,
                since: iso(keepalive.since),
                lastProbeAt: iso(keepalive.lastProbeAt),
                lastError: keepalive.lastError === null ? null : {at: iso(keepalive.lastError.at) ?? '', message: keepalive.lastError.message},
              },
      }
    })
  }

  /** Stops every keepalive and removes every binding (REGISTER with Expires: 0), waiting at most UNREGISTER_TIMEOUT_MS. */
  async stop(options: {unregister: boolean} = {unregister: true}): Promise<void> {
    this.stopped = true
    for (const {value} of this.keepalives.values()) value.stop()
    this.keepalives.clear()
    const removals = [...this.registrations.values()].map(({value}) => value.stop({unregister: options.unregister, timeoutMs: UNREGISTER_TIMEOUT_MS}).catch(() => undefined))
    this.registrations.clear()
    await Promise.all([...removals, ...this.leaving])
  }
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString())

const retryInS = (status: RegistrationStatus): number | null => (status.nextAttemptAt === null ? null : Math.max(0, Math.ceil((status.nextAttemptAt - Date.now()) / 1000)))

const NO_REGISTRATION: TrunkStatus['registration'] = {state: 'none', registrar: null, aor: null, contact: null, sentTo: null, expiresInS: null, grantedS: null, registeredAt: null, nextAttemptInS: null, failures: 0, lastError: null}

const registrationView = (status: RegistrationStatus, now: number): TrunkStatus['registration'] => ({
  state: status.state,
  registrar: status.registrar,
  aor: status.aor,
  contact: status.contact,
  sentTo: status.sentTo,
  expiresInS: status.expiresAt === null ? null : Math.max(0, Math.round((status.expiresAt - now) / 1000)),
  grantedS: status.grantedS,
  registeredAt: iso(status.registeredAt),
  nextAttemptInS: status.nextAttemptAt === null ? null : Math.max(0, Math.ceil((status.nextAttemptAt - now) / 1000)),
  failures: status.failures,
  lastError: status.lastError === null ? null : {at: iso(status.lastError.at) ?? '', message: status.lastError.message, status: status.lastError.status},
})
