// Certificates for the TLS tests, made by Debian's `openssl` in a temporary
// folder: a CA the gateway and its peers trust, a server and a client
// certificate it signed (both naming 127.0.0.1 and localhost), a rogue CA
// nobody trusts with its own server and client certificate, and server and
// client certificates of the trusted CA that have expired. Every key is
// written beside its certificate, and `pem` holds both (what baresip reads).
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface CertificateFiles {
  readonly cert: string
  readonly key: string
  /** Certificate and key in one file. */
  readonly pem: string
}

export interface TestCertificates {
  readonly dir: string
  /** The trusted CA's certificate. */
  readonly ca: string
  readonly server: CertificateFiles
  readonly client: CertificateFiles
  /** A CA nobody trusts. */
  readonly rogueCa: string
  readonly rogueServer: CertificateFiles
  readonly rogueClient: CertificateFiles
  /** Signed by the trusted CA, expired yesterday. */
  readonly expiredServer: CertificateFiles
  readonly expiredClient: CertificateFiles
  remove(): void
}

const openssl = (dir: string, args: string[]): void => {
  execFileSync('openssl', args, {cwd: dir, stdio: ['ignore', 'ignore', 'pipe']})
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

const makeCa = (dir: string, name: string): void => {
  openssl(dir, ['req', '-x509', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=ClutchCall test ${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
}

/** A leaf certificate for 127.0.0.1 and localhost signed by `ca`; `days` -1 makes it expired (notAfter before now). */
const makeLeaf = (dir: string, name: string, ca: string, days: number): CertificateFiles => {
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\n')
  openssl(dir, ['req', '-new', ...EC_KEY, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`])
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', String(days), '-extfile', `${name}.ext`, '-out', `${name}.crt`])
  const files = {cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`), pem: join(dir, `${name}.pem`)}
  writeFileSync(files.pem, readFileSync(files.cert, 'utf8') + readFileSync(files.key, 'utf8'))
  return files
}

export const makeTestCertificates = (): TestCertificates => {
  const dir = mkdtempSync(join(tmpdir(), 'cc-tls-'))
  makeCa(dir, 'ca')
  makeCa(dir, 'rogue-ca')
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    server: makeLeaf(dir, 'server', 'ca', 30),
    client: makeLeaf(dir, 'client', 'ca', 30),
    rogueCa: join(dir, 'rogue-ca.crt'),
    rogueServer: makeLeaf(dir, 'rogue-server', 'rogue-ca', 30),
    rogueClient: makeLeaf(dir, 'rogue-client', 'rogue-ca', 30),
    expiredServer: makeLeaf(dir, 'expired-server', 'ca', -1),
    expiredClient: makeLeaf(dir, 'expired-client', 'ca', -1),
    remove: () => rmSync(dir, {recursive: true, force: true}),
  }
}
