// The hard limits of the SIP transport's TCP side, on loopback sockets: the
// connection screen's verdicts, the per-source and global connection caps, a
// message trickled too slowly, a peer that never reads what we send, and the
// connections of a source that gets banned. Each drop is reported with its
// reason, the way the daemon counts it.
import assert from 'node:assert/strict'
import type {Socket} from 'node:net'
import {afterEach, describe, it} from 'node:test'
import {parseSipMessage} from '../../../../../src/sip/parser.js'
import {SipTransport, type SipTransportOptions} from '../../../../../src/sip/transport/sip-transport.js'
import type {ConnectionVerdict, SipConnectionDropReason} from '../../../../../src/sip/transport/types.js'
import {closedWithin, dialTcp} from '../../../../helpers/tcp-client.js'
import {sleep, wire} from '../fake-sip-transport.js'

const options = (branch: string): Buffer =>
  Buffer.from(wire([
    'OPTIONS sip:gw@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/TCP 127.0.0.1:1;branch=${branch}`,
    'Max-Forwards: 70',
    'From: <sip:probe@example.com>;tag=p1',
    'To: <sip:gw@127.0.0.1>',
    `Call-ID: ${branch}`,
    'CSeq: 1 OPTIONS',
  ]))

interface Harness {
  transport: SipTransport
  port: number
  drops: Array<{reason: SipConnectionDropReason; address: string}>
}

const open: Array<SipTransport | Socket> = []

const harness = async (limits: Partial<SipTransportOptions>, screen?: (address: string) => ConnectionVerdict): Promise<Harness> => {
  const transport = await SipTransport.listen({listen: [{transport: 'tcp', address: '127.0.0.1', port: 0}], ...limits})
  open.push(transport)
  transport.screenConnection = screen
  const drops: Harness['drops'] = []
  transport.on('connectionDropped', (protocol, reason, remote) => {
    assert.equal(protocol, 'tcp')
    drops.push({reason, address: remote.address})
  })
  return {transport, port: transport.addresses[0]?.port ?? 0, drops}
}

const dial = async (port: number, localAddress = '127.0.0.1'): Promise<Socket> => {
  const socket = await dialTcp(port, localAddress)
  open.push(socket)
  return socket
}

const waitUntil = async (probe: () => boolean, ms = 2000): Promise<void> => {
  const deadline = Date.now() + ms
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await sleep(10)
  }
}

afterEach(async () => {
  for (const item of open.splice(0)) {
    if (item instanceof SipTransport) await item.close()
    else item.destroy()
  }
})

describe('TCP connection screen', () => {
  it('closes connections from sources the screen calls unknown or banned, and says which', async () => {
    const verdicts: Record<string, ConnectionVerdict> = {'127.0.0.5': 'unknown_source', '127.0.0.6': 'banned'}
    const {port, drops, transport} = await harness({}, (address) => verdicts[address] ?? 'admit')
    const unknown = await dial(port, '127.0.0.5')
    const banned = await dial(port, '127.0.0.6')
    const known = await dial(port, '127.0.0.7')
    assert.equal(await closedWithin(unknown, 1000), true)
    assert.equal(await closedWithin(banned, 1000), true)
    assert.equal(await closedWithin(known, 200), false)
    assert.deepEqual(drops.map((drop) => `${drop.reason} ${drop.address}`).sort(), ['banned 127.0.0.6', 'unknown_source 127.0.0.5'])
    // What the screened sources sent never reached the layers above.
    let delivered = 0
    transport.on('message', () => delivered++)
    known.write(options('z9hG4bKknown'))
    await waitUntil(() => delivered === 1)
  })

  it('holds at most max connections per source, exempts trusted sources, and frees a slot when one closes', async () => {
    const {port, drops, transport} = await harness({maxTcpConnectionsPerSource: 2}, (address) => (address === '127.0.0.9' ? 'exempt' : 'admit'))
    const first = await dial(port, '127.0.0.8')
    await dial(port, '127.0.0.8')
    const third = await dial(port, '127.0.0.8')
    assert.equal(await closedWithin(third, 1000), true)
    assert.deepEqual(drops, [{reason: 'source_limit', address: '127.0.0.8'}])
    // Another source has its own allowance; an exempt one has none.
    const others = [await dial(port, '127.0.0.10'), await dial(port, '127.0.0.10')]
    const trusted = await Promise.all([1, 2, 3, 4].map(() => dial(port, '127.0.0.9')))
    for (const socket of [...others, ...trusted]) assert.equal(await closedWithin(socket, 100), false)
    await waitUntil(() => transport.tcpConnectionCount === 8)
    first.destroy()
    await waitUntil(() => transport.tcpConnectionCount === 7)
    const again = await dial(port, '127.0.0.8')
    assert.equal(await closedWithin(again, 200), false)
    assert.equal(drops.length, 1)
  })

  it('closes a connection accepted beyond max connections', async () => {
    const {port, drops} = await harness({maxTcpConnections: 2})
    await dial(port)
    await dial(port)
    const third = await dial(port)
    assert.equal(await closedWithin(third, 1000), true)
    assert.deepEqual(drops.map((drop) => drop.reason), ['connection_limit'])
  })

  it('drops every connection of a source when asked (a ban)', async () => {
    const {port, drops, transport} = await harness({})
    const sockets = [await dial(port, '127.0.0.11'), await dial(port, '127.0.0.11')]
    const bystander = await dial(port, '127.0.0.12')
    await waitUntil(() => transport.tcpConnectionCount === 3)
    assert.equal(transport.dropConnectionsFrom('127.0.0.11', 'banned'), 2)
    for (const socket of sockets) assert.equal(await closedWithin(socket, 1000), true)
    assert.equal(await closedWithin(bystander, 100), false)
    assert.deepEqual(drops.map((drop) => drop.reason), ['banned', 'banned'])
  })
})

describe('TCP message timeout', () => {
  it('drops a connection trickling one message for longer than the timeout, though each byte resets the idle timer', async () => {
    const {port, drops} = await harness({tcpMessageTimeoutMs: 300, tcpIdleTimeoutMs: 10_000})
    const socket = await dial(port)
    const message = options('z9hG4bKslow')
    let offset = 0
    const trickle = setInterval(() => {
      if (offset < message.length - 1 && !socket.destroyed) socket.write(message.subarray(offset, ++offset))
    }, 20)
    try {
      assert.equal(await closedWithin(socket, 2000), true)
    } finally {
      clearInterval(trickle)
    }
    assert.ok(offset < message.length - 1, `the whole message went through (${offset} bytes) before the drop`)
    assert.deepEqual(drops.map((drop) => drop.reason), ['message_timeout'])
  })

  it('keeps a busy connection whose segments keep ending mid-message, since messages keep completing', async () => {
    const {port, drops, transport} = await harness({tcpMessageTimeoutMs: 300})
    let delivered = 0
    transport.on('message', () => delivered++)
    const socket = await dial(port)
    // Each write finishes the previous message and starts the next: never an empty buffer, always progress.
    const messages = Array.from({length: 12}, (_, index) => options(`z9hG4bKbusy${index}`))
    const half = (bytes: Buffer): number => Math.floor(bytes.length / 2)
    socket.write(messages[0]!.subarray(0, half(messages[0]!)))
    for (let index = 1; index < messages.length; index++) {
      await sleep(100)
      const previous = messages[index - 1]!
      const current = messages[index]!
      socket.write(Buffer.concat([previous.subarray(half(previous)), current.subarray(0, half(current))]))
    }
    await waitUntil(() => delivered === messages.length - 1)
    assert.equal(await closedWithin(socket, 100), false)
    assert.deepEqual(drops, [])
  })
})

describe('TCP send buffer', () => {
  it('drops a peer that leaves more than the send buffer of our messages unread', async () => {
    const {port, drops, transport} = await harness({tcpSendBufferBytes: 64 * 1024})
    let connectionId: number | undefined
    let remotePort = 0
    transport.on('message', (_message, inbound) => {
      connectionId = inbound.connectionId
      remotePort = inbound.remote.port
    })
    const socket = await dial(port)
    socket.write(options('z9hG4bKnoread'))
    await waitUntil(() => connectionId !== undefined)
    socket.pause()
    // Large messages sent again and again over its connection to a peer that never reads: the kernel's buffers fill first, then ours.
    const message = parseSipMessage(options('z9hG4bKnoread'))
    message.headers.append('Subject', 'x'.repeat(60_000))
    const failures: unknown[] = []
    for (let attempt = 0; attempt < 2000 && drops.length === 0; attempt++) {
      transport.send(message, {transport: 'tcp', address: '127.0.0.1', port: remotePort, connectionId}).catch((error: unknown) => failures.push(error))
      if (attempt % 10 === 0) await sleep(1)
    }
    assert.deepEqual(drops.map((drop) => drop.reason), ['send_buffer'])
    await waitUntil(() => failures.length > 0)
    assert.match(String(failures[0]), /does not read|closed/)
  })
})
