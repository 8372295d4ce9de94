// Which TLS client profile a connection to a trunk gets: by the URI's host and
// port, and, for a URI without a port (resolved through SRV, RFC 3263), by its
// host on whatever port SRV gave.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import pino from 'pino'
import {loadTlsMaterial} from '../../../../daemon/sip/tls-profiles.js'
import {parseConfigText} from '../../../../src/config/load.js'
import {makeTestCertificates, type TestCertificates} from '../../../helpers/tls-certs.js'

describe('TLS client profiles of trunks', () => {
  let certs: TestCertificates
  before(() => {
    certs = makeTestCertificates()
  })
  after(() => certs.remove())

  const material = () =>
    loadTlsMaterial(
      parseConfigText(
        `sip:
  listen:
    - { transport: tls, address: 127.0.0.1, port: 0 }
  tls: { cert: ${certs.server.cert}, key: ${certs.server.key} }
tenants:
  - { id: acme, dialplan: default }
trunks:
  - { id: by-srv, tenant: acme, outbound: { uri: "sips:carrier.test", tls: { ca: ${certs.rogueCa} } } }
  - { id: fixed-port, tenant: acme, outbound: { uri: "sips:other.test:5071", tls: { ca: ${certs.rogueCa} } } }
`,
        'profiles.yaml',
      ),
      pino({level: 'silent'}),
    )

  it('a URI without a port: its profile on any port SRV gives, matched by host name (any case)', () => {
    const {client} = material()
    assert.equal(client({hostname: 'carrier.test', address: '192.0.2.1', port: 5061}).label, 'trunk by-srv')
    assert.equal(client({hostname: 'Carrier.Test', address: '192.0.2.2', port: 15061}).label, 'trunk by-srv')
  })

  it('a URI with a port: its profile on that port only; elsewhere the defaults', () => {
    const {client} = material()
    assert.equal(client({hostname: 'other.test', address: '192.0.2.3', port: 5071}).label, 'trunk fixed-port')
    assert.equal(client({hostname: 'other.test', address: '192.0.2.3', port: 5072}).label, undefined)
  })
})
