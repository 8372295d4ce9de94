// Decides which trunk and tenant an inbound INVITE belongs to, from its source
// address and the called number. Digest credentials are checked afterwards by
// the engine, for the trunk chosen here.
import type {Config} from '../../src/config/schema.js'
import {cidrBlockList, plainAddress, type CidrSet} from '../../src/net/cidr.js'
import {NO_TRUNK} from '../../src/cdr/record.js'

type TrunkConfig = Config['trunks'][number]

/** A trunk an INVITE is attributed to: its source is in the trunk's CIDRs (or the gateway is open), or its credentials proved it. */
export interface KnownSource {
  readonly tenant: string
  readonly trunk: string
}

export type InboundRoute =
  | {
      readonly ok: true
      readonly tenant: string
      readonly dialplan: string
      readonly trunk: string
      readonly credentials: {readonly username: string; readonly password: string} | undefined
      /** True when the source alone identifies the trunk (its CIDRs, or an open gateway); false for a credential-only trunk until the digest checks out. */
      readonly sourceKnown: boolean
      /** The called number: the Request-URI user, or the To user for a call to a registered contact. */
      readonly called: string
    }
  | {
      readonly ok: false
      readonly status: 403 | 404
      readonly reason: string
      /** For a 404: the trunk whose CIDRs hold the source (a credential-only trunk identifies nobody without credentials). */
      readonly known?: KnownSource
    }

interface CompiledTrunk {
  readonly trunk: TrunkConfig
  readonly sources: CidrSet | undefined
  readonly numbers: readonly string[]
}

/** A trunk with outbound.register: calls for its contact user come from its registrar (or its inbound.cidrs). */
interface RegisteredTrunk extends CompiledTrunk {
  readonly contactUser: string
}

/** Where the registrar of a registering trunk was reached last (its address): calls for the trunk's contact come from there. */
export type RegistrarAddressOf = (trunkId: string) => string | undefined

/** `+1415555*` matches by prefix, `*` matches anything, anything else matches exactly. */
export const numberMatches = (pattern: string, number: string): boolean =>
  pattern.endsWith('*') ? number.startsWith(pattern.slice(0, -1)) : number === pattern


export class InboundRouter {
  private readonly trunks: readonly CompiledTrunk[]
  private readonly dialplanOf: ReadonlyMap<string, string>
  private readonly openTenant: string | undefined
  private readonly registered: ReadonlyMap<string, RegisteredTrunk>

  constructor(config: Pick<Config, 'trunks' | 'tenants'>, private readonly registrarAddressOf: RegistrarAddressOf = () => undefined) {
    this.trunks = config.trunks
      .filter((trunk) => trunk.inbound !== undefined)
      .map((trunk) => ({trunk, sources: cidrBlockList(trunk.inbound?.cidrs ?? []), numbers: trunk.inbound?.numbers ?? ['*']}))
    this.registered = new Map(
      config.trunks.flatMap((trunk): Array<[string, RegisteredTrunk]> => {
        const register = trunk.outbound?.register
        if (register === undefined) return []
        const contactUser = register.contact_user ?? register.username ?? trunk.outbound?.auth?.username ?? ''
        const cidrs = trunk.inbound?.cidrs ?? []
        return [[contactUser, {trunk, contactUser, sources: cidrs.length === 0 ? undefined : cidrBlockList(cidrs), numbers: trunk.inbound?.numbers ?? ['*']}]]
      }),
    )
    this.dialplanOf = new Map(config.tenants.map((tenant) => [tenant.id, tenant.dialplan]))
    // With no inbound trunk configured, the gateway is open: every caller reaches the first tenant
    // (the embedded default answers and echoes). One inbound trunk closes it to everyone else; a
    // trunk that registers takes inbound calls (for its contact), so it closes it too.
    this.openTenant = this.trunks.length === 0 && this.registered.size === 0 ? config.tenants[0]?.id : undefined
  }

  /** Whether `address` may send calls for a registering trunk's contact: its inbound.cidrs when set, else its registrar's address. */
  private fromRegistrar(entry: RegisteredTrunk, address: string): boolean {
    if (entry.sources !== undefined) return entry.sources.check(address)
    const registrar = this.registrarAddressOf(entry.trunk.id)
    return registrar !== undefined && plainAddress(registrar) === address
  }

  /** True with no inbound trunk configured: every source may call. */
  get isOpen(): boolean {
    return this.openTenant !== undefined
  }

  /** True when some trunk admits callers by digest credentials alone (no CIDRs): its INVITEs may come from anywhere. */
  get hasCredentialOnlyTrunk(): boolean {
    return this.trunks.some(({trunk, sources}) => sources === undefined && trunk.inbound?.auth !== undefined)
  }

  /** True when the address is inside some trunk's `inbound.cidrs` (whatever number it calls). */
  isTrunkSource(sourceAddress: string): boolean {
    const address = plainAddress(sourceAddress)
    if (this.trunks.some(({sources}) => sources?.check(address) === true)) return true
    for (const entry of this.registered.values()) if (this.fromRegistrar(entry, address)) return true
    return false
  }

  /**
   * The trunk and tenant of an INVITE from `sourceAddress` whose Request-URI user is `calledNumber`.
   * A Request-URI user that is a registering trunk's contact user (docs/sip-trunks.md) routes to that
   * trunk when the source is its registrar (or in its inbound.cidrs), the called number being the To
   * user (`toNumber`).
   */
  route(sourceAddress: string, calledNumber: string, toNumber = calledNumber): InboundRoute {
    if (this.openTenant !== undefined) {
      return {ok: true, tenant: this.openTenant, dialplan: this.dialplanOf.get(this.openTenant) ?? 'default', trunk: NO_TRUNK, credentials: undefined, sourceKnown: true, called: calledNumber}
    }
    const address = plainAddress(sourceAddress)
    const contact = this.registered.get(calledNumber)
    if (contact !== undefined && this.fromRegistrar(contact, address)) {
      const {trunk} = contact
      if (!contact.numbers.some((pattern) => numberMatches(pattern, toNumber))) {
        return {ok: false, status: 404, reason: `no route for ${toNumber} on trunk ${trunk.id}`, known: {tenant: trunk.tenant, trunk: trunk.id}}
      }
      return {ok: true, tenant: trunk.tenant, dialplan: this.dialplanOf.get(trunk.tenant) ?? 'default', trunk: trunk.id, credentials: trunk.inbound?.auth, sourceKnown: true, called: toNumber}
    }
    // A trunk with no CIDRs accepts any source, but only with credentials: it is authenticated by digest alone.
    const fromSource = this.trunks.filter(({trunk, sources}) => (sources ? sources.check(address) : trunk.inbound?.auth !== undefined))
    if (fromSource.length === 0) return {ok: false, status: 403, reason: `source ${address} matches no trunk`}
    const routed = fromSource.find(({numbers}) => numbers.some((pattern) => numberMatches(pattern, calledNumber)))
    if (!routed) {
      const reason = `no route for ${calledNumber} on trunk(s) ${fromSource.map(({trunk}) => trunk.id).join(', ')}`
      const bySource = fromSource.find(({sources}) => sources !== undefined)?.trunk
      return bySource ? {ok: false, status: 404, reason, known: {tenant: bySource.tenant, trunk: bySource.id}} : {ok: false, status: 404, reason}
    }
    const {trunk, sources} = routed
    return {ok: true, tenant: trunk.tenant, dialplan: this.dialplanOf.get(trunk.tenant) ?? 'default', trunk: trunk.id, credentials: trunk.inbound?.auth, sourceKnown: sources !== undefined, called: calledNumber}
  }
}
