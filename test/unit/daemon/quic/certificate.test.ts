import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {certificateNames, GENERATED_VALIDITY_MS, loadCertificate, needsRenewal, RENEW_BEFORE_MS} from '../../../../daemon/quic/certificate.js'
import {CCError} from '../../../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'cc-quic-cert-'))
after(() => rmSync(dir, {recursive: true, force: true}))

describe('QUIC certificate', () => {
  it('generates a self-signed ECDSA P-256 certificate for loopback and the listen address, valid at most 14 days, key mode 0600', async () => {
    const quicDir = join(dir, 'gen')
    const certificate = await loadCertificate({quicDir, listenHost: '192.0.2.7'})
    assert.equal(certificate.source, 'generated')
    const x509 = new X509Certificate(readFileSync(join(quicDir, 'cert.pem')))
    assert.equal(x509.publicKey.asymmetricKeyType, 'ec')
    assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
    assert.ok(x509.verify(x509.publicKey), 'self-signed')
    // The fingerprint is the one openssl and Node print for the DER certificate.
    assert.equal(certificate.sha256, x509.fingerprint256)
    const lifetime = new Date(x509.validTo).getTime() - new Date(x509.validFrom).getTime()
    assert.ok(lifetime <= 14 * 86_400_000, `valid ${lifetime / 86_400_000} days`)
    assert.ok(lifetime >= GENERATED_VALIDITY_MS - 1000)
    assert.match(x509.subjectAltName ?? '', /IP Address:127\.0\.0\.1/)
    assert.match(x509.subjectAltName ?? '', /IP Address:192\.0\.2\.7/)
    assert.match(x509.subjectAltName ?? '', /DNS:localhost/)
    assert.equal(statSync(join(quicDir, 'key.pem')).mode & 0o777, 0o600)
    assert.equal(statSync(quicDir).mode & 0o777, 0o700)
  })

  it('reuses the generated certificate while it is valid, and renews it when fewer than 3 days remain', async () => {
    const quicDir = join(dir, 'reuse')
    const first = await loadCertificate({quicDir, listenHost: '127.0.0.1'})
    const again = await loadCertificate({quicDir, listenHost: '127.0.0.1'})
    assert.equal(again.sha256, first.sha256)
    const late = first.notAfter.getTime() - RENEW_BEFORE_MS + 1000
    assert.equal(needsRenewal(first, late), true)
    assert.equal(needsRenewal(first, Date.now()), false)
    const renewed = await loadCertificate({quicDir, listenHost: '127.0.0.1', now: late})
    assert.notEqual(renewed.sha256, first.sha256)
    assert.ok(renewed.notAfter.getTime() > first.notAfter.getTime())
  })

  it('makes a new one when the files in the home are broken', async () => {
    const quicDir = join(dir, 'broken')
    await loadCertificate({quicDir, listenHost: '127.0.0.1'})
    writeFileSync(join(quicDir, 'cert.pem'), 'not a certificate')
    const fresh = await loadCertificate({quicDir, listenHost: '127.0.0.1'})
    assert.equal(fresh.sha256, new X509Certificate(readFileSync(join(quicDir, 'cert.pem'))).fingerprint256)
  })

  it('serves configured files as they are, and refuses a key that is not the certificate\'s, or a file that is missing', async () => {
    const a = await loadCertificate({quicDir: join(dir, 'a'), listenHost: '127.0.0.1'})
    const b = await loadCertificate({quicDir: join(dir, 'b'), listenHost: '127.0.0.1'})
    const configured = await loadCertificate({cert: a.certPath, key: a.keyPath, quicDir: join(dir, 'unused'), listenHost: '127.0.0.1'})
    assert.equal(configured.source, 'configured')
    assert.equal(configured.sha256, a.sha256)
    assert.equal(needsRenewal(configured, configured.notAfter.getTime()), false, 'a configured certificate is never replaced')
    const refusal = (promise: Promise<unknown>, pattern: RegExp) =>
      assert.rejects(promise, (error: unknown) => error instanceof CCError && error.code === 'CC_ERR_QUIC_CERT' && pattern.test(error.message))
    await refusal(loadCertificate({cert: a.certPath, key: b.keyPath, quicDir: dir, listenHost: '127.0.0.1'}), /is not the private key of/)
    await refusal(loadCertificate({cert: join(dir, 'missing.pem'), key: a.keyPath, quicDir: dir, listenHost: '127.0.0.1'}), /missing\.pem: ENOENT/)
    await refusal(loadCertificate({cert: a.keyPath, key: a.keyPath, quicDir: dir, listenHost: '127.0.0.1'}), /is not a PEM certificate/)
  })

  it('names loopback, localhost and a specific listen address, not a wildcard', () => {
    assert.deepEqual(certificateNames('0.0.0.0').sort(), ['127.0.0.1', '::1', 'localhost'])
    assert.ok(certificateNames('10.1.2.3').includes('10.1.2.3'))
  })
})
