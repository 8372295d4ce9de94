// The QUIC listener's TLS certificate: the configured PEM files, or a
// self-signed ECDSA P-256 certificate generated into the home. node:crypto
// makes keys but not X.509 certificates; @peculiar/x509 (pure TypeScript over
// WebCrypto, already in the tree through werift) builds and parses them.
//
// A generated certificate is valid 13 days: browsers accept a self-signed
// certificate pinned by hash (WebTransport's serverCertificateHashes) only for
// at most 14. It is renewed when fewer than 3 days remain, at start and while
// the daemon runs; clients pin its SHA-256, which `clutchcall status` shows.
import {createHash, createPrivateKey, webcrypto, X509Certificate} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import * as x509 from '@peculiar/x509'
import {CCError} from '../../src/errors.js'
import {expandTilde} from '../../src/paths.js'

const DAY_MS = 86_400_000
export const GENERATED_VALIDITY_MS = 13 * DAY_MS
export const RENEW_BEFORE_MS = 3 * DAY_MS
const ALGORITHM = {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'} as const

export interface QuicCertificate {
  readonly certPem: string
  readonly keyPem: string
  /** SHA-256 of the DER certificate, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256` prints it). */
  readonly sha256: string
  readonly notAfter: Date
  /** `configured` (quic.cert / quic.key) or `generated` (self-signed, in the home). */
  readonly source: 'configured' | 'generated'
  readonly certPath: string
  readonly keyPath: string
}

export const fingerprintOf = (der: Uint8Array): string =>
  createHash('sha256')
    .update(der)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:')

const certError = (detail: string, cause?: unknown): CCError => new CCError('CC_ERR_QUIC_CERT', {detail}, cause === undefined ? undefined : {cause})

/** Reads a certificate and key pair from PEM files and checks that they belong together. */
const readPair = (certPath: string, keyPath: string, source: QuicCertificate['source']): QuicCertificate => {
  let certPem: string
  let keyPem: string
  try {
    certPem = readFileSync(certPath, 'utf8')
    keyPem = readFileSync(keyPath, 'utf8')
  } catch (error) {
    throw certError(`${(error as NodeJS.ErrnoException).path ?? certPath}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, error)
  }
  let certificate: X509Certificate
  try {
    certificate = new X509Certificate(certPem)
  } catch (error) {
    throw certError(`${certPath} is not a PEM certificate (${(error as Error).message})`, error)
  }
  try {
    if (!certificate.checkPrivateKey(createPrivateKey(keyPem))) throw certError(`${keyPath} is not the private key of ${certPath}`)
  } catch (error) {
    if (error instanceof CCError) throw error
    throw certError(`${keyPath} is not a PEM private key (${(error as Error).message})`, error)
  }
  return {certPem, keyPem, sha256: fingerprintOf(certificate.raw), notAfter: new Date(certificate.validTo), source, certPath, keyPath}
}

const pemOf = (label: string, der: ArrayBuffer): string => `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`

/** A new self-signed ECDSA P-256 certificate for `names` (IP addresses and DNS names), valid from a minute ago for GENERATED_VALIDITY_MS. */
export const generateSelfSigned = async (names: readonly string[], now = Date.now()): Promise<{certPem: string; keyPem: string}> => {
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])
  const keys = await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=ClutchCall QUIC',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + GENERATED_VALIDITY_MS),
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => (/^[\d.]+$|:/.test(value) ? {type: 'ip' as const, value} : {type: 'dns' as const, value}))),
    ],
  })
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return {certPem: certificate.toString('pem') + '\n', keyPem: pemOf('PRIVATE KEY', pkcs8)}
}

/** The names a generated certificate is for: the listen address (unless a wildcard), loopback and localhost. */
export const certificateNames = (listenHost: string): string[] => {
  const names = new Set(['127.0.0.1', '::1', 'localhost'])
  if (listenHost !== '0.0.0.0' && listenHost !== '::' && listenHost !== '') names.add(listenHost)
  return [...names]
}

/**
 * The certificate to serve: the configured files, else the generated one in `quicDir`
 * (made now when there is none, or when it ends within RENEW_BEFORE_MS or cannot be read).
 */
export const loadCertificate = async (options: {readonly cert?: string; readonly key?: string; readonly quicDir: string; readonly listenHost: string; readonly now?: number}): Promise<QuicCertificate> => {
  if (options.cert !== undefined && options.key !== undefined) return readPair(expandTilde(options.cert), expandTilde(options.key), 'configured')
  const certPath = join(options.quicDir, 'cert.pem')
  const keyPath = join(options.quicDir, 'key.pem')
  const now = options.now ?? Date.now()
  if (existsSync(certPath) && existsSync(keyPath)) {
    try {
      const current = readPair(certPath, keyPath, 'generated')
      if (current.notAfter.getTime() - now > RENEW_BEFORE_MS) return current
    } catch {
      // Unreadable or mismatched: made anew below.
    }
  }
  const {certPem, keyPem} = await generateSelfSigned(certificateNames(options.listenHost), now)
  mkdirSync(options.quicDir, {recursive: true, mode: 0o700})
  chmodSync(options.quicDir, 0o700)
  // Key first, each through a temporary file: a reader never sees a certificate without its key.
  writeFileSync(`${keyPath}.tmp`, keyPem, {mode: 0o600})
  renameSync(`${keyPath}.tmp`, keyPath)
  writeFileSync(`${certPath}.tmp`, certPem, {mode: 0o644})
  renameSync(`${certPath}.tmp`, certPath)
  return readPair(certPath, keyPath, 'generated')
}

/** True when a generated certificate should be replaced now. */
export const needsRenewal = (certificate: QuicCertificate, now = Date.now()): boolean => certificate.source === 'generated' && certificate.notAfter.getTime() - now <= RENEW_BEFORE_MS
