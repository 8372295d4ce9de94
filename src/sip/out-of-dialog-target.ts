// Where a REGISTER or a keepalive OPTIONS goes: the first target the user
// agent's resolver gives for the URI (RFC 3263 in the daemon). These requests
// are repeated on their own schedule (refresh, backoff, the next probe), so
// they do not walk the other targets the way an INVITE does.
import {uriTransport} from './transport/target.js'
import {SipTransportError, type SipTarget} from './transport/types.js'
import type {SipUri} from './uri.js'
import type {UserAgentCore} from './user-agent-core.js'

export const firstTargetOf = async (core: Pick<UserAgentCore, 'resolver' | 'transport'>, uri: SipUri): Promise<SipTarget> => {
  // A transport the URI names is kept; otherwise the resolver picks one we have a listener for.
  const explicit = uri.scheme === 'sips' || uri.params.has('transport') ? uriTransport(uri, 'udp') : undefined
  for await (const target of core.resolver.targets(uri, {transport: explicit, available: (transport) => core.transport.listenerFor(transport) !== undefined})) return target
  throw new SipTransportError(`no target for ${uri.host}`)
}
