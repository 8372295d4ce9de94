// The TLS keys of the config: a TLS listener needs sip.tls, verify_client
// needs a CA, a call over TLS needs a TLS listener, a trunk's outbound.tls
// applies to TLS URIs only; the defaults (TLS 1.2, verify_server on, a 5 s
// handshake limit within its bounds) and paths made absolute from the
// config file's folder.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText, resolveConfigPaths} from '../../../../src/config/load.js'
import {isTlsUri} from '../../../../src/config/schema.js'
import {CCError} from '../../../../src/errors.js'

const problems = (text: string): string[] => {
  try {
    parseConfigText(text, 'test.yaml')
  } catch (error) {
    assert.ok(error instanceof CCError)
    return (error.data as {problems: Array<{path: string; message: string}>}).problems.map((problem) => `${problem.path}: ${problem.message}`)
  }
  assert.fail('expected the config to be rejected')
}

const TLS_LISTENER = `sip:
  listen:
    - { transport: udp, address: 127.0.0.1, port: 5060 }
    - { transport: tls, address: 127.0.0.1, port: 5061 }
`
const TENANT = 'tenants: [{ id: acme, dialplan: default }]\n'

describe('sip.tls', () => {
  it('is required by a TLS listener', () => {
    assert.deepEqual(problems(TLS_LISTENER), ['sip.listen[1].transport: a TLS listener needs a certificate and key: set sip.tls.cert and sip.tls.key'])
  })

  it('defaults to TLS 1.2 at least, no client certificates, a 5 s handshake', () => {
    const config = parseConfigText(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key }\n`, 'tls.yaml')
    assert.deepEqual(config.sip.tls, {cert: 'gw.crt', key: 'gw.key', verify_client: false, min_version: 'TLSv1.2'})
    assert.equal(config.security.limits.tls_handshake_timeout_ms, 5000)
  })

  it('needs a CA to verify client certificates, and takes TLS 1.3 only', () => {
    assert.deepEqual(problems(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key, verify_client: true }\n`), ['sip.tls.verify_client: verifying client certificates needs the CA that signs them: set sip.tls.ca'])
    const config = parseConfigText(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key, ca: ca.crt, verify_client: true, min_version: TLSv1.3 }\n`, 'tls.yaml')
    assert.equal(config.sip.tls?.min_version, 'TLSv1.3')
    assert.match(problems(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key, min_version: TLSv1.1 }\n`).join('\n'), /^sip\.tls\.min_version: /)
  })

  it('a trunk that requires client certificates needs a TLS listener and sip.tls.ca', () => {
    const trunk = `${TENANT}trunks:\n  - { id: carrier, tenant: acme, inbound: { cidrs: [192.0.2.1], require_client_cert: true } }\n`
    const expected = ['trunks[0].inbound.require_client_cert: client certificates are checked on a TLS listener against sip.tls.ca: add both']
    assert.deepEqual(problems(trunk), expected)
    assert.deepEqual(problems(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key }\n${trunk}`), expected)
    assert.equal(parseConfigText(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key, ca: ca.crt }\n${trunk}`, 'ok.yaml').trunks[0]?.inbound?.require_client_cert, true)
  })

  it('bounds the handshake timeout to 100 ms - 60 s', () => {
    assert.match(problems('security:\n  limits: { tls_handshake_timeout_ms: 50 }\n').join('\n'), /^security\.limits\.tls_handshake_timeout_ms: /)
    assert.match(problems('security:\n  limits: { tls_handshake_timeout_ms: 600000 }\n').join('\n'), /^security\.limits\.tls_handshake_timeout_ms: /)
    assert.equal(parseConfigText('security:\n  limits: { tls_handshake_timeout_ms: 2000 }\n', 'ok.yaml').security.limits.tls_handshake_timeout_ms, 2000)
  })
})

describe('TLS trunks', () => {
  it('knows a TLS URI: sips:, or transport=tls', () => {
    assert.equal(isTlsUri('sips:sbc.example'), true)
    assert.equal(isTlsUri('sip:sbc.example:5061;transport=tls'), true)
    assert.equal(isTlsUri('sip:sbc.example;transport=TLS;lr'), true)
    assert.equal(isTlsUri('sip:sbc.example;transport=tcp'), false)
    assert.equal(isTlsUri('sip:tls.example'), false)
  })

  it('need a TLS listener for their Via and Contact', () => {
    assert.deepEqual(problems(`${TENANT}trunks:\n  - { id: carrier, tenant: acme, outbound: { uri: "sips:sbc.example" } }\n`), [
      'trunks[0].outbound.uri: a call over TLS (sips: or transport=tls) needs a TLS listener in sip.listen for its Via and Contact',
    ])
  })

  it('verify the server by default; outbound.tls applies to TLS URIs only and needs cert and key together', () => {
    const config = parseConfigText(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key }\n${TENANT}trunks:\n  - { id: carrier, tenant: acme, outbound: { uri: "sip:sbc.example;transport=tls", tls: { ca: carrier.crt } } }\n`, 'trunk.yaml')
    assert.equal(config.trunks[0]?.outbound?.tls?.verify_server, true)
    assert.deepEqual(problems(`${TENANT}trunks:\n  - { id: carrier, tenant: acme, outbound: { uri: "sip:sbc.example", tls: { verify_server: false } } }\n`), [
      'trunks[0].outbound.tls: outbound.tls applies to TLS only: make the uri sips: or add ;transport=tls',
    ])
    assert.ok(
      problems(`${TLS_LISTENER}  tls: { cert: gw.crt, key: gw.key }\n${TENANT}trunks:\n  - { id: carrier, tenant: acme, outbound: { uri: "sips:sbc.example", tls: { cert: me.crt } } }\n`).includes(
        'trunks[0].outbound.tls: a client certificate needs both cert and key',
      ),
    )
  })

  it('a bridge node to a sips: URI needs a TLS listener too', () => {
    const plan = `dialplans:\n  default:\n    start: out\n    nodes:\n      out: { type: bridge, uri: "sips:+1555@sbc.example" }\n`
    assert.deepEqual(problems(plan), ['dialplans.default.nodes.out.uri: a call over TLS (sips: or transport=tls) needs a TLS listener in sip.listen for its Via and Contact'])
  })
})

describe('TLS file paths', () => {
  it('are made absolute from the config file\'s folder; ~/ is the user\'s home; absolute ones stay', () => {
    const config = parseConfigText(`${TLS_LISTENER}  tls: { cert: tls/gw.crt, key: /etc/gw.key, ca: ~/ca.crt }\n${TENANT}trunks:\n  - { id: carrier, tenant: acme, outbound: { uri: "sips:sbc.example", tls: { ca: carrier.crt } } }\n`, 'paths.yaml')
    const resolved = resolveConfigPaths(config, '/srv/clutchcall')
    assert.equal(resolved.sip.tls?.cert, '/srv/clutchcall/tls/gw.crt')
    assert.equal(resolved.sip.tls?.key, '/etc/gw.key')
    assert.match(resolved.sip.tls?.ca ?? '', /^\/.*\/ca\.crt$/)
    assert.doesNotMatch(resolved.sip.tls?.ca ?? '', /~/)
    assert.equal(resolved.trunks[0]?.outbound?.tls?.ca, '/srv/clutchcall/carrier.crt')
  })
})
