// The TLS side of the SIP config (docs/sip-tls.md): the certificate, key and
// client verification of the TLS listeners, read once at start, and the
// client profile of each TLS trunk — whom the gateway trusts and what it
// presents when it connects to that carrier. A file that cannot be read, or
// a certificate and key that do not belong together, stops the start with
// an error naming the file and the key.
import {readFileSync} from 'node:fs'
import {createSecureContext} from 'node:tls'
import {X509Certificate} from 'node:crypto'
import type {Logger} from 'pino'
import type {Config} from '../../src/config/schema.js'
import {isTlsUri} from '../../src/config/schema.js'
import {CCError} from '../../src/errors.js'
import type {TlsTarget} from '../../src/sip/transport/tcp-pool.js'
import {defaultSipPort, type SipTlsClientProfile, type SipTlsServerOptions} from '../../src/sip/transport/types.js'
import {parseSipUri} from '../../src/sip/uri.js'

export interface TlsMaterial {
  /** For the TLS listeners; undefined without sip.tls. */
  readonly server: SipTlsServerOptions | undefined
  /** The profile to connect to a TLS server with: its trunk's, else the default. */
  readonly client: (target: TlsTarget) => SipTlsClientProfile
  /** The listeners' certificate, for `status` and the start-up log. */
  readonly certificate: {readonly subject: string; readonly validTo: string} | undefined
}

const readPem = (path: string, what: string, key: string): Buffer => {
  try {
    return readFileSync(path)
  } catch (error) {
    const failure = error as NodeJS.ErrnoException
    throw new CCError('CC_ERR_TLS_FILE', {path, what, key, detail: failure.code ?? failure.message}, {cause: error})
  }
}

/** Fails at start-up, not at the first handshake, when a certificate and key do not make a usable context. */
const checkPair = (cert: Buffer, key: Buffer, path: string, where: string): void => {
  try {
    createSecureContext({cert, key})
  } catch (error) {
    throw new CCError('CC_ERR_TLS_FILE', {path, what: 'certificate and key', key: where, detail: (error as Error).message.split('\n')[0]}, {cause: error})
  }
}

const peerKey = (host: string, port: number): string => `${host.toLowerCase()}|${port}`

export const loadTlsMaterial = (config: Config, log: Logger): TlsMaterial => {
  const tls = config.sip.tls
  let server: SipTlsServerOptions | undefined
  let certificate: TlsMaterial['certificate']
  if (tls !== undefined) {
    const cert = readPem(tls.cert, 'certificate', 'sip.tls.cert')
    const key = readPem(tls.key, 'key', 'sip.tls.key')
    checkPair(cert, key, tls.cert, 'sip.tls.cert, sip.tls.key')
    const ca = tls.ca === undefined ? undefined : readPem(tls.ca, 'CA', 'sip.tls.ca')
    // A trunk that requires client certificates makes the listener ask every client for one; whether it verified is checked per call.
    const requestClientCert = config.trunks.some((trunk) => trunk.inbound?.require_client_cert === true)
    server = {cert, key, ca, verifyClient: tls.verify_client, requestClientCert, minVersion: tls.min_version, handshakeTimeoutMs: config.security.limits.tls_handshake_timeout_ms}
    try {
      const x509 = new X509Certificate(cert)
      certificate = {subject: x509.subject.replace(/\n/g, ', '), validTo: new Date(x509.validTo).toISOString()}
      const now = Date.now()
      if (Date.parse(x509.validTo) < now) log.warn({cert: tls.cert, valid_to: x509.validTo}, 'the TLS certificate of the SIP listeners has expired: peers that verify it will refuse every connection')
      else if (Date.parse(x509.validFrom) > now) log.warn({cert: tls.cert, valid_from: x509.validFrom}, 'the TLS certificate of the SIP listeners is not valid yet')
    } catch {
      // A chain whose first block X509Certificate cannot read still made a secure context; nothing to report.
    }
  }
  const ownCert = server === undefined ? {} : {cert: server.cert, key: server.key}
  const defaults: SipTlsClientProfile = {verifyServer: true, minVersion: tls?.min_version ?? 'TLSv1.2', ...(server?.ca === undefined ? {} : {ca: server.ca}), ...ownCert}
  const byPeer = new Map<string, SipTlsClientProfile>()
  const byHost = new Map<string, SipTlsClientProfile>()
  config.trunks.forEach((trunk, index) => {
    const outbound = trunk.outbound
    // The registrar (outbound.register.registrar) is the same carrier: the same profile when it is reached over TLS.
    const tlsUris = outbound === undefined ? [] : [outbound.uri, ...(outbound.register?.registrar === undefined ? [] : [outbound.register.registrar])].filter(isTlsUri)
    if (outbound === undefined || tlsUris.length === 0) return
    const settings = outbound.tls
    const where = `trunks[${index}].outbound.tls`
    const cert = settings?.cert === undefined ? undefined : readPem(settings.cert, 'client certificate', `${where}.cert`)
    const key = settings?.key === undefined ? undefined : readPem(settings.key, 'client key', `${where}.key`)
    if (cert !== undefined && key !== undefined && settings?.cert !== undefined) checkPair(cert, key, settings.cert, `${where}.cert, ${where}.key`)
    const ca = settings?.ca === undefined ? defaults.ca : readPem(settings.ca, 'CA', `${where}.ca`)
    const profile: SipTlsClientProfile = {
      verifyServer: settings?.verify_server ?? true,
      minVersion: settings?.min_version ?? 'TLSv1.2',
      ...(ca === undefined ? {} : {ca}),
      ...(cert !== undefined && key !== undefined ? {cert, key} : ownCert),
      ...(settings?.server_name === undefined ? {} : {serverName: settings.server_name}),
      label: `trunk ${trunk.id}`,
    }
    if (!profile.verifyServer) log.warn({trunk_id: trunk.id}, 'TLS to this trunk does not verify the server certificate (verify_server: false): anyone on the path can pose as the carrier')
    for (const tlsUri of tlsUris) {
      const uri = parseSipUri(tlsUri)
      byPeer.set(peerKey(uri.host, uri.port ?? defaultSipPort('tls')), profile)
      // A uri without a port may be resolved through SRV (RFC 3263) to other ports: its host name alone finds the profile too.
      if (uri.port === undefined) byHost.set(uri.host.toLowerCase(), profile)
    }
  })
  const client = (target: TlsTarget): SipTlsClientProfile =>
    (target.hostname === undefined ? undefined : (byPeer.get(peerKey(target.hostname, target.port)) ?? byHost.get(target.hostname.toLowerCase()))) ?? byPeer.get(peerKey(target.address, target.port)) ?? defaults
  return {server, client, certificate}
}
