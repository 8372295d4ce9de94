import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {planTrunks, registrationOptionsOf} from '../../../../daemon/trunks/trunk-monitor.js'

const CONFIG = parseConfigText(
  `
sip:
  listen: [{ transport: tls, address: 127.0.0.1, port: 5061 }]
  tls: { cert: gw.crt, key: gw.key }
tenants:
  - { id: acme, dialplan: default }
trunks:
  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", failover: [b, c] } }
  - { id: b, tenant: acme, outbound: { uri: "sip:b.example", failover: [a] } }
  - { id: c, tenant: acme, outbound: { uri: "sips:c.example:5071", auth: { username: acme, password: pw }, register: { expires_s: 600 } } }
  - { id: d, tenant: acme, outbound: { uri: "sip:+1555@d.example;transport=tcp", register: { username: u, password: p, registrar: "sip:reg.d.example;transport=tcp", domain: d.example, realm: r, contact_user: line-1 } } }
`,
  'test.yaml',
)

describe('planTrunks', () => {
  const ids = (plan: {trunks: ReadonlyArray<{id: string}>}) => plan.trunks.map((trunk) => trunk.id)

  it('the trunk first, then its failover list in order; only its own list (no chains)', () => {
    assert.deepEqual(ids(planTrunks('a', CONFIG.trunks, () => true)), ['a', 'b', 'c'])
    assert.deepEqual(ids(planTrunks('b', CONFIG.trunks, () => true)), ['b', 'a'])
  })

  it('skips down trunks and names them', () => {
    const plan = planTrunks('a', CONFIG.trunks, (id) => id !== 'a' && id !== 'c')
    assert.deepEqual(ids(plan), ['b'])
    assert.deepEqual(plan.skipped, ['a', 'c'])
  })

  it('every trunk down: nothing to try, all named; an unknown trunk: nothing at all', () => {
    assert.deepEqual(planTrunks('a', CONFIG.trunks, () => false), {trunks: [], skipped: ['a', 'b', 'c']})
    assert.deepEqual(planTrunks('zz', CONFIG.trunks, () => true), {trunks: [], skipped: []})
  })
})

describe('registrationOptionsOf', () => {
  it('defaults: registrar from outbound.uri, credentials from outbound.auth, contact user the username, AoR on the registrar host', () => {
    const trunk = CONFIG.trunks.find((candidate) => candidate.id === 'c')
    assert.ok(trunk)
    assert.deepEqual(registrationOptionsOf(trunk), {
      registrar: 'sips:c.example:5071',
      aor: 'sips:acme@c.example',
      contactUser: 'acme',
      credentials: {username: 'acme', password: 'pw'},
      realm: undefined,
      expiresS: 600,
      retryMinS: 5,
      retryMaxS: 300,
    })
  })

  it('every key given', () => {
    const trunk = CONFIG.trunks.find((candidate) => candidate.id === 'd')
    assert.ok(trunk)
    const options = registrationOptionsOf(trunk)
    assert.equal(options?.registrar, 'sip:reg.d.example;transport=tcp')
    assert.equal(options?.aor, 'sip:u@d.example')
    assert.equal(options?.contactUser, 'line-1')
    assert.equal(options?.realm, 'r')
    assert.equal(registrationOptionsOf(CONFIG.trunks[0] as never), undefined)
  })
})
