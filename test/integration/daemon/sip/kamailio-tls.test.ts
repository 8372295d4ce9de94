// Kamailio as a TLS proxy in front of the gateway: a SIPp caller sends its
// call to Kamailio over UDP, Kamailio relays it to the gateway's TLS
// listener (verifying the gateway's certificate against the CA and
// presenting its own client certificate), record-routes, and the ACK and BYE
// follow the same way. The gateway requires client certificates: Kamailio
// presenting one from an untrusted CA is refused at the handshake, and
// Kamailio refuses a gateway whose certificate it cannot verify.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {TestGateway as Gateway, waitFor} from '../../../helpers/gateway.js'
import {Kamailio} from '../../../helpers/kamailio.js'
import {runSipp, uacExpectingRefusal, uacThroughProxy} from '../../../helpers/peers.js'
import {makeTestCertificates, type TestCertificates} from '../../../helpers/tls-certs.js'

let certs: TestCertificates

before(() => {
  certs = makeTestCertificates()
})

after(() => certs.remove())

const tlsSip = (cert: {cert: string; key: string}) => `    - { transport: tls, address: 127.0.0.1, port: 0 }
  tls:
    cert: ${cert.cert}
    key: ${cert.key}
    ca: ${certs.ca}
    verify_client: true
`

/** Kamailio answers a call it cannot relay itself: 477 when the TLS connection fails at once, 408 when its timer runs out first. */
const uacRefusedByProxy = (): string =>
  uacExpectingRefusal(408).replace('<recv response="408"/>', '<recv response="477" optional="true" next="1"/>\n<recv response="408"/>\n<label id="1"/>')

const dropped = (reason: string): RegExp => new RegExp(`^clutchcall_sip_connections_dropped_total\\{transport="tls",reason="${reason}"\\} (\\d+)`, 'm')

describe('Kamailio relaying calls to the gateway over TLS', () => {
  const gateway = new Gateway()
  let proxy: Kamailio

  before(async () => {
    await gateway.start('', {}, tlsSip(certs.server))
    proxy = await Kamailio.start({nextHop: gateway.sipAddress('tls'), ca: certs.ca, cert: certs.client.cert, key: certs.client.key})
  })

  after(async () => {
    await proxy.stop()
    await gateway.stop()
  })

  it('a SIPp caller reaches the echo dialplan through Kamailio: TLS on the gateway side, the dialog record-routed through it', async () => {
    const caller = await runSipp({scenarioXml: uacThroughProxy(), target: proxy.address, service: '+15550000100'})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${proxy.log.slice(-3000)}\n${readFileSync(gateway.home.path('daemon.log'), 'utf8').slice(-4000)}`)
    const end = await gateway.hangupOf('+15550000100')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16, 'ended by the caller\'s BYE, relayed by Kamailio')
    assert.ok(end.packets_received >= 200, `received ${end.packets_received}`)
    assert.ok(end.packets_sent >= 200, `echoed ${end.packets_sent}`)
  })

  it('is refused at the handshake when Kamailio presents a certificate from an untrusted CA', async () => {
    const rogue = await Kamailio.start({nextHop: gateway.sipAddress('tls'), ca: certs.ca, cert: certs.rogueClient.cert, key: certs.rogueClient.key})
    try {
      const before = await gateway.metric(dropped('handshake_failed'))
      const caller = await runSipp({scenarioXml: uacRefusedByProxy(), target: rogue.address, service: '+15550000101', timeoutS: 15})
      const {code, output} = await caller.done
      assert.equal(code, 0, `${output}\n${rogue.log.slice(-3000)}`)
      assert.ok((await gateway.metric(dropped('handshake_failed'))) > before, 'the refused handshake is counted')
      assert.equal(gateway.events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550000101'), false)
      await waitFor('the log line', () => (/client certificate refused: unable to verify the first certificate/.test(readFileSync(gateway.home.path('daemon.log'), 'utf8')) ? true : undefined), 5_000)
    } finally {
      await rogue.stop()
    }
  })
})

describe('Kamailio verifying the gateway', () => {
  const gateway = new Gateway()
  let proxy: Kamailio

  before(async () => {
    await gateway.start('', {}, tlsSip(certs.rogueServer))
    proxy = await Kamailio.start({nextHop: gateway.sipAddress('tls'), ca: certs.ca, cert: certs.client.cert, key: certs.client.key})
  })

  after(async () => {
    await proxy.stop()
    await gateway.stop()
  })

  it('refuses a gateway whose certificate comes from an untrusted CA: no call reaches the gateway', async () => {
    const caller = await runSipp({scenarioXml: uacRefusedByProxy(), target: proxy.address, service: '+15550000102', timeoutS: 15})
    const {code, output} = await caller.done
    assert.equal(code, 0, `${output}\n${proxy.log.slice(-3000)}`)
    assert.match(proxy.log, /certificate verify failed/)
    assert.equal(gateway.events.some((event) => event.type === 'CHANNEL_CREATE' && event.to_number === '+15550000102'), false)
  })
})
