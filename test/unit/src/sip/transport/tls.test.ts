// SIP over TLS in the transport, on loopback sockets with certificates made
// by openssl: a request and its answer over TLS between two transports (Via
// SIP/2.0/TLS, one connection for both), the server's certificate checked
// against the CA and the host name (an untrusted CA, an expired certificate
// and verification switched off), client certificates (required, missing,
// rogue, expired), plaintext and silence on the TLS port, the per-source cap
// shared with TCP, and RFC 5923 connection reuse. Each refusal is reported
// with its reason, the way the daemon counts it.
import assert from 'node:assert/strict'
import {once} from 'node:events'
import {readFileSync} from 'node:fs'
import type {Socket} from 'node:net'
import {connect as connectTls, type TLSSocket} from 'node:tls'
import {after, afterEach, before, describe, it} from 'node:test'
import {createResponseTo, type SipRequest} from '../../../../../src/sip/message.js'
import {parseSipMessage} from '../../../../../src/sip/parser.js'
import {SipTransport, type SipTransportOptions} from '../../../../../src/sip/transport/sip-transport.js'
import type {InboundContext, SipConnectionDropReason, SipTlsClientProfile, SipTransportProtocol} from '../../../../../src/sip/transport/types.js'
import {makeTestCertificates, type TestCertificates} from '../../../../helpers/tls-certs.js'
import {closedWithin, dialTcp} from '../../../../helpers/tcp-client.js'
import {sleep, wire} from '../fake-sip-transport.js'

let certs: TestCertificates
const read = (path: string): Buffer => readFileSync(path)

before(() => {
  certs = makeTestCertificates()
})

after(() => certs.remove())

const options = (via: string, branch: string): string =>
  wire([
    'OPTIONS sip:gw@127.0.0.1 SIP/2.0',
    `Via: ${via};branch=${branch}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=p1',
    'To: <sip:gw@127.0.0.1>',
    `Call-ID: ${branch}`,
    'CSeq: 1 OPTIONS',
  ])

interface Drop {
  transport: SipTransportProtocol
  reason: SipConnectionDropReason
  address: string
  detail: string | undefined
}

const open: Array<SipTransport | Socket> = []

afterEach(async () => {
  for (const item of open.splice(0)) {
    if (item instanceof SipTransport) await item.close()
    else item.destroy()
  }
})

/** A transport with a TLS (and a TCP) listener presenting the CA's server certificate. */
const server = async (extra: Partial<SipTransportOptions> = {}, verifyClient = false): Promise<{transport: SipTransport; port: number; tcpPort: number; drops: Drop[]}> => {
  const transport = await SipTransport.listen({
    listen: [{transport: 'tls', address: '127.0.0.1', port: 0}, {transport: 'tcp', address: '127.0.0.1', port: 0}],
    tls: {cert: read(certs.server.cert), key: read(certs.server.key), ca: read(certs.ca), verifyClient, minVersion: 'TLSv1.2', handshakeTimeoutMs: 2000},
    ...extra,
  })
  open.push(transport)
  const drops: Drop[] = []
  transport.on('connectionDropped', (protocol, reason, remote, detail) => drops.push({transport: protocol, reason, address: remote.address, detail}))
  return {transport, port: transport.listenerFor('tls')?.port ?? 0, tcpPort: transport.listenerFor('tcp')?.port ?? 0, drops}
}

/** A transport that connects out over TLS with `profile`. */
const client = async (profile: Partial<SipTlsClientProfile> = {}, listenTls = false): Promise<SipTransport> => {
  const transport = await SipTransport.listen({
    listen: listenTls ? [{transport: 'tls', address: '127.0.0.1', port: 0}] : [{transport: 'udp', address: '127.0.0.1', port: 0}],
    ...(listenTls ? {tls: {cert: read(certs.client.cert), key: read(certs.client.key), ca: read(certs.ca), verifyClient: false, minVersion: 'TLSv1.2' as const, handshakeTimeoutMs: 2000}} : {}),
    tlsClient: () => ({verifyServer: true, minVersion: 'TLSv1.2', ca: read(certs.ca), ...profile}),
  })
  open.push(transport)
  return transport
}

const nextMessage = (transport: SipTransport): Promise<[SipRequest, InboundContext]> =>
  new Promise((resolve) => transport.once('message', (message, context) => resolve([message as SipRequest, context])))

const sendOptions = (from: SipTransport, port: number, branch: string) =>
  from.send(parseSipMessage(Buffer.from(options('SIP/2.0/TLS 127.0.0.1:5061', branch))), {transport: 'tls', address: '127.0.0.1', port, hostname: '127.0.0.1'})

const waitUntil = async (probe: () => boolean, ms = 3000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await sleep(10)
  }
}

/** A plain TCP connection, closed after the test. */
const rawTcp = async (port: number, localAddress = '127.0.0.1'): Promise<Socket> => {
  const socket = await dialTcp(port, localAddress)
  open.push(socket)
  return socket
}

/** A TLS client socket that resolves once the handshake is over, or rejects with its error. */
const tlsPeer = (port: number, extra: {cert?: string; key?: string} = {}): Promise<TLSSocket> =>
  new Promise((resolve, reject) => {
    const socket = connectTls({port, host: '127.0.0.1', ca: read(certs.ca), ...(extra.cert ? {cert: read(extra.cert), key: read(extra.key ?? '')} : {})})
    open.push(socket)
    socket.once('secureConnect', () => resolve(socket))
    socket.once('error', reject)
  })

describe('SIP over TLS between two transports', () => {
  it('carries a request and its answer over one verified TLS connection, as SIP/2.0/TLS', async () => {
    const gw = await server()
    const caller = await client()
    const arrival = nextMessage(gw.transport)
    const sent = await sendOptions(caller, gw.port, 'z9hG4bKtls1')
    assert.equal(sent.transport, 'tls')
    const [request, context] = await arrival
    assert.equal(context.transport, 'tls')
    assert.equal(context.peerVerified, false, 'no client certificate was asked for')
    assert.match(request.headers.get('via') ?? '', /^SIP\/2\.0\/TLS /)
    const answer = new Promise<string>((resolve) => caller.once('message', (message) => resolve((message as {status: number}).status.toString())))
    const responded = await gw.transport.respond(createResponseTo(request, 200), context)
    assert.equal(responded.connectionId, context.connectionId, 'the answer went back on the connection the request came on')
    assert.equal(await answer, '200')
    assert.equal(caller.counters.tlsConnectionsOpened, 1)
    assert.equal(gw.transport.counters.tlsConnectionsAccepted, 1)
    // A second request reuses the connection.
    await sendOptions(caller, gw.port, 'z9hG4bKtls2')
    assert.equal(caller.counters.tlsConnectionsOpened, 1)
  })

  it('refuses a server whose certificate comes from a CA it does not trust, and says so', async () => {
    const gw = await server()
    const caller = await client({ca: read(certs.rogueCa)})
    await assert.rejects(sendOptions(caller, gw.port, 'z9hG4bKrogue'), (error: Error) => {
      assert.match(error.message, /TLS connect to 127\.0\.0\.1:\d+ failed: .*(self-signed certificate in certificate chain|unable to (get local issuer|verify the first) certificate)/i)
      return true
    })
  })

  it('refuses a server whose certificate does not name the host it was asked for', async () => {
    const gw = await server()
    const caller = await client()
    const message = parseSipMessage(Buffer.from(options('SIP/2.0/TLS 127.0.0.1:5061', 'z9hG4bKname')))
    await assert.rejects(caller.send(message, {transport: 'tls', address: '127.0.0.1', port: gw.port, hostname: 'sbc.carrier.example'}), /sbc\.carrier\.example/)
  })

  it('refuses a server whose certificate has expired, and accepts it only with verification switched off', async () => {
    const gw = await server({tls: {cert: read(certs.expiredServer.cert), key: read(certs.expiredServer.key), verifyClient: false, minVersion: 'TLSv1.2', handshakeTimeoutMs: 2000}})
    const caller = await client()
    await assert.rejects(sendOptions(caller, gw.port, 'z9hG4bKexpired'), /certificate has expired/)
    const careless = await client({verifyServer: false})
    const sent = await sendOptions(careless, gw.port, 'z9hG4bKcareless')
    assert.equal(sent.transport, 'tls')
  })

  it('refuses TLS 1.2 when the listener asks for 1.3 at least', async () => {
    const gw = await server({tls: {cert: read(certs.server.cert), key: read(certs.server.key), verifyClient: false, minVersion: 'TLSv1.3', handshakeTimeoutMs: 2000}})
    const old = connectTls({port: gw.port, host: '127.0.0.1', ca: read(certs.ca), maxVersion: 'TLSv1.2'})
    open.push(old)
    const [error] = (await once(old, 'error')) as [Error]
    assert.match(error.message, /protocol version|alert/i)
    await waitUntil(() => gw.drops.length === 1)
    assert.equal(gw.drops[0]?.reason, 'handshake_failed')
  })
})

describe('client certificates (verify_client)', () => {
  it('admits a client whose certificate the CA signed, and marks its requests verified', async () => {
    const gw = await server({}, true)
    const caller = await client({cert: read(certs.client.cert), key: read(certs.client.key)})
    const arrival = nextMessage(gw.transport)
    await sendOptions(caller, gw.port, 'z9hG4bKclient')
    const [, context] = await arrival
    assert.equal(context.peerVerified, true)
  })

  for (const [what, files, pattern] of [
    ['no certificate', undefined, /certificate required|peer did not return a certificate/i],
    ['a certificate of a rogue CA', 'rogueClient', /unable to verify the first certificate|unable to get local issuer/i],
    ['an expired certificate', 'expiredClient', /certificate expired|certificate has expired|certificate verify failed/i],
  ] as const) {
    it(`refuses a client with ${what}: the handshake fails, the connection is dropped and counted`, async () => {
      const gw = await server({}, true)
      let delivered = 0
      gw.transport.on('message', () => delivered++)
      const cert = files === undefined ? {} : {cert: certs[files].cert, key: certs[files].key}
      const peer = tlsPeer(gw.port, cert).then((socket) => {
        // TLS 1.3: the client learns of the refusal after its handshake, on its first read.
        socket.write(options('SIP/2.0/TLS 127.0.0.1:5061', 'z9hG4bKrefused'))
        return once(socket, 'close')
      })
      await peer.catch(() => undefined)
      await waitUntil(() => gw.drops.length === 1)
      assert.equal(gw.drops[0]?.transport, 'tls')
      assert.equal(gw.drops[0]?.reason, 'handshake_failed')
      assert.match(gw.drops[0]?.detail ?? '', pattern)
      assert.equal(delivered, 0)
    })
  }
})

describe('the TLS port and its limits', () => {
  it('closes a connection that sends plaintext SIP, answers nothing, and counts it', async () => {
    const gw = await server()
    let delivered = 0
    gw.transport.on('message', () => delivered++)
    const socket = await rawTcp(gw.port)
    const answered: Buffer[] = []
    socket.on('data', (chunk: Buffer) => answered.push(chunk))
    socket.write(options('SIP/2.0/TCP 127.0.0.1:5060', 'z9hG4bKplain'))
    assert.equal(await closedWithin(socket, 2000), true)
    assert.equal(Buffer.concat(answered).toString().includes('SIP/2.0'), false, 'no SIP answer on the TLS port')
    assert.equal(delivered, 0)
    assert.deepEqual(gw.drops.map((drop) => `${drop.transport} ${drop.reason}`), ['tls handshake_failed'])
    assert.match(gw.drops[0]?.detail ?? '', /wrong version number|http request|unknown protocol|record/i)
  })

  it('drops a connection that never starts its handshake after the handshake timeout', async () => {
    const gw = await server({tls: {cert: read(certs.server.cert), key: read(certs.server.key), verifyClient: false, minVersion: 'TLSv1.2', handshakeTimeoutMs: 300}})
    const silent = await rawTcp(gw.port)
    const started = Date.now()
    assert.equal(await closedWithin(silent, 3000), true)
    const held = Date.now() - started
    assert.ok(held >= 250 && held < 2000, `held for ${held} ms`)
    assert.deepEqual(gw.drops.map((drop) => `${drop.transport} ${drop.reason}`), ['tls handshake_timeout'])
    // A handshake that completes is not cut by the timer.
    const good = await tlsPeer(gw.port)
    assert.equal(await closedWithin(good, 600), false)
  })

  it('caps the connections of one source across TCP and TLS, counting a TLS connection from its accept', async () => {
    const gw = await server({maxTcpConnectionsPerSource: 2})
    gw.transport.screenConnection = () => 'admit'
    // Two connections that never handshake hold both slots of 127.0.0.8.
    const first = await rawTcp(gw.port, '127.0.0.8')
    await rawTcp(gw.tcpPort, '127.0.0.8')
    const third = await rawTcp(gw.port, '127.0.0.8')
    assert.equal(await closedWithin(third, 1000), true)
    assert.deepEqual(gw.drops.map((drop) => `${drop.transport} ${drop.reason} ${drop.address}`), ['tls source_limit 127.0.0.8'])
    assert.equal(await closedWithin(first, 200), false)
    // Another source has its own allowance.
    await tlsPeer(gw.port)
    first.destroy()
    await waitUntil(() => gw.transport.tcpConnectionCount === 2)
    const again = await rawTcp(gw.port, '127.0.0.8')
    assert.equal(await closedWithin(again, 200), false)
  })

  it('closes TLS connections from sources the screen refuses before any handshake', async () => {
    const gw = await server()
    gw.transport.screenConnection = (address) => (address === '127.0.0.6' ? 'banned' : 'admit')
    const socket = connectTls({port: gw.port, host: '127.0.0.1', ca: read(certs.ca), ...{localAddress: '127.0.0.6'}})
    open.push(socket)
    const [error] = (await once(socket, 'error')) as [Error]
    assert.match(error.message, /socket disconnected|ECONNRESET/i)
    assert.deepEqual(gw.drops.map((drop) => `${drop.transport} ${drop.reason}`), ['tls banned'])
  })
})

describe('connection reuse (RFC 5923)', () => {
  it('sends its requests to a verified peer over the connection that peer opened with Via alias', async () => {
    const gw = await server({}, true)
    const peer = await client({cert: read(certs.client.cert), key: read(certs.client.key)}, true)
    const peerPort = peer.listenerFor('tls')?.port ?? 0
    const arrival = nextMessage(gw.transport)
    await peer.send(parseSipMessage(Buffer.from(options(`SIP/2.0/TLS 127.0.0.1:${peerPort};alias`, 'z9hG4bKalias'))), {transport: 'tls', address: '127.0.0.1', port: gw.port, hostname: '127.0.0.1'})
    const [, context] = await arrival
    assert.equal(gw.transport.counters.tlsAliases, 1)
    // The gateway's request to the peer's listening address goes over the peer's connection.
    const back = nextMessage(peer)
    const sent = await gw.transport.send(parseSipMessage(Buffer.from(options('SIP/2.0/TLS 127.0.0.1:5061', 'z9hG4bKback'))), {transport: 'tls', address: '127.0.0.1', port: peerPort, hostname: '127.0.0.1'})
    assert.equal(sent.connectionId, context.connectionId)
    await back
    assert.equal(gw.transport.counters.tlsConnectionsOpened, 0, 'no connection opened towards the peer')
  })

  it('does not reuse a connection whose peer presented no verified certificate', async () => {
    const gw = await server({tlsClient: () => ({verifyServer: true, minVersion: 'TLSv1.2', ca: read(certs.ca)})})
    const peer = await client({}, true)
    const peerPort = peer.listenerFor('tls')?.port ?? 0
    const arrival = nextMessage(gw.transport)
    await peer.send(parseSipMessage(Buffer.from(options(`SIP/2.0/TLS 127.0.0.1:${peerPort};alias`, 'z9hG4bKnoalias'))), {transport: 'tls', address: '127.0.0.1', port: gw.port, hostname: '127.0.0.1'})
    const [, context] = await arrival
    assert.equal(gw.transport.counters.tlsAliases, 0)
    const sent = await gw.transport.send(parseSipMessage(Buffer.from(options('SIP/2.0/TLS 127.0.0.1:5061', 'z9hG4bKnew'))), {transport: 'tls', address: '127.0.0.1', port: peerPort, hostname: '127.0.0.1'})
    // The gateway opened its own connection to the peer's listener instead.
    assert.notEqual(sent.connectionId, context.connectionId)
    assert.equal(gw.transport.counters.tlsConnectionsOpened, 1)
  })
})
