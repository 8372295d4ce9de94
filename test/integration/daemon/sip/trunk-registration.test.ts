// Outbound registration against Kamailio as the carrier's registrar
// (registrar + usrloc, digest with a static password): the gateway
// registers, Kamailio's location table holds its contact (kamcmd ul.dump),
// a call for a DID that Kamailio routes to the registered contact reaches
// the gateway as the trunk's call, the binding is refreshed before it
// expires and removed on a clean stop. Then what goes wrong: a wrong
// password (backoff, not a tight loop), a challenge of another realm, 423
// Interval Too Brief, a registrar that is down and comes up, and over TLS.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import type {TrunkStatus} from '../../../../src/admin/protocol.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway as Gateway, waitFor} from '../../../helpers/gateway.js'
import {Kamailio} from '../../../helpers/kamailio.js'
import {runSipp, uacShortCall, uacThroughProxy, uasAnsweringRegister} from '../../../helpers/peers.js'
import {makeTestCertificates, type TestCertificates} from '../../../helpers/tls-certs.js'

const REALM = 'carrier.test'
const PASSWORD = 's3cret-pw'

/** A tenant on the echo dialplan and one registering trunk, `carrier`, with `register` lines under outbound.register. */
const registeringTrunk = (uri: string, register: string, outboundExtra = ''): string => `tenants:
  - { id: acme, dialplan: default }
trunks:
  - id: carrier
    tenant: acme
    outbound:
      uri: ${uri}
${outboundExtra}      register:
${register}`

const trunkOf = async (gateway: Gateway, id = 'carrier'): Promise<TrunkStatus> => {
  const {code, body} = await gateway.home.json(['trunks', 'status'])
  assert.equal(code, 0, JSON.stringify(body))
  const trunk = (body.result.trunks as TrunkStatus[]).find((candidate) => candidate.id === id)
  assert.ok(trunk, `no trunk ${id} in ${JSON.stringify(body.result)}`)
  return trunk
}

const waitForRegistration = (gateway: Gateway, state: TrunkStatus['registration']['state'], check: (trunk: TrunkStatus) => boolean = () => true, timeoutMs = 20_000): Promise<TrunkStatus> =>
  waitFor(`registration ${state}`, async () => {
    const trunk = await trunkOf(gateway)
    return trunk.registration.state === state && check(trunk) ? trunk : undefined
  }, timeoutMs)

const daemonLog = (gateway: Gateway): string => readFileSync(gateway.home.path('daemon.log'), 'utf8').slice(-4000)

describe('registering with Kamailio', () => {
  const gateway = new Gateway()
  let registrar: Kamailio

  before(async () => {
    registrar = await Kamailio.startRegistrar({realm: REALM, password: PASSWORD, didUser: 'acme-gw'})
    await gateway.start(registeringTrunk(`sip:${registrar.address}`, `        username: acme-gw
        password: ${PASSWORD}
        realm: ${REALM}
        expires_s: 10
`))
  })

  after(async () => {
    await gateway.stop()
    await registrar.stop()
  })

  it('registers with digest: trunks status says registered, Kamailio holds the contact, the gauge is 1', async () => {
    const trunk = await waitForRegistration(gateway, 'registered')
    assert.equal(trunk.registration.aor, `sip:acme-gw@127.0.0.1`)
    assert.equal(trunk.registration.grantedS, 10)
    assert.ok((trunk.registration.expiresInS ?? 0) > 0 && (trunk.registration.expiresInS ?? 99) <= 10, JSON.stringify(trunk.registration))
    assert.equal(trunk.registration.lastError, null)
    const contacts = await registrar.contactsOf('acme-gw')
    assert.deepEqual(contacts, [`sip:acme-gw@${gateway.sip}`], 'the UDP listener is bound under the contact user')
    assert.equal(await gateway.metric(/^clutchcall_trunk_registered\{trunk="carrier"\} (\d+)/m), 1)
    const human = await gateway.home.run(['trunks', 'status'])
    assert.equal(human.code, 0)
    assert.match(human.stdout, /carrier .*registered \(expires in \d+s\)/)
  })

  it('a call Kamailio routes to the registered contact reaches the gateway as the trunk\'s call, numbered by the To header', async () => {
    await waitForRegistration(gateway, 'registered')
    const caller = await runSipp({scenarioXml: uacThroughProxy(uacShortCall()), target: registrar.address, service: '+15550007001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${registrar.log.slice(-3000)}\n${daemonLog(gateway)}`)
    const end = await gateway.hangupOf('+15550007001')
    assert.equal(end.trunk_id, 'carrier')
    assert.equal(end.tenant_id, 'acme')
    assert.equal(end.status, 'completed')
  })

  it('refreshes the binding before it expires: a later REGISTER succeeds and the contact stays', async () => {
    const first = await waitForRegistration(gateway, 'registered')
    const refreshed = await waitForRegistration(gateway, 'registered', (trunk) => trunk.registration.registeredAt !== first.registration.registeredAt)
    assert.ok(Date.parse(refreshed.registration.registeredAt ?? '') > Date.parse(first.registration.registeredAt ?? ''))
    assert.equal(refreshed.registration.failures, 0)
    assert.deepEqual(await registrar.contactsOf('acme-gw'), [`sip:acme-gw@${gateway.sip}`])
  })

  it('removes the binding on a clean stop (REGISTER with Expires: 0)', async () => {
    await waitForRegistration(gateway, 'registered')
    assert.equal((await registrar.contactsOf('acme-gw')).length, 1)
    const stopped = await gateway.home.json(['stop'])
    assert.equal(stopped.code, 0, JSON.stringify(stopped.body))
    assert.match(registrar.log, /REGISTER from \S+ expires=0 auth=acme-gw/)
    assert.deepEqual(await registrar.contactsOf('acme-gw'), [])
  })
})

describe('registration failures', () => {
  it('a wrong password fails with the registrar\'s refusal and retries with backoff, not in a loop', async () => {
    const registrar = await Kamailio.startRegistrar({realm: REALM, password: PASSWORD, didUser: 'acme-gw'})
    const gateway = new Gateway()
    // Before the start: the first REGISTER goes out while the daemon starts.
    const startedAt = Date.now()
    try {
      await gateway.start(registeringTrunk(`sip:${registrar.address}`, `        username: acme-gw
        password: not-the-password
        retry_min_s: 1
        retry_max_s: 4
`))
      const failed = await waitForRegistration(gateway, 'failed', (trunk) => trunk.registration.failures >= 3)
      const elapsedS = (Date.now() - startedAt) / 1000
      assert.match(failed.registration.lastError?.message ?? '', /401 .*refused the credentials/)
      assert.equal(failed.registration.lastError?.status, 401)
      // The waits are at least 0.5 s, 1 s, then 2 s (jitter halves at most): never more than one attempt per second on average, where a loop would make hundreds.
      assert.ok(failed.registration.failures <= 2 + elapsedS, `${failed.registration.failures} failures in ${elapsedS} s`)
      // Each attempt is the unauthenticated REGISTER and its one authenticated retry.
      assert.ok(registrar.registerCount <= 2 * (failed.registration.failures + 1), `${registrar.registerCount} REGISTERs for ${failed.registration.failures} failures`)
      assert.equal(await registrar.contactsOf('acme-gw').then((contacts) => contacts.length), 0)
      assert.equal(await gateway.metric(/^clutchcall_trunk_registered\{trunk="carrier"\} (\d+)/m), 0)
      assert.match(daemonLog(gateway), /trunk registration failed/)
      assert.doesNotMatch(daemonLog(gateway), /not-the-password/, 'the password never reaches the log')
    } finally {
      await gateway.stop()
      await registrar.stop()
    }
  })

  it('does not answer a challenge of another realm than the configured one', async () => {
    const registrar = await Kamailio.startRegistrar({realm: 'elsewhere.test', password: PASSWORD, didUser: 'acme-gw'})
    const gateway = new Gateway()
    try {
      await gateway.start(registeringTrunk(`sip:${registrar.address}`, `        username: acme-gw
        password: ${PASSWORD}
        realm: ${REALM}
`))
      const failed = await waitForRegistration(gateway, 'failed')
      assert.match(failed.registration.lastError?.message ?? '', /challenge for realm elsewhere\.test, configured carrier\.test/)
      // The challenge was not answered: no REGISTER carried credentials.
      assert.doesNotMatch(registrar.log, /auth=acme-gw/)
    } finally {
      await gateway.stop()
      await registrar.stop()
    }
  })

  it('423 Interval Too Brief: registers again at once with the Min-Expires asked for', async () => {
    const registrar = await Kamailio.startRegistrar({realm: REALM, password: PASSWORD, didUser: 'acme-gw', minExpires: 40, intervalTooBrief: true})
    const gateway = new Gateway()
    try {
      await gateway.start(registeringTrunk(`sip:${registrar.address}`, `        username: acme-gw
        password: ${PASSWORD}
        expires_s: 10
`))
      const trunk = await waitForRegistration(gateway, 'registered')
      assert.equal(trunk.registration.grantedS, 40)
      assert.equal(trunk.registration.failures, 0)
      assert.match(registrar.log, /expires=10 auth=acme-gw/)
      assert.match(registrar.log, /expires=40 auth=acme-gw/)
    } finally {
      await gateway.stop()
      await registrar.stop()
    }
  })

  it('a registrar that is down (TCP refused) fails the registration; once it is up the next retry registers', async () => {
    const port = await freePort()
    const gateway = new Gateway()
    let registrar: Kamailio | undefined
    try {
      await gateway.start(registeringTrunk(`sip:127.0.0.1:${port};transport=tcp`, `        username: acme-gw
        password: ${PASSWORD}
        retry_min_s: 1
        retry_max_s: 2
`))
      const failed = await waitForRegistration(gateway, 'failed')
      assert.match(failed.registration.lastError?.message ?? '', /cannot reach the registrar/)
      assert.equal(failed.registration.sentTo, `tcp:127.0.0.1:${port}`)
      registrar = await Kamailio.startRegistrar({realm: REALM, password: PASSWORD, didUser: 'acme-gw', port})
      const registered = await waitForRegistration(gateway, 'registered')
      assert.equal(registered.registration.failures, 0)
      assert.deepEqual(await registrar.contactsOf('acme-gw'), [`sip:acme-gw@${gateway.sipAddress('tcp')};transport=tcp`])
    } finally {
      await gateway.stop()
      await registrar?.stop()
    }
  })
})

describe('registrars that answer badly (SIPp)', () => {
  /** Registers with a SIPp registrar answering `statusLine` and `headers`; checks the failure, then (with `retried`) that another attempt comes. */
  const bad = async (headers: readonly string[], statusLine: string, check: (trunk: TrunkStatus) => void, retried = true): Promise<void> => {
    const port = await freePort()
    const registrar = await runSipp({scenarioXml: uasAnsweringRegister(statusLine, headers), port, calls: 1000, timeoutS: 120})
    const gateway = new Gateway()
    try {
      await gateway.start(registeringTrunk(`sip:127.0.0.1:${port}`, `        username: acme-gw
        password: ${PASSWORD}
        retry_min_s: 1
        retry_max_s: 60
`))
      check(await waitForRegistration(gateway, 'failed'))
      if (!retried) return
      // Still serving: the status answers, and a second attempt comes after the backoff.
      const again = await waitForRegistration(gateway, 'failed', (trunk) => trunk.registration.failures >= 2)
      assert.equal(again.registration.state, 'failed')
    } finally {
      registrar.stop()
      await gateway.stop()
    }
  }

  it('a 401 whose challenge has no nonce: failed, said plainly, retried later', () =>
    bad(['WWW-Authenticate: Digest realm="carrier.test", algorithm=MD5'], '401 Unauthorized', (trunk) => {
      assert.match(trunk.registration.lastError?.message ?? '', /401 Unauthorized without a usable Digest challenge/)
    }))

  it('a 401 with only a challenge scheme we do not know, and a garbled one', () =>
    bad(['WWW-Authenticate: Basic realm="carrier.test"', 'WWW-Authenticate: Digest ,,,=="'], '401 Unauthorized', (trunk) => {
      assert.match(trunk.registration.lastError?.message ?? '', /without a usable Digest challenge/)
    }))

  it('a 503 with Retry-After: the next attempt waits at least that long', () =>
    bad(['Retry-After: 30'], '503 Service Unavailable', (trunk) => {
      assert.equal(trunk.registration.lastError?.status, 503)
      assert.ok((trunk.registration.nextAttemptInS ?? 0) >= 20, `retry in ${trunk.registration.nextAttemptInS} s, Retry-After 30`)
    }, false))

  it('a 423 without Min-Expires fails instead of looping', () =>
    bad([], '423 Interval Too Brief', (trunk) => {
      assert.match(trunk.registration.lastError?.message ?? '', /423 Interval Too Brief: Min-Expires missing/)
    }))
})

describe('registering over TLS', () => {
  let certs: TestCertificates
  const gateway = new Gateway()
  let registrar: Kamailio

  before(async () => {
    certs = makeTestCertificates()
    registrar = await Kamailio.startRegistrar({realm: REALM, password: PASSWORD, didUser: 'acme-gw', tls: {ca: certs.ca, cert: certs.client.cert, key: certs.client.key}})
    await gateway.start(
      registeringTrunk(
        `sip:127.0.0.1:${registrar.tlsPort};transport=tls`,
        `        username: acme-gw
        password: ${PASSWORD}
`,
        `      tls:
        ca: ${certs.ca}
`,
      ),
      {},
      `    - { transport: tls, address: 127.0.0.1, port: 0 }
  tls:
    cert: ${certs.server.cert}
    key: ${certs.server.key}
    ca: ${certs.ca}
`,
    )
  })

  after(async () => {
    await gateway.stop()
    await registrar.stop()
    certs.remove()
  })

  it('registers a TLS contact, and Kamailio relays a call to it over TLS', async () => {
    const trunk = await waitForRegistration(gateway, 'registered')
    assert.equal(trunk.registration.sentTo, `tls:127.0.0.1:${registrar.tlsPort}`)
    assert.deepEqual(await registrar.contactsOf('acme-gw'), [`sip:acme-gw@${gateway.sipAddress('tls')};transport=tls`])
    const caller = await runSipp({scenarioXml: uacThroughProxy(uacShortCall()), target: registrar.address, service: '+15550007002'})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${registrar.log.slice(-3000)}\n${daemonLog(gateway)}`)
    const end = await gateway.hangupOf('+15550007002')
    assert.equal(end.trunk_id, 'carrier')
    assert.equal(end.status, 'completed')
  })
})
