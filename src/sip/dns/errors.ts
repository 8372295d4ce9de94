// Why a DNS lookup for a SIP target failed, in words an operator can act on.
// A SipDnsError is a SipTransportError: the request could not be sent, which
// RFC 3261 §8.1.3.1 treats like a 503 from nobody.
import {SipTransportError} from '../transport/types.js'

/**
 * `nxdomain`: the name does not exist; `nodata`: it exists without records of
 * the type asked; `timeout`: no answer from the DNS servers in time;
 * `unreachable`: the servers refused the connection; `servfail`: a server
 * failed or refused to answer; `malformed`: an answer we could not read;
 * `no-targets`: lookups answered, yet no record left an address to send to
 * (SRV names without addresses, NAPTR services we do not have).
 */
export type DnsFailureKind = 'nxdomain' | 'nodata' | 'timeout' | 'unreachable' | 'servfail' | 'malformed' | 'no-targets'

/** Kinds that say the name has no usable records (a call to it cannot succeed by trying again soon). */
export const PERMANENT_DNS_FAILURES: ReadonlySet<DnsFailureKind> = new Set(['nxdomain', 'nodata', 'no-targets'])

export class SipDnsError extends SipTransportError {
  constructor(
    readonly kind: DnsFailureKind,
    /** The name that was being resolved (the host of the URI). */
    readonly host: string,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(message, undefined, options)
    this.name = 'SipDnsError'
  }

  /** True when the records are missing, not the DNS servers. */
  get permanent(): boolean {
    return PERMANENT_DNS_FAILURES.has(this.kind)
  }
}

/** One failed lookup: the record type and name asked, and what went wrong. */
export class DnsLookupError extends Error {
  constructor(
    readonly kind: Exclude<DnsFailureKind, 'no-targets'>,
    readonly type: 'NAPTR' | 'SRV' | 'A' | 'AAAA',
    readonly query: string,
    options?: {cause?: unknown},
  ) {
    super(`${type} ${query}: ${describeKind(kind)}`, options)
    this.name = 'DnsLookupError'
  }
}

export const describeKind = (kind: DnsFailureKind): string =>
  ({
    nxdomain: 'no such domain (NXDOMAIN)',
    nodata: 'no records of that type',
    timeout: 'no answer from the DNS servers in time',
    unreachable: 'the DNS servers refused the connection',
    servfail: 'the DNS server failed to answer (SERVFAIL or REFUSED)',
    malformed: 'an answer that could not be read',
    'no-targets': 'no usable target',
  })[kind]
