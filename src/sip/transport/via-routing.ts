// Server-side Via handling of the transport layer: stamping `received` and
// `rport` on the top Via of a received request (RFC 3261 §18.2.1, RFC 3581
// §4), and the address a response goes to (RFC 3261 §18.2.2, RFC 3581 §4).
import {isIP} from 'node:net'
import {SipHeaders, headerKey} from '../headers.js'
import type {SipMessage} from '../message.js'
import {formatVia, parseVia, viaReceived, viaRport, type Via} from '../via.js'
import {defaultSipPort, type SipTransportProtocol, type SocketAddress} from './types.js'

const sameAddress = (host: string, address: string): boolean => {
  if (host === address) return true
  // IPv6 may be written in several ways; compare the canonical forms.
  return isIP(host) === 6 && isIP(address) === 6 && new URL(`http://[${host}]`).hostname === new URL(`http://[${address}]`).hostname
}

/**
 * Adds `received` when the sent-by host differs from the packet's source
 * address, and fills a valueless `rport` with the source port (then
 * `received` is added even when equal, RFC 3581 §4). Only the first via-parm
 * of the first Via line changes; every other header line stays as written.
 * Returns false when the top Via does not parse (the caller drops the message).
 */
export const stampTopVia = (message: SipMessage, source: SocketAddress): boolean => {
  let firstLine: string | undefined
  for (const header of message.headers) {
    if (headerKey(header.name) === 'via') {
      firstLine = header.value
      break
    }
  }
  if (firstLine === undefined) return false
  let vias: Via[]
  try {
    vias = parseVia(firstLine)
  } catch {
    return false
  }
  const top = vias[0]
  if (top === undefined) return false
  const rportRequested = viaRport(top) === null
  if (!rportRequested && sameAddress(top.host, source.address)) return true
  top.params.set('received', source.address, {quoted: false})
  if (rportRequested) top.params.set('rport', String(source.port), {quoted: false})
  const stamped = vias.map(formatVia).join(', ')
  const headers = new SipHeaders()
  let replaced = false
  for (const header of message.headers) {
    if (!replaced && headerKey(header.name) === 'via') {
      headers.append(header.name, stamped)
      replaced = true
    } else {
      headers.append(header.name, header.value)
    }
  }
  message.headers = headers
  return true
}

/**
 * Where a response goes when it cannot use the connection its request came
 * on (TCP), or always (UDP): the `received` address, else the sent-by host;
 * on UDP the `rport` port when filled in, else the sent-by port, else 5060
 * (5061 for TLS).
 * Multicast (`maddr`) is not supported: the unicast rules apply.
 */
export const responseDestination = (message: SipMessage, transport: SipTransportProtocol): {host: string; port: number} | undefined => {
  const line = message.headers.get('via')
  if (line === undefined) return undefined
  let top: Via | undefined
  try {
    top = parseVia(line)[0]
  } catch {
    return undefined
  }
  if (top === undefined) return undefined
  const host = viaReceived(top) ?? top.host
  const rport = viaRport(top)
  const port = transport === 'udp' && typeof rport === 'number' ? rport : (top.port ?? defaultSipPort(transport))
  return {host, port}
}
