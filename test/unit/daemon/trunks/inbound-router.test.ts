import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {InboundRouter, numberMatches} from '../../../../daemon/trunks/inbound-router.js'

const router = (yaml: string) => new InboundRouter(parseConfigText(yaml, 'test.yaml'))

const TWO_TRUNKS = `
tenants:
  - { id: acme, dialplan: default }
  - { id: globex, dialplan: default }
trunks:
  - id: carrier-a
    tenant: acme
    inbound: { cidrs: [203.0.113.0/24, "2001:db8::/32"], numbers: ["+1415555*"] }
  - id: carrier-b
    tenant: globex
    inbound: { cidrs: [198.51.100.7], numbers: ["+442079460000", "+44113*"], auth: { username: gx, password: pw } }
  - id: roaming
    tenant: globex
    inbound: { numbers: ["*"], auth: { username: roam, password: pw2 } }
`

describe('numberMatches', () => {
  it('matches prefixes, the wildcard and exact numbers', () => {
    assert.equal(numberMatches('+1415555*', '+14155550100'), true)
    assert.equal(numberMatches('+1415555*', '+14165550100'), false)
    assert.equal(numberMatches('*', ''), true)
    assert.equal(numberMatches('+442079460000', '+442079460000'), true)
    assert.equal(numberMatches('+442079460000', '+4420794600001'), false)
  })
})

describe('InboundRouter', () => {
  it('with no inbound trunks every caller reaches the first tenant through no trunk', () => {
    const route = router('').route('192.0.2.55', 'anything')
    assert.deepEqual(route, {ok: true, tenant: 'default', dialplan: 'default', trunk: 'none', credentials: undefined, sourceKnown: true, called: 'anything'})
  })

  it('routes by source CIDR and called-number prefix', () => {
    const route = router(TWO_TRUNKS).route('203.0.113.9', '+14155550100')
    assert.equal(route.ok && route.trunk, 'carrier-a')
    assert.equal(route.ok && route.tenant, 'acme')
    assert.equal(route.ok && route.credentials, undefined)
  })

  it('matches IPv6 sources and IPv4-mapped IPv6 peers', () => {
    const r = router(TWO_TRUNKS)
    assert.equal(r.route('2001:db8::1', '+14155550100').ok, true)
    const mapped = r.route('::ffff:203.0.113.200', '+14155550100')
    assert.equal(mapped.ok && mapped.trunk, 'carrier-a')
  })

  it('a single-address CIDR and its credentials', () => {
    const route = router(TWO_TRUNKS).route('198.51.100.7', '+441132220000')
    assert.equal(route.ok && route.trunk, 'carrier-b')
    assert.deepEqual(route.ok && route.credentials, {username: 'gx', password: 'pw'})
  })

  it('a source no trunk lists falls to the credential-only trunk', () => {
    const route = router(TWO_TRUNKS).route('192.0.2.1', '+15550000')
    assert.equal(route.ok && route.trunk, 'roaming')
    assert.deepEqual(route.ok && route.credentials, {username: 'roam', password: 'pw2'})
  })

  it('an unknown source is 403 when no trunk accepts it', () => {
    const route = router(TWO_TRUNKS.replace(/  - id: roaming[\s\S]*$/, '')).route('192.0.2.1', '+14155550100')
    assert.deepEqual(route.ok ? undefined : route.status, 403)
  })

  it('a known source with a number no trunk of it serves is 404', () => {
    const route = router(TWO_TRUNKS.replace(/  - id: roaming[\s\S]*$/, '')).route('203.0.113.9', '+16505550100')
    assert.equal(route.ok, false)
    assert.equal(route.ok ? 0 : route.status, 404)
    assert.match(route.ok ? '' : route.reason, /carrier-a/)
  })

  it('says whether the source alone identifies the trunk: by its CIDRs yes, by credentials alone no', () => {
    const r = router(TWO_TRUNKS)
    const byCidr = r.route('203.0.113.9', '+14155550100')
    assert.equal(byCidr.ok && byCidr.sourceKnown, true)
    const byCredentials = r.route('192.0.2.1', '+15550000')
    assert.equal(byCredentials.ok, true)
    assert.equal(byCredentials.ok && byCredentials.sourceKnown, false)
  })

  it('a 404 names the trunk whose CIDRs hold the source, and nobody for a credential-only match', () => {
    const withoutRoaming = router(TWO_TRUNKS.replace(/  - id: roaming[\s\S]*$/, ''))
    const known = withoutRoaming.route('203.0.113.9', '+16505550100')
    assert.deepEqual(known.ok ? undefined : known.known, {tenant: 'acme', trunk: 'carrier-a'})
    const credentialOnly = router(TWO_TRUNKS.replace('numbers: ["*"], auth', 'numbers: ["+9*"], auth')).route('192.0.2.1', '+15550000')
    assert.equal(credentialOnly.ok ? 0 : credentialOnly.status, 404)
    assert.equal(credentialOnly.ok ? 'routed' : credentialOnly.known, undefined)
  })
})

describe('InboundRouter and registering trunks', () => {
  const REGISTERING = `
tenants:
  - { id: acme, dialplan: default }
  - { id: globex, dialplan: default }
trunks:
  - id: carrier-r
    tenant: acme
    outbound: { uri: "sip:sbc.carrier.example", register: { username: acme-gw, password: pw, contact_user: acme-line1 } }
  - id: carrier-c
    tenant: globex
    inbound: { cidrs: [198.51.100.0/24], numbers: ["+44*"] }
    outbound: { uri: "sip:sbc2.carrier.example", auth: { username: gx, password: pw2 }, register: {} }
`
  const routerWith = (registrars: Record<string, string>) => new InboundRouter(parseConfigText(REGISTERING, 'test.yaml'), (trunk) => registrars[trunk])

  it('a call for the contact user from the registrar\'s address routes to the trunk, numbered by the To user', () => {
    const route = routerWith({'carrier-r': '203.0.113.9'}).route('203.0.113.9', 'acme-line1', '+14155550100')
    assert.deepEqual(route, {ok: true, tenant: 'acme', dialplan: 'default', trunk: 'carrier-r', credentials: undefined, sourceKnown: true, called: '+14155550100'})
  })

  it('the same call from anywhere else is refused: the contact user alone proves nothing', () => {
    const route = routerWith({'carrier-r': '203.0.113.9'}).route('192.0.2.66', 'acme-line1', '+14155550100')
    assert.equal(route.ok, false)
    assert.equal(route.ok ? 0 : route.status, 403)
  })

  it('before any REGISTER went out (no registrar address yet) nobody may call the contact', () => {
    assert.equal(routerWith({}).route('203.0.113.9', 'acme-line1', '+1').ok, false)
  })

  it('with inbound.cidrs, those sources may call the contact (the username is the default contact user) and inbound.numbers filter the To user', () => {
    const router = routerWith({'carrier-c': '203.0.113.9'})
    const route = router.route('198.51.100.20', 'gx', '+441130000000')
    assert.equal(route.ok && route.trunk, 'carrier-c')
    assert.equal(route.ok && route.called, '+441130000000')
    assert.equal(router.route('203.0.113.9', 'gx', '+441130000000').ok, false, 'the registrar is not in the trunk\'s cidrs')
    const other = router.route('198.51.100.20', 'gx', '+15550000000')
    assert.equal(other.ok ? 0 : other.status, 404)
  })

  it('a registering trunk closes the open gateway, and its registrar counts as a trunk source', () => {
    const router = routerWith({'carrier-r': '203.0.113.9'})
    assert.equal(router.isOpen, false)
    assert.equal(router.isTrunkSource('203.0.113.9'), true)
    assert.equal(router.isTrunkSource('192.0.2.66'), false)
  })
})
