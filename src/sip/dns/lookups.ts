// The DNS queries of RFC 3263 over node:dns's Resolver (c-ares): our own
// servers (sip.dns.servers) or the system's (/etc/resolv.conf), a timeout
// and a number of tries per query, answers cached (cache.ts). node:dns
// reports TTLs for A and AAAA only: NAPTR and SRV answers are kept for
// `srvTtlS`. With the system's servers, a name DNS does not know is also
// looked up like any program does (getaddrinfo: /etc/hosts, nsswitch), so a
// trunk named in /etc/hosts keeps working.
import {promises as dns} from 'node:dns'
import {DnsCache} from './cache.js'
import {DnsLookupError, type DnsFailureKind} from './errors.js'
import type {NaptrRecord, SrvRecord} from './records.js'

/** Names that never go to DNS (RFC 6761 §6.3): the system's resolver answers them. */
export const isLocalhost = (host: string): boolean => /^localhost\.?$|\.localhost\.?$/i.test(host)

export interface AddressRecord {
  readonly address: string
  readonly family: 4 | 6
}

/** The queries the RFC 3263 procedure makes; resolver.ts depends on this only (unit tests pass their own). */
export interface DnsLookups {
  naptr(name: string): Promise<readonly NaptrRecord[]>
  srv(name: string): Promise<readonly SrvRecord[]>
  addresses(name: string, family: 4 | 6): Promise<readonly AddressRecord[]>
}

export interface NodeDnsOptions {
  /** `ip` or `ip:port` / `[v6]:port`; empty: the system's servers. */
  readonly servers: readonly string[]
  readonly timeoutMs: number
  readonly tries: number
  readonly cacheEntries: number
  /** Longest an answer is kept, whatever its TTL. */
  readonly maxTtlS: number
  /** How long NAPTR and SRV answers are kept (node:dns does not report their TTL). */
  readonly srvTtlS: number
  /** How long NXDOMAIN and no-data answers are kept. */
  readonly negativeTtlS: number
  /** How long past its TTL an answer is still served when the servers do not answer. */
  readonly staleS: number
}

/** A node:dns error code as a failure kind. */
export const failureKindOf = (error: unknown): Exclude<DnsFailureKind, 'no-targets'> => {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOTFOUND':
      return 'nxdomain'
    case 'ENODATA':
      return 'nodata'
    case 'ETIMEOUT':
      return 'timeout'
    case 'ECONNREFUSED':
      return 'unreachable'
    case 'EBADRESP':
    case 'EBADNAME':
    case 'EFORMERR':
    case 'EBADQUERY':
    case 'EBADFAMILY':
      return 'malformed'
    default:
      // ESERVFAIL, EREFUSED, ENOTIMP, ECANCELLED, EOF, ...
      return 'servfail'
  }
}

export class NodeDnsLookups implements DnsLookups {
  private readonly resolver: dns.Resolver
  readonly cache: DnsCache
  private readonly system: boolean

  constructor(private readonly options: NodeDnsOptions) {
    this.resolver = new dns.Resolver({timeout: options.timeoutMs, tries: options.tries})
    this.system = options.servers.length === 0
    if (!this.system) this.resolver.setServers([...options.servers])
    this.cache = new DnsCache({maxEntries: options.cacheEntries, negativeTtlS: options.negativeTtlS, staleS: options.staleS})
  }

  /** The servers asked, as node:dns lists them (for logs). */
  get servers(): string[] {
    return this.resolver.getServers()
  }

  naptr(name: string): Promise<readonly NaptrRecord[]> {
    return this.cache.get(`NAPTR ${name.toLowerCase()}`, async () => ({value: await this.query('NAPTR', name, () => this.resolver.resolveNaptr(name)), ttlS: this.ttl(this.options.srvTtlS)}))
  }

  srv(name: string): Promise<readonly SrvRecord[]> {
    return this.cache.get(`SRV ${name.toLowerCase()}`, async () => ({value: await this.query('SRV', name, () => this.resolver.resolveSrv(name)), ttlS: this.ttl(this.options.srvTtlS)}))
  }

  addresses(name: string, family: 4 | 6): Promise<readonly AddressRecord[]> {
    const type = family === 4 ? 'A' : 'AAAA'
    return this.cache.get(`${type} ${name.toLowerCase()}`, async () => {
      // RFC 6761 §6.3: localhost is the loopback, whatever the DNS servers say.
      if (isLocalhost(name)) return {value: await this.hostsFile(name, family, new DnsLookupError('nxdomain', type, name)), ttlS: this.ttl(this.options.negativeTtlS)}
      try {
        const records = await this.query(type, name, () => (family === 4 ? this.resolver.resolve4(name, {ttl: true}) : this.resolver.resolve6(name, {ttl: true})))
        // The answer lives as long as its shortest record.
        const ttl = Math.min(...records.map((record) => record.ttl))
        return {value: records.map((record) => ({address: record.address, family})), ttlS: this.ttl(ttl)}
      } catch (error) {
        if (!this.system || !(error instanceof DnsLookupError) || (error.kind !== 'nxdomain' && error.kind !== 'nodata')) throw error
        return {value: await this.hostsFile(name, family, error), ttlS: this.ttl(this.options.negativeTtlS)}
      }
    })
  }

  /** getaddrinfo for a name DNS does not have (system resolver only): /etc/hosts and the other nsswitch sources. */
  private async hostsFile(name: string, family: 4 | 6, dnsError: DnsLookupError): Promise<AddressRecord[]> {
    try {
      const found = await dns.lookup(name, {family, all: true})
      if (found.length === 0) throw dnsError
      return found.map((entry) => ({address: entry.address, family}))
    } catch {
      throw dnsError
    }
  }

  private ttl(seconds: number): number {
    return Math.max(0, Math.min(seconds, this.options.maxTtlS))
  }

  private async query<T>(type: DnsLookupError['type'], name: string, run: () => Promise<T[]>): Promise<T[]> {
    let records: T[]
    try {
      records = await run()
    } catch (error) {
      throw new DnsLookupError(failureKindOf(error), type, name, {cause: error})
    }
    if (records.length === 0) throw new DnsLookupError('nodata', type, name)
    return records
  }

  /** Cancels the queries in flight (the daemon is stopping). */
  close(): void {
    this.resolver.cancel()
  }
}
