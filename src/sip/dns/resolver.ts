// RFC 3263: where a request for a SIP URI goes, as an ordered list of
// targets (transport, address, port) to try one after the other.
//   §4.1 transport: the URI's `transport` (or the caller's explicit one), else
//        TLS for sips:; a numeric host or an explicit port means UDP (TLS for
//        sips:) with no NAPTR or SRV; else the NAPTR records of the host
//        (SIP+D2U, SIP+D2T, SIPS+D2T; only transports we have listeners for),
//        else SRV queries for the transports we have (_sip._udp, _sip._tcp;
//        _sips._tcp for sips:), else UDP (TLS for sips:).
//   §4.2 address: a numeric host as it is; a port in the URI: A/AAAA of the
//        host; else the SRV records of the NAPTR replacement or of
//        _sip._<transport>.host, ordered by RFC 2782; no SRV records: A/AAAA
//        of the host with the transport's default port.
// Targets are produced lazily: the first request leaves as soon as the first
// address is known, and a failover asks for the next. Bounded: at most
// `maxTargets` targets and 2·maxTargets address lookups per URI, however
// many records the zone holds.
import {isIP} from 'node:net'
import type {SipUri} from '../uri.js'
import {uriTransport} from '../transport/target.js'
import type {ResolveOptions, SipTargetResolver} from '../transport/target-resolver.js'
import {defaultSipPort, type SipTarget, type SipTransportProtocol} from '../transport/types.js'
import {DnsLookupError, describeKind, SipDnsError, type DnsFailureKind} from './errors.js'
import {isLocalhost, type DnsLookups} from './lookups.js'
import {orderSrv, selectNaptr, srvPrefix, type NaptrChoice} from './records.js'

export interface Rfc3263Options {
  readonly lookups: DnsLookups
  /** Most targets produced for one URI. */
  readonly maxTargets: number
  /** Query NAPTR records (RFC 3263 §4.1); false goes straight to SRV. */
  readonly naptr: boolean
  /** Address families to look up: A for 4, AAAA for 6, in this order. */
  readonly families: ReadonlyArray<4 | 6>
  /** For SRV weights; default Math.random. */
  readonly random?: () => number
}

export class Rfc3263Resolver implements SipTargetResolver {
  constructor(private readonly options: Rfc3263Options) {}

  targets(uri: SipUri, options: ResolveOptions = {}): AsyncIterable<SipTarget> {
    return {[Symbol.asyncIterator]: () => new Resolution(this.options, uri, options).run()[Symbol.asyncIterator]()}
  }
}

/** One URI's resolution: the targets produced so far, the lookups spent, and what failed (for the error when nothing is found). */
class Resolution {
  private produced = 0
  private addressLookups = 0
  private readonly seen = new Set<string>()
  private readonly problems: DnsLookupError[] = []
  /** SRV records were found (so the name has SRV: no A/AAAA fallback on the host, §4.2). */
  private srvFound = false
  /** A lookup timed out or was refused: the servers are taken to be down for the rest of this resolution. */
  private serversDown = false
  private readonly available: (transport: SipTransportProtocol) => boolean
  private readonly sips: boolean
  private readonly host: string

  constructor(private readonly config: Rfc3263Options, private readonly uri: SipUri, private readonly request: ResolveOptions) {
    this.available = request.available ?? (() => true)
    this.sips = uri.scheme === 'sips'
    const maddr = uri.params.get('maddr')
    // §4: maddr, when present, is the target instead of the host.
    this.host = typeof maddr === 'string' && maddr !== '' ? maddr.replace(/^\[|\]$/g, '') : uri.host
  }

  async *run(): AsyncGenerator<SipTarget> {
    const param = this.uri.params.get('transport')
    const explicit = this.request.transport ?? (param === undefined ? undefined : uriTransport(this.uri, 'udp'))
    const fallback: SipTransportProtocol = this.sips ? 'tls' : 'udp'
    if (isIP(this.host) !== 0) {
      const transport = explicit ?? fallback
      yield* this.emit([{transport, address: this.host, port: this.uri.port ?? defaultSipPort(transport)}])
      return
    }
    if (this.uri.port !== undefined || isLocalhost(this.host)) {
      const transport = explicit ?? fallback
      yield* this.addressTargets(this.host, this.uri.port ?? defaultSipPort(transport), transport)
    } else if (explicit !== undefined) {
      yield* this.srvTargets(`${srvPrefix(explicit)}.${this.host}`, explicit)
      if (!this.srvFound && !this.serversDown) yield* this.addressTargets(this.host, defaultSipPort(explicit), explicit)
    } else {
      const choices = await this.naptrChoices()
      for (const choice of choices) yield* this.srvTargets(choice.srvName, choice.transport)
      if (choices.length === 0) yield* this.srvWithoutNaptr()
      if (!this.srvFound && !this.serversDown) {
        // §4.1: no NAPTR and no SRV: UDP for sip:, TLS for sips:, on the default port.
        const transport = choices[0]?.transport ?? fallback
        yield* this.addressTargets(this.host, defaultSipPort(transport), transport)
      }
    }
    if (this.produced === 0) throw this.noTargets()
  }

  private async naptrChoices(): Promise<NaptrChoice[]> {
    if (!this.config.naptr) return []
    const records = await this.lookup(() => this.config.lookups.naptr(this.host))
    return records === undefined ? [] : selectNaptr(records, {sips: this.sips, available: this.available}).slice(0, this.config.maxTargets)
  }

  /**
   * One lookup: its records, or undefined when it failed (noted for the
   * error). Once the servers timed out or refused, no further lookup is
   * made for this URI: each would wait as long again.
   */
  private async lookup<T>(query: () => Promise<readonly T[]>): Promise<readonly T[] | undefined> {
    if (this.serversDown) return undefined
    try {
      return await query()
    } catch (error) {
      if (!(error instanceof DnsLookupError)) throw error
      this.problems.push(error)
      if (error.kind === 'timeout' || error.kind === 'unreachable') this.serversDown = true
      return undefined
    }
  }

  /** §4.1 without NAPTR: SRV for each transport we have (queried together), UDP before TCP for sip:. */
  private async *srvWithoutNaptr(): AsyncGenerator<SipTarget> {
    const transports = (this.sips ? (['tls'] as const) : (['udp', 'tcp'] as const)).filter((transport) => this.available(transport))
    const answers = await Promise.all(
      transports.map(async (transport) => {
        const name = `${srvPrefix(transport)}.${this.host}`
        return {transport, records: (await this.lookup(() => this.config.lookups.srv(name))) ?? []}
      }),
    )
    for (const {transport, records} of answers) yield* this.fromSrv(records, transport)
  }

  private async *srvTargets(name: string, transport: SipTransportProtocol): AsyncGenerator<SipTarget> {
    yield* this.fromSrv((await this.lookup(() => this.config.lookups.srv(name))) ?? [], transport)
  }

  private async *fromSrv(records: Parameters<typeof orderSrv>[0], transport: SipTransportProtocol): AsyncGenerator<SipTarget> {
    if (records.length === 0) return
    this.srvFound = true
    for (const record of orderSrv(records, this.config.random)) {
      if (this.exhausted) return
      yield* this.addressTargets(record.name, record.port, transport)
    }
  }

  private get exhausted(): boolean {
    return this.serversDown || this.produced >= this.config.maxTargets || this.addressLookups >= 2 * this.config.maxTargets
  }

  private async *addressTargets(name: string, port: number, transport: SipTransportProtocol): AsyncGenerator<SipTarget> {
    if (this.exhausted) return
    this.addressLookups++
    const found = await Promise.all(this.config.families.map(async (family) => (await this.lookup(() => this.config.lookups.addresses(name, family))) ?? []))
    yield* this.emit(found.flat().map((record) => ({transport, address: record.address, port})))
  }

  private *emit(targets: ReadonlyArray<Omit<SipTarget, 'hostname'>>): Generator<SipTarget> {
    for (const target of targets) {
      if (this.produced >= this.config.maxTargets) return
      const key = `${target.transport} ${target.address} ${target.port}`
      if (this.seen.has(key)) continue
      this.seen.add(key)
      this.produced++
      yield {...target, hostname: this.uri.host}
    }
  }

  /** The error for a URI that gave no target: the most telling lookup failure first, every one named. */
  private noTargets(): SipDnsError {
    const transient = this.problems.find((problem) => problem.kind !== 'nxdomain' && problem.kind !== 'nodata')
    const kind: DnsFailureKind = transient?.kind ?? (this.srvFound ? 'no-targets' : this.problems.some((problem) => problem.kind === 'nxdomain') ? 'nxdomain' : this.problems.length > 0 ? 'nodata' : 'no-targets')
    const detail = this.problems.length === 0 ? 'no record for a transport we have' : this.problems.slice(0, 6).map((problem) => problem.message).join('; ')
    const why = this.srvFound && transient === undefined ? 'its SRV records name hosts without addresses' : describeKind(kind)
    return new SipDnsError(kind, this.host, `cannot resolve ${this.host}: ${why} (${detail})`, {cause: this.problems[0]})
  }
}
