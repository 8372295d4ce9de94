// Where the user agent asks which addresses a request for a URI goes to.
// The user agent tries the targets in order (user-agent-failover.ts); the
// daemon plugs in the RFC 3263 resolver (dns/resolver.ts), everything else
// gets `addressResolver`: one target, the host's first address.
import type {SipUri} from '../uri.js'
import {resolveSipTarget, uriTransport} from './target.js'
import type {SipTarget, SipTransportProtocol} from './types.js'

export interface ResolveOptions {
  /** A transport the caller insists on, as if the URI said `;transport=`. */
  readonly transport?: SipTransportProtocol | undefined
  /** The transports we can send on (those we have a listener for); default all. */
  readonly available?: ((transport: SipTransportProtocol) => boolean) | undefined
}

/** Turns a URI into the targets a request for it is sent to, in the order to try them. */
export interface SipTargetResolver {
  /**
   * The targets for `uri`, in order. The iteration throws a
   * SipTransportError when there is none at all (a SipDnsError names the
   * lookup that failed). Each target's `hostname` is the URI's host: the
   * name a TLS server's certificate must carry (RFC 5922 §4).
   */
  targets(uri: SipUri, options?: ResolveOptions): AsyncIterable<SipTarget>
}

/** No NAPTR or SRV: the URI's transport and port (or the defaults) and the host's first address from the system resolver. */
export const addressResolver: SipTargetResolver = {
  async *targets(uri, options = {}) {
    const transport = options.transport === undefined ? uriTransport(uri, 'udp') : uriTransport(uri, options.transport)
    yield await resolveSipTarget(uri, transport)
  },
}
