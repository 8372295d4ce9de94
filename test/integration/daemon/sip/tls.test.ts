// SIP over TLS through a real daemon, with baresip (Debian's 1.0.0, built on
// libre with OpenSSL) as the peer in both directions and certificates made
// by openssl for the test: baresip calls the gateway's TLS listener, the
// gateway bridges a SIPp caller to baresip over a TLS trunk, and each side
// refuses the other's certificate when it comes from an untrusted CA or has
// expired. The TLS port's limits are tested as an attacker would: plaintext
// SIP (SIPp over TCP), a connection that never handshakes, too many
// connections from one source. Each refusal is counted with
// transport="tls" and, for handshakes, logged with OpenSSL's reason.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {Baresip, freeSipPort} from '../../../helpers/baresip.js'
import {freePort, testConfig, TestHome} from '../../../helpers/cli.js'
import {sleep, TestGateway as Gateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall, uacWithAudio} from '../../../helpers/peers.js'
import {makeTestCertificates, type TestCertificates} from '../../../helpers/tls-certs.js'
import {closedWithin, dialTcp} from '../../../helpers/tcp-client.js'
import {perCalleeBridgeConfig} from '../../../helpers/bridge-config.js'

let certs: TestCertificates

before(() => {
  certs = makeTestCertificates()
})

after(async () => {
  await Baresip.disposeAll()
  certs.remove()
})

/** The `sip` lines of a gateway with a TLS listener presenting the CA's server certificate. */
const tlsSip = (extra = '') => `    - { transport: tls, address: 127.0.0.1, port: 0 }
  tls:
    cert: ${certs.server.cert}
    key: ${certs.server.key}
    ca: ${certs.ca}
${extra}`

const dropped = (reason: string): RegExp => new RegExp(`^clutchcall_sip_connections_dropped_total\\{transport="tls",reason="${reason}"\\} (\\d+)`, 'm')

const daemonLog = (gateway: Gateway): string => readFileSync(gateway.home.path('daemon.log'), 'utf8')

describe('baresip calls the gateway over TLS', () => {
  const gateway = new Gateway()
  const tlsPort = (): number => Number(gateway.sipAddress('tls').split(':').at(-1))

  before(async () => {
    await gateway.start(
      `security:
  trusted_cidrs: [127.0.0.1/32]
  limits: { max_tcp_connections_per_source: 2, tls_handshake_timeout_ms: 1500 }
`,
      {},
      tlsSip(),
    )
  })

  after(async () => {
    await gateway.stop()
  })

  it('shows the TLS listener and its certificate in status', async () => {
    const status = await gateway.home.json(['status'])
    assert.equal(status.code, 0)
    const tls = status.body.result.listeners.find((listener: {name: string; transport: string}) => listener.name === 'sip' && listener.transport === 'tls')
    assert.ok(tls?.port > 0, JSON.stringify(status.body.result.listeners))
    assert.match(status.body.result.sip.tls.subject, /CN=server/)
    const human = await gateway.home.run(['status'])
    assert.match(human.stdout, new RegExp(`sip\\s+│ tls\\s+│ tls://127\\.0\\.0\\.1:${tls.port}`))
    assert.match(human.stdout, /TLS certificate\s+CN=server, valid to \d{4}-/)
  })

  it('answers a call that arrives over TLS, echoes it and ends it over the same connection', async () => {
    const phone = await Baresip.start({tls: {pem: certs.client.pem, ca: certs.ca}})
    await phone.dial(`sip:+15550000001@${gateway.sipAddress('tls')};transport=tls`)
    const established = await phone.waitForEvent('CALL_ESTABLISHED')
    assert.equal(established.direction, 'outgoing', phone.tail())
    await sleep(3000)
    await phone.hangup()
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    const end = await gateway.hangupOf('+15550000001')
    assert.equal(end.status, 'completed', phone.tail())
    assert.equal(end.q850_cause, 16)
    assert.ok(end.packets_received >= 100, `received ${end.packets_received} from baresip`)
    assert.ok(end.packets_sent >= 100, `echoed ${end.packets_sent} to baresip`)
    // baresip's trace: its INVITE went out with a TLS Via, and the gateway's Contact asks for TLS.
    assert.match(phone.output, /INVITE sip:\+15550000001@[^\r\n]*transport=tls[^#]*?Via: SIP\/2\.0\/TLS /, phone.tail())
    assert.match(phone.output, /SIP\/2\.0 200 OK[^#]*?Contact: <sip:clutchcall@127\.0\.0\.1:\d+;transport=tls>/, phone.tail())
    await phone.quit()
  })

  it('closes plaintext SIP sent to the TLS port without answering it, and counts it', async () => {
    const before = await gateway.metric(dropped('handshake_failed'))
    const caller = await runSipp({scenarioXml: uacShortCall(), target: gateway.sipAddress('tls'), service: '+15550000002', transport: 't1', timeoutS: 5})
    const {code, output} = await caller.done
    assert.notEqual(code, 0, `SIPp over plain TCP must not get through: ${output}`)
    assert.doesNotMatch(output, /SIP\/2\.0 [1-6]\d\d/, 'nothing was answered')
    await waitFor('the drop to be counted', async () => ((await gateway.metric(dropped('handshake_failed'))) > before ? true : undefined), 5_000)
    assert.equal(gateway.events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550000002'), false)
    assert.match(daemonLog(gateway), /"msg":"TLS handshake refused"[^\n]*"reason":"handshake_failed"|"reason":"handshake_failed"[^\n]*"msg":"TLS handshake refused"/)
  })

  it('drops a connection that never handshakes after tls_handshake_timeout_ms, and counts it', async () => {
    const before = await gateway.metric(dropped('handshake_timeout'))
    const silent = await dialTcp(tlsPort())
    const started = Date.now()
    assert.equal(await closedWithin(silent, 6000), true)
    const held = Date.now() - started
    assert.ok(held >= 1300 && held < 4000, `held ${held} ms`)
    assert.equal(await gateway.metric(dropped('handshake_timeout')), before + 1)
  })

  it('caps the TLS connections of one untrusted source, counting those still handshaking', async () => {
    const before = await gateway.metric(dropped('source_limit'))
    const first = await dialTcp(tlsPort(), '127.0.0.3')
    const second = await dialTcp(tlsPort(), '127.0.0.3')
    const third = await dialTcp(tlsPort(), '127.0.0.3')
    assert.equal(await closedWithin(third, 1000), true, 'the third connection is closed at once')
    assert.equal(await closedWithin(first, 100), false)
    assert.equal(await closedWithin(second, 100), false)
    assert.equal(await gateway.metric(dropped('source_limit')), before + 1)
    first.destroy()
    second.destroy()
  })
})

describe('a TLS listener that requires client certificates (verify_client)', () => {
  const gateway = new Gateway()

  before(async () => {
    await gateway.start('', {}, tlsSip('    verify_client: true\n'))
  })

  after(async () => {
    await gateway.stop()
  })

  it('takes a call from baresip presenting a certificate of the CA', async () => {
    const phone = await Baresip.start({tls: {pem: certs.client.pem, ca: certs.ca}})
    await phone.dial(`sip:+15550000011@${gateway.sipAddress('tls')};transport=tls`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    await phone.hangup()
    const end = await gateway.hangupOf('+15550000011')
    assert.equal(end.status, 'completed', phone.tail())
    await phone.quit()
  })

  for (const [what, pem, reason] of [
    ['from a CA it does not trust', 'rogueClient', /client certificate refused: unable to verify the first certificate/],
    ['that has expired', 'expiredClient', /client certificate refused: certificate has expired/],
  ] as const) {
    it(`refuses baresip presenting a certificate ${what}: no call, the handshake counted and logged with the reason`, async () => {
      const before = await gateway.metric(dropped('handshake_failed'))
      const phone = await Baresip.start({tls: {pem: certs[pem].pem, ca: certs.ca}})
      const number = pem === 'rogueClient' ? '+15550000012' : '+15550000013'
      await phone.dial(`sip:${number}@${gateway.sipAddress('tls')};transport=tls`)
      await waitFor('the refused handshake to be counted', async () => ((await gateway.metric(dropped('handshake_failed'))) > before ? true : undefined), 5_000)
      await waitFor('the log line', () => (reason.test(daemonLog(gateway)) ? true : undefined), 5_000)
      // baresip retries its INVITE over new connections until its Timer B: none gets through.
      await sleep(2000)
      assert.equal(phone.events.some((event) => event.type === 'CALL_ESTABLISHED' || event.type === 'CALL_RINGING'), false, phone.tail())
      assert.equal(gateway.events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === number), false)
      await phone.hangup().catch(() => undefined)
      await phone.quit()
    })
  }
})

/** Tenants reached by number, each bridging to one baresip over a TLS trunk (on the baresip's port + 1). */
const bridgeConfig = (callees: ReadonlyArray<{number: string; port: number}>): string =>
  perCalleeBridgeConfig(callees, ({port}) => `
      uri: "sip:127.0.0.1:${port + 1};transport=tls"
      tls: { ca: ${certs.ca} }`)

describe('the gateway calls baresip over a TLS trunk', () => {
  const gateway = new Gateway()
  const callees = [
    {number: '+17770000001', port: 0, pem: 'server'},
    {number: '+17770000002', port: 0, pem: 'rogueServer'},
    {number: '+17770000003', port: 0, pem: 'expiredServer'},
  ] as const satisfies ReadonlyArray<{number: string; port: number; pem: string}>
  const ports: number[] = []

  before(async () => {
    for (let index = 0; index < callees.length; index++) ports.push(await freeSipPort())
    await gateway.start(bridgeConfig(callees.map((callee, index) => ({number: callee.number, port: ports[index] ?? 0}))), {}, tlsSip())
  })

  after(async () => {
    await gateway.stop()
  })

  it('bridges a SIPp caller to baresip over TLS, audio both ways, verified against the trunk CA', async () => {
    const phone = await Baresip.start({user: callees[0].number, autoAnswer: true, sipPort: ports[0], toneHz: 1000, tls: {pem: certs.server.pem, ca: certs.ca}})
    const caller = await runSipp({scenarioXml: uacWithAudio(), target: gateway.sip, service: callees[0].number})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${phone.tail()}`)
    const established = await phone.waitForEvent('CALL_ESTABLISHED')
    assert.equal(established.direction, 'incoming', phone.tail())
    await phone.waitForEvent('CALL_CLOSED', 5_000)
    const end = await gateway.hangupOf(callees[0].number)
    assert.equal(end.status, 'completed', phone.tail())
    assert.ok(end.packets_sent >= 200, `baresip's audio relayed to SIPp: ${end.packets_sent}`)
    // The gateway's INVITE reached baresip over TLS, offering the connection for reuse (RFC 5923).
    assert.match(phone.output, /INVITE sip:\+17770000001@127\.0\.0\.1:\d+;transport=tls SIP\/2\.0[^#]*?Via: SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=[^;\r\n]+;rport;alias/, phone.tail())
    assert.match(phone.output, /Contact: <sip:clutchcall@127\.0\.0\.1:\d+;transport=tls>/, phone.tail())
    const heard = await phone.heardAudio()
    assert.ok(heard.length >= 5 * 8000, `baresip decoded ${heard.length} samples`)
    await phone.quit()
  })

  for (const [index, reason] of [
    [1, /self-signed certificate in certificate chain|unable to (get local issuer|verify the first) certificate/],
    [2, /certificate has expired/],
  ] as const) {
    const callee = callees[index]
    it(`refuses baresip's ${callee.pem === 'rogueServer' ? 'certificate from an untrusted CA' : 'expired certificate'}: the caller gets 503, baresip gets no INVITE, the log says why`, async () => {
      const phone = await Baresip.start({user: callee.number, autoAnswer: true, sipPort: ports[index], tls: {pem: certs[callee.pem].pem, ca: certs.ca}})
      const caller = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gateway.sip, service: callee.number, timeoutS: 15})
      const {code, output} = await caller.done
      assert.equal(code, 0, `${output}\n${phone.tail()}`)
      assert.doesNotMatch(phone.output, /INVITE sip:/, 'no INVITE reached baresip')
      assert.equal(phone.events.some((event) => event.type === 'CALL_ESTABLISHED' || event.type === 'CALL_INCOMING'), false)
      const end = await gateway.hangupOf(callee.number)
      assert.equal(end.status, 'failed')
      const line = daemonLog(gateway).split('\n').find((entry) => entry.includes('"msg":"B-leg could not be sent"') && entry.includes(`+${callee.number.slice(1)}`))
      assert.ok(line, 'a log line for the refused B-leg')
      assert.match(line, new RegExp(`TLS connect to 127\\.0\\.0\\.1:${(ports[index] ?? 0) + 1} \\(trunk out-${index}\\) failed: `))
      assert.match(line, reason)
      await phone.quit()
    })
  }
})

describe('TLS files that cannot be used', () => {
  for (const [what, files, pattern] of [
    ['a certificate that does not exist', () => ({cert: 'missing.crt', key: certs.server.key}), /CC_ERR_TLS_FILE[^]*missing\.crt as the TLS certificate \(sip\.tls\.cert\): ENOENT/],
    ['a key that is not the certificate\'s', () => ({cert: certs.server.cert, key: certs.rogueServer.key}), /CC_ERR_TLS_FILE[^]*as the TLS certificate and key \(sip\.tls\.cert, sip\.tls\.key\): [^\n]*key values mismatch/],
  ] as const) {
    it(`stop the start with an error naming the file and the key: ${what}`, async () => {
      const home = new TestHome()
      try {
        const {cert, key} = files()
        home.writeConfig(testConfig(await freePort(), '', `    - { transport: tls, address: 127.0.0.1, port: 0 }\n  tls: { cert: ${cert}, key: ${key} }\n`))
        const started = await home.run(['start'])
        assert.notEqual(started.code, 0)
        assert.match(started.stderr + started.stdout, pattern)
      } finally {
        await home.cleanup()
      }
    })
  }
})

describe('a trunk that requires a client certificate (inbound.require_client_cert)', () => {
  const gateway = new Gateway()

  before(async () => {
    await gateway.start(
      `tenants: [{ id: acme, dialplan: default }]
trunks:
  - { id: certs-in, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1555*"], require_client_cert: true } }
  - { id: open-in, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1666*"] } }
`,
      {},
      tlsSip(),
    )
  })

  after(async () => {
    await gateway.stop()
  })

  const refusedAuth = (): Promise<number> => gateway.metric(/^clutchcall_call_attempts_refused_total\{tenant="acme",trunk="certs-in",reason="auth_failed"\} (\d+)/m)

  it('takes the trunk\'s call from baresip with a certificate of the CA', async () => {
    const phone = await Baresip.start({tls: {pem: certs.client.pem, ca: certs.ca}})
    await phone.dial(`sip:+15550000021@${gateway.sipAddress('tls')};transport=tls`)
    await phone.waitForEvent('CALL_ESTABLISHED')
    await phone.hangup()
    assert.equal((await gateway.hangupOf('+15550000021')).trunk_id, 'certs-in')
    await phone.quit()
  })

  it('refuses with 403 a call of the trunk from a certificate of another CA, while another trunk on the same listener takes it', async () => {
    const phone = await Baresip.start({tls: {pem: certs.rogueClient.pem, ca: certs.ca}})
    await phone.dial(`sip:+15550000022@${gateway.sipAddress('tls')};transport=tls`)
    const closed = await phone.waitForEvent('CALL_CLOSED', 10_000)
    assert.match(closed.param ?? '', /403/, phone.tail())
    assert.equal(await refusedAuth(), 1)
    const from = phone.events.length
    await phone.dial(`sip:+16660000022@${gateway.sipAddress('tls')};transport=tls`)
    await phone.waitForEvent('CALL_ESTABLISHED', 10_000, from)
    await phone.hangup()
    assert.equal((await gateway.hangupOf('+16660000022')).trunk_id, 'open-in')
    await phone.quit()
  })

  it('refuses with 403 a call of the trunk that does not come over TLS', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(403), target: gateway.sip, service: '+15550000023', timeoutS: 10})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    assert.equal(await refusedAuth(), 2)
  })
})
