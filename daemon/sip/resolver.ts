// The gateway's RFC 3263 resolver, built from sip.dns: node:dns on the
// configured servers (or the system's), A lookups when a listener is IPv4,
// AAAA when one is IPv6 (a target of a family we cannot send from would
// only fail).
import {isIP} from 'node:net'
import type {Config} from '../../src/config/schema.js'
import {NodeDnsLookups} from '../../src/sip/dns/lookups.js'
import {Rfc3263Resolver} from '../../src/sip/dns/resolver.js'

export interface GatewayResolver {
  readonly resolver: Rfc3263Resolver
  readonly lookups: NodeDnsLookups
}

/** The address families the listeners can send to, IPv4 first. */
export const listenerFamilies = (listen: Config['sip']['listen']): Array<4 | 6> => {
  const families = new Set(listen.map((entry) => (isIP(entry.address) === 6 ? 6 : 4)))
  return ([4, 6] as const).filter((family) => families.has(family))
}

export const gatewayResolver = (config: Config): GatewayResolver => {
  const dns = config.sip.dns
  const lookups = new NodeDnsLookups({
    servers: dns.servers,
    timeoutMs: dns.timeout_ms,
    tries: dns.tries,
    cacheEntries: dns.cache_entries,
    maxTtlS: dns.max_ttl_s,
    srvTtlS: dns.srv_ttl_s,
    negativeTtlS: dns.negative_ttl_s,
    staleS: dns.stale_s,
  })
  const resolver = new Rfc3263Resolver({lookups, maxTargets: dns.max_targets, naptr: dns.naptr, families: listenerFamilies(config.sip.listen)})
  return {resolver, lookups}
}
