// Turning a SIP URI into the address a request is sent to. Names are
// resolved with the system resolver (A/AAAA); RFC 3263 NAPTR and SRV lookups
// are not done, so the port is the URI's or the transport's default (5060,
// 5061 for TLS) and the transport is TLS for a sips: URI, else the URI's
// `transport` parameter or the caller's default.
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'
import {parseSipUri, type SipUri} from '../uri.js'
import {defaultSipPort, SipTransportError, type SipTarget, type SipTransportProtocol} from './types.js'

export const DEFAULT_SIP_PORT = 5060

/**
 * The transport a URI asks for, or the fallback. A sips: URI is TLS
 * (`;transport=tcp` on it is the old spelling of the same, RFC 3261 §26.2.2;
 * UDP cannot carry it). SCTP and WebSocket are not supported.
 */
export const uriTransport = (uri: SipUri, fallback: SipTransportProtocol): SipTransportProtocol => {
  const param = uri.params.get('transport')
  const lower = param === undefined || param === null ? undefined : param.toLowerCase()
  if (uri.scheme === 'sips') {
    if (lower === undefined || lower === 'tls' || lower === 'tcp') return 'tls'
    throw new SipTransportError(`a sips: URI cannot use transport=${param}: it needs TLS (${uri.host})`)
  }
  if (lower === undefined) return fallback
  if (lower === 'udp' || lower === 'tcp' || lower === 'tls') return lower
  throw new SipTransportError(`SIP transport ${param} is not supported`)
}

/** An IP address for a host: literals as they are, names through the system resolver. */
export const resolveHost = async (host: string): Promise<string> => {
  if (isIP(host) !== 0) return host
  try {
    return (await lookup(host)).address
  } catch (error) {
    throw new SipTransportError(`cannot resolve ${host}: ${(error as Error).message}`, undefined, {cause: error})
  }
}

/** Where a request for `uri` goes: maddr (RFC 3261 §19.1.1) or host, the URI's port or the transport's default (5060, 5061 for TLS). */
export const resolveSipTarget = async (uri: SipUri | string, fallback: SipTransportProtocol, connectionId?: number): Promise<SipTarget> => {
  const parsed = typeof uri === 'string' ? parseSipUri(uri) : uri
  const transport = uriTransport(parsed, fallback)
  const maddr = parsed.params.get('maddr')
  const hostname = typeof maddr === 'string' ? maddr : parsed.host
  const address = await resolveHost(hostname)
  return {transport, address, port: parsed.port ?? defaultSipPort(transport), connectionId, hostname}
}

/** Parses `host:port`, `[v6]:port` or a bare host (port `defaultPort`, 5060 unless given). */
export const parseHostPort = (text: string, defaultPort = DEFAULT_SIP_PORT): {host: string; port: number} => {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text)
  const plain = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(text)
  const match = bracketed ?? (isIP(text) === 6 ? [text, text, undefined] : plain)
  const host = match?.[1]
  const port = match?.[2] === undefined ? defaultPort : Number(match[2])
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) throw new SipTransportError(`not a host[:port]: ${JSON.stringify(text)}`)
  return {host, port}
}
