// The Via header (RFC 3261 §20.42, §18.2.1; rport from RFC 3581). One header
// line may carry several comma-separated via-parms.
import {isIPv4, isIPv6} from 'node:net'
import {syntaxError} from './errors.js'
import {Cursor, isValidHost, parseBoundedInteger} from './grammar.js'
import {readHeaderParams, SipParams} from './params.js'

/** RFC 3261 §8.1.1.7: branches starting with it are unique per transaction. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK'

export interface Via {
  /** `SIP` in practice. */
  protocol: string
  /** `2.0` in practice. */
  version: string
  /** Upper-case transport: UDP, TCP, TLS, SCTP, WS, WSS or an extension. */
  transport: string
  /** Hostname or IP address; IPv6 without brackets. */
  host: string
  port?: number | undefined
  params: SipParams
}

const HOST_CHAR = /[A-Za-z0-9\-._]/

const validateViaParams = (params: SipParams): void => {
  for (const {name, value} of params) {
    switch (name.toLowerCase()) {
      case 'branch':
        if (value === null) throw syntaxError('Via branch has no value')
        break
      case 'received':
        if (value === null || !(isIPv4(value) || isIPv6(value.replace(/^\[(.*)\]$/, '$1')))) throw syntaxError('Via received is not an IP address')
        break
      case 'rport':
        if (value !== null && parseBoundedInteger(value, 65_535) === undefined) throw syntaxError('Via rport is not a port')
        break
      case 'maddr':
        if (value === null || !isValidHost(value.replace(/^\[(.*)\]$/, '$1'))) throw syntaxError('Via maddr is not a host')
        break
      case 'ttl':
        if (value === null || parseBoundedInteger(value, 255) === undefined) throw syntaxError('Via ttl is not 0-255')
        break
    }
  }
}

const readVia = (cursor: Cursor): Via => {
  cursor.skipWs()
  const protocol = cursor.readToken('Via protocol name')
  if (!cursor.consume('/', true)) throw syntaxError('expected / in Via sent-protocol')
  cursor.skipWs()
  const version = cursor.readToken('Via protocol version')
  if (!cursor.consume('/', true)) throw syntaxError('expected / in Via sent-protocol')
  cursor.skipWs()
  const transport = cursor.readToken('Via transport').toUpperCase()
  if (!cursor.skipWs()) throw syntaxError('expected whitespace before the Via sent-by')
  let host: string
  if (cursor.consume('[')) {
    host = cursor.readWhile(/[0-9A-Fa-f:.]/)
    cursor.expect(']', 'to close the IPv6 reference in Via')
    if (!isIPv6(host)) throw syntaxError('bad IPv6 address in Via')
  } else {
    host = cursor.readWhile(HOST_CHAR)
    if (!isValidHost(host)) throw syntaxError('bad host in Via')
  }
  let port: number | undefined
  if (cursor.consume(':', true)) {
    cursor.skipWs()
    port = parseBoundedInteger(cursor.readWhile(/\d/), 65_535)
    if (port === undefined) throw syntaxError('bad port in Via')
  }
  const params = readHeaderParams(cursor, 'Via')
  validateViaParams(params)
  return {protocol, version, transport, host, port, params}
}

/** Parses one Via header value into its via-parms, in order. */
export const parseVia = (value: string): Via[] => {
  const cursor = new Cursor(value)
  const vias: Via[] = []
  do {
    vias.push(readVia(cursor))
    cursor.skipWs()
  } while (cursor.consume(','))
  cursor.expectEnd('Via')
  return vias
}

export const formatVia = (via: Via): string => {
  const host = via.host.includes(':') ? `[${via.host}]` : via.host
  return `${via.protocol}/${via.version}/${via.transport} ${host}${via.port === undefined ? '' : `:${via.port}`}${via.params.toString()}`
}

export const viaBranch = (via: Via): string | undefined => via.params.get('branch') ?? undefined

/** The rport parameter: a number once filled in, null when requested (valueless), undefined when absent. */
export const viaRport = (via: Via): number | null | undefined => {
  const value = via.params.get('rport')
  return value === undefined || value === null ? value : Number(value)
}

export const viaReceived = (via: Via): string | undefined => via.params.get('received') ?? undefined

export const viaMaddr = (via: Via): string | undefined => via.params.get('maddr') ?? undefined
