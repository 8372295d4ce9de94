// Turning a SIP URI into the address a request is sent to. Names are
// resolved with the system resolver (A/AAAA); RFC 3263 NAPTR and SRV lookups
// are not done, so the port is the URI's or 5060 and the transport is the
// URI's `transport` parameter or the caller's default.
import {lookup} from 'node:dns/promises'
import {isIP} from 'node:net'
import {parseSipUri, type SipUri} from '../uri.js'
import {SipTransportError, type SipTarget, type SipTransportProtocol} from './types.js'

export const DEFAULT_SIP_PORT = 5060

/** The transport a URI asks for, or the fallback; TLS, SCTP and WebSocket are not supported. */
export const uriTransport = (uri: SipUri, fallback: SipTransportProtocol): SipTransportProtocol => {
  if (uri.scheme === 'sips') throw new SipTransportError(`sips: URIs need TLS, which is not supported (${uri.host})`)
  const param = uri.params.get('transport')
  if (param === undefined || param === null) return fallback
  const lower = param.toLowerCase()
  if (lower === 'udp' || lower === 'tcp') return lower
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

/** Where a request for `uri` goes: maddr (RFC 3261 §19.1.1) or host, the URI's port or 5060. */
export const resolveSipTarget = async (uri: SipUri | string, fallback: SipTransportProtocol, connectionId?: number): Promise<SipTarget> => {
  const parsed = typeof uri === 'string' ? parseSipUri(uri) : uri
  const transport = uriTransport(parsed, fallback)
  const maddr = parsed.params.get('maddr')
  const address = await resolveHost(typeof maddr === 'string' ? maddr : parsed.host)
  return {transport, address, port: parsed.port ?? DEFAULT_SIP_PORT, connectionId}
}

/** Parses `host:port`, `[v6]:port` or a bare host (port 5060). */
export const parseHostPort = (text: string): {host: string; port: number} => {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text)
  const plain = /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(text)
  const match = bracketed ?? (isIP(text) === 6 ? [text, text, undefined] : plain)
  const host = match?.[1]
  const port = match?.[2] === undefined ? DEFAULT_SIP_PORT : Number(match[2])
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) throw new SipTransportError(`not a host[:port]: ${JSON.stringify(text)}`)
  return {host, port}
}
