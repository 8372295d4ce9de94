// The SIP transport on loopback sockets: bound addresses, RFC 3581 stamping
// and response routing (§18.2.2), bad packets answered or dropped and
// counted, TCP keep-alives, framing errors, connection reuse and idle close,
// and the packet events HEP capture subscribes to.
import assert from 'node:assert/strict'
import {createSocket, type Socket as UdpSocket} from 'node:dgram'
import {once} from 'node:events'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {createResponseTo, type SipMessage, type SipRequest} from '../../../../src/sip/message.js'
import {parseSipMessage} from '../../../../src/sip/parser.js'
import {SipTransport} from '../../../../src/sip/transport/sip-transport.js'
import type {InboundContext, SipPacketEvent} from '../../../../src/sip/transport/types.js'
import {sleep, wire} from './fake-sip-transport.js'

const options = (via: string, extra: string[] = []): Buffer =>
  Buffer.from(wire([
    'OPTIONS sip:gw@127.0.0.1 SIP/2.0',
    `Via: ${via}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=p1',
    'To: <sip:gw@127.0.0.1>',
    'Call-ID: transport-test',
    'CSeq: 1 OPTIONS',
    ...extra,
  ]))

const nextMessage = (transport: SipTransport): Promise<[SipMessage, InboundContext]> => once(transport, 'message') as Promise<[SipMessage, InboundContext]>

const udpPeer = async (): Promise<UdpSocket> => {
  const socket = createSocket('udp4')
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  return socket
}

const datagram = async (socket: UdpSocket, timeoutMs = 1_000): Promise<SipMessage | undefined> => {
  const timer = sleep(timeoutMs).then(() => undefined)
  const received = once(socket, 'message').then(([bytes]) => parseSipMessage(bytes as Buffer))
  return Promise.race([received, timer])
}

describe('SipTransport', () => {
  let transport: SipTransport
  let udpPort = 0
  let tcpPort = 0
  const peers: Array<UdpSocket | Socket | Server> = []

  before(async () => {
    transport = await SipTransport.listen({listen: [{transport: 'udp', address: '127.0.0.1', port: 0}, {transport: 'tcp', address: '127.0.0.1', port: 0}], tcpIdleTimeoutMs: 300})
    udpPort = transport.addresses[0]?.port ?? 0
    tcpPort = transport.addresses[1]?.port ?? 0
  })
  after(async () => {
    for (const peer of peers) 'destroy' in peer ? peer.destroy() : peer.close()
    await transport.close()
  })

  it('binds port 0 and exposes the ports it got', () => {
    assert.deepEqual(transport.addresses.map(({transport: kind, address}) => `${kind} ${address}`), ['udp 127.0.0.1', 'tcp 127.0.0.1'])
    assert.ok(udpPort > 0 && tcpPort > 0)
    assert.equal(transport.listenerFor('tcp')?.port, tcpPort)
  })

  it('stamps received and rport on a UDP request (RFC 3581) and answers to the source port', async () => {
    const peer = await udpPeer()
    peers.push(peer)
    const packets: SipPacketEvent[] = []
    const capture = (event: SipPacketEvent): number => packets.push(event)
    transport.on('packet', capture)
    const arrival = nextMessage(transport)
    const bytes = options('SIP/2.0/UDP phone.example:5099;branch=z9hG4bKudp1;rport')
    peer.send(bytes, udpPort, '127.0.0.1')
    const [request, context] = await arrival
    const peerPort = peer.address().port
    assert.equal(request.headers.get('via'), `SIP/2.0/UDP phone.example:5099;branch=z9hG4bKudp1;rport=${peerPort};received=127.0.0.1`)
    assert.deepEqual(context.remote, {address: '127.0.0.1', port: peerPort})
    const answer = datagram(peer)
    await transport.respond(createResponseTo(request as SipRequest, 200), context)
    assert.equal((await answer)?.kind, 'response')
    transport.off('packet', capture)
    assert.deepEqual(packets.map(({direction, transport: kind, remote}) => `${direction} ${kind} ${remote.port}`), [`in udp ${peerPort}`, `out udp ${peerPort}`])
    assert.deepEqual(packets[0]?.bytes, bytes)
    assert.deepEqual(packets[1]?.local, {address: '127.0.0.1', port: udpPort})
  })

  it('without rport answers to the received address and the sent-by port (§18.2.2)', async () => {
    const sender = await udpPeer()
    const listener = await udpPeer()
    peers.push(sender, listener)
    const arrival = nextMessage(transport)
    sender.send(options(`SIP/2.0/UDP 127.0.0.1:${listener.address().port};branch=z9hG4bKudp2`), udpPort, '127.0.0.1')
    const [request, context] = await arrival
    assert.equal(request.headers.get('via')?.includes('received'), false, 'sent-by matches the source: nothing to add')
    const answer = datagram(listener)
    await transport.respond(createResponseTo(request as SipRequest, 200), context)
    assert.equal((await answer)?.kind, 'response')
  })

  it('answers an unparsable request with 400 and a Warning naming the cause, drops garbage, counts both, throws nothing', async () => {
    const peer = await udpPeer()
    peers.push(peer)
    const before = transport.counters
    const answer = datagram(peer)
    const broken = wire(['INVITE sip:gw@127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=z9hG4bKbad;rport`, 'From: <sip:a@b>;tag=1', 'To: <sip:gw@127.0.0.1>', 'Call-ID: bad-1', 'CSeq: 1 INVITE', 'Max-Forwards: 999'])
    peer.send(Buffer.from(broken), udpPort, '127.0.0.1')
    const response = await answer
    assert.equal(response?.kind === 'response' && response.status, 400)
    assert.match(response?.headers.get('warning') ?? '', /^399 127\.0\.0\.1 "malformed Max-Forwards"$/)
    peer.send(Buffer.from('\x00\x01garbage that is no SIP'), udpPort, '127.0.0.1')
    peer.send(Buffer.from(wire(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx', 'Via: SIP/2.0/UDP 127.0.0.1:2;branch=z9hG4bKy', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>', 'Call-ID: two-vias', 'CSeq: 1 OPTIONS'])), udpPort, '127.0.0.1')
    assert.equal(await datagram(peer, 200), undefined, 'nothing answers garbage or a response')
    const after = transport.counters
    assert.equal(after.badRequestsAnswered - before.badRequestsAnswered, 1)
    assert.equal(after.badMessagesDropped - before.badMessagesDropped, 2)
  })

  it('counts an exception thrown by a message listener instead of letting it escape', async () => {
    const failing = (): never => {
      throw new Error('listener bug')
    }
    transport.on('message', failing)
    const peer = await udpPeer()
    peers.push(peer)
    const before = transport.counters.handlerErrors
    peer.send(options(`SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=z9hG4bKthrow`), udpPort, '127.0.0.1')
    await sleep(100)
    transport.off('message', failing)
    assert.equal(transport.counters.handlerErrors, before + 1)
  })

  it('answers a TCP CRLFCRLF keep-alive with CRLF (RFC 5626 §3.5.1) and answers requests on the same connection', async () => {
    const socket = connect(tcpPort, '127.0.0.1')
    peers.push(socket)
    await once(socket, 'connect')
    socket.write('\r\n\r\n')
    const [pong] = await once(socket, 'data')
    assert.equal((pong as Buffer).toString(), '\r\n')
    const arrival = nextMessage(transport)
    socket.write(options(`SIP/2.0/TCP 127.0.0.1:${socket.localPort};branch=z9hG4bKtcp1`))
    const [request, context] = await arrival
    assert.equal(context.transport, 'tcp')
    assert.ok(context.connectionId !== undefined)
    const reply = once(socket, 'data')
    await transport.respond(createResponseTo(request as SipRequest, 200), context)
    assert.match(((await reply)[0] as Buffer).toString(), /^SIP\/2\.0 200 OK\r\n/)
  })

  it('closes a TCP connection that cannot be framed, and counts it', async () => {
    const before = transport.counters.framingErrors
    const socket = connect(tcpPort, '127.0.0.1')
    peers.push(socket)
    await once(socket, 'connect')
    socket.write('HELLO THERE\r\n\r\n')
    await once(socket, 'close')
    assert.equal(transport.counters.framingErrors, before + 1)
  })

  it('opens one outgoing TCP connection per peer, reuses it, and closes it when idle', async () => {
    const received: string[] = []
    const server = createServer((socket) => socket.on('data', (chunk) => received.push(chunk.toString())))
    peers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const address = server.address()
    const port = typeof address === 'object' && address !== null ? address.port : 0
    const before = transport.counters.tcpConnectionsOpened
    const message = parseSipMessage(options('SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKout'))
    const first = await transport.send(message, {transport: 'tcp', address: '127.0.0.1', port})
    const second = await transport.send(message, {transport: 'tcp', address: '127.0.0.1', port})
    assert.equal(first.connectionId, second.connectionId)
    assert.equal(transport.counters.tcpConnectionsOpened, before + 1)
    await sleep(100)
    assert.equal(received.join('').match(/OPTIONS sip:/g)?.length, 2)
    const open = transport.tcpConnectionCount
    await sleep(500)
    assert.ok(transport.tcpConnectionCount < open, 'the idle connection was closed')
  })

  it('rejects a send that cannot connect with a transport error', async () => {
    const message = parseSipMessage(options('SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKrefused'))
    await assert.rejects(transport.send(message, {transport: 'tcp', address: '127.0.0.1', port: 1}), {name: 'SipTransportError'})
  })
})
