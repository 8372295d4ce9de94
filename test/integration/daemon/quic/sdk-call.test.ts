// The SDK over QUIC against a real daemon: a client on @matrixai/quic pins the
// gateway's certificate by the SHA-256 `status` shows, opens the session with
// a JWT, places a call through a trunk to a SIPp callee that echoes RTP, sends
// a tone in QUIC datagrams and gets it back; the events, the CDR, the OTLP
// trace (RPC → call → B-leg, transport=quic) and the handshake histogram are
// checked, and the refusals of the issue are tried.
import assert from 'node:assert/strict'
import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {after, before, describe, it} from 'node:test'
import {encodeFrame, RPC_METHODS} from '../../../../src/rpc/protocol.js'
import {encodeStreamFrame} from '../../../../src/rpc/stream-frames.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {TestIssuer, tamperedToken, unsignedToken, AUDIENCE, ISSUER} from '../../../helpers/jwt.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../helpers/otlp-receiver.js'
import {runSipp, uasAnswering} from '../../../helpers/peers.js'
import {QuicSdkClient} from '../../../helpers/quic-client.js'
import {startQuicGateway} from '../../../helpers/sdk-gateway.js'

const gw = new TestGateway()
const receiver = new OtlpReceiver()
let issuer: TestIssuer
let port = 0
let sha256 = ''
let calleePort = 0
const clients: QuicSdkClient[] = []

const connect = async (options: Parameters<typeof QuicSdkClient.connect>[1] = {}): Promise<QuicSdkClient> => {
  const {client} = await QuicSdkClient.connect(port, {sha256, ...options})
  clients.push(client)
  return client
}

/** The handshake histogram's count for one result. */
const handshakes = (result: 'ok' | 'failed'): Promise<number> => gw.metric(new RegExp(`^clutchcall_quic_handshake_seconds_count\\{result="${result}"\\} (\\d+)`, 'm'))

before(async () => {
  issuer = await TestIssuer.create()
  await receiver.start()
  calleePort = await freePort()
  ;({port, sha256} = await startQuicGateway(gw, {
    tracingEndpoint: receiver.endpoint,
    tenants: ['acme', 'globex'],
    trunks: [
      {id: 'callee', tenant: 'acme', port: calleePort},
      {id: 'globex-out', tenant: 'globex', port: calleePort},
    ],
    issuer,
  }))
})

after(async () => {
  await Promise.all(clients.map((client) => client.close()))
  await gw.stop()
  await receiver.stop()
})

const one = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.filter((span) => span.name === name)
  assert.equal(found.length, 1, `one ${name} span in ${JSON.stringify(spans.map((span) => span.name))}`)
  return found[0] as ReceivedSpan
}

describe('SDK call over QUIC (@matrixai/quic client, SIPp callee)', () => {
  it('places a call with audio both ways in datagrams, DTMF, events, the CDR, one trace with transport=quic, and a handshake observation', async () => {
    const before = await handshakes('ok')
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const {client, handshakeMs} = await QuicSdkClient.connect(port, {sha256})
    clients.push(client)
    assert.ok(handshakeMs < 2000, `handshake took ${handshakeMs} ms`)
    try {
      const opened = await client.open(await issuer.token('acme'))
      assert.equal(opened.kind, 'response', JSON.stringify(opened.payload))
      assert.equal(opened.payload.tenant, 'acme')
      const {reply} = await client.subscribe()
      assert.equal(reply.kind, 'response', JSON.stringify(reply.payload))
      client.startTone()
      const created = await client.request('call.create', {to: '+15550200', trunk: 'callee', from: '+15550999'})
      assert.equal(created.kind, 'response', JSON.stringify(created.payload))
      const callSid = String(created.payload.call_sid)
      assert.match(callSid, /^CA[0-9a-f]{32}$/)
      await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      // Count the library's receive-lock acquisitions from here on: an established connection's packets skip it (src/quic/library.ts).
      const recvLock = (client.client.connection as unknown as {recvLock: {withF: (...args: unknown[]) => unknown}}).recvLock
      const withF = recvLock.withF.bind(recvLock)
      let lockedReceives = 0
      recvLock.withF = (...args: unknown[]) => {
        lockedReceives++
        return withF(...args)
      }
      // And the packets the library sent through its own path (an event each): an established connection's go straight to the socket.
      const connection = client.client.connection as unknown as {dispatchEvent: (event: Event) => boolean}
      const dispatch = connection.dispatchEvent.bind(connection)
      let librarySends = 0
      connection.dispatchEvent = (event: Event) => {
        if (event.constructor.name === 'EventQUICConnectionSend') librarySends++
        return dispatch(event)
      }
      // And the stream visits: a packet with datagrams only does not make the library visit every stream.
      const streams = client.client.connection as unknown as {processStreams: () => void}
      const processStreams = streams.processStreams.bind(streams)
      let streamVisits = 0
      streams.processStreams = () => {
        streamVisits++
        processStreams()
      }
      // And the UDP packets that reach the client: the gateway's ACK of a packet of audio waits for its next datagram to ride on (src/quic/library.ts).
      const clientSocket = (client.client as unknown as {socket: {socket: {on: (event: 'message', listener: () => void) => void; off: (event: 'message', listener: () => void) => void}}}).socket.socket
      let packetsIn = 0
      const countPacket = (): void => {
        packetsIn++
      }
      clientSocket.on('message', countPacket)
      // And the UDP packets the client sends: its ACK of the echoed audio (back 1-5 ms after its own datagram) waits for its next datagram too.
      const sendingSocket = clientSocket as unknown as {send: (...args: unknown[]) => void}
      const socketSend = sendingSocket.send.bind(clientSocket)
      let packetsOut = 0
      sendingSocket.send = (...args: unknown[]) => {
        packetsOut++
        socketSend(...args)
      }
      const audioBefore = client.receivedAudio
      const toneBefore = client.sentTone
      // The callee echoes what it gets: the tone coming back in datagrams proves both directions through the gateway.
      await waitFor('the echoed tone at the client', () => (client.receivedTone >= 50 ? true : undefined), 15_000)
      assert.ok(client.receivedAudio - audioBefore >= 40, `${client.receivedAudio - audioBefore} datagrams received`)
      assert.ok(lockedReceives <= 2, `${lockedReceives} of ${client.receivedAudio - audioBefore} packets took the library's locked receive path`)
      assert.ok(client.sentTone - toneBefore >= 40, `${client.sentTone - toneBefore} tone datagrams sent`)
      assert.ok(librarySends <= 4, `${librarySends} packets took the library's send path while the tone went out`)
      assert.ok(streamVisits < (client.receivedAudio - audioBefore) / 2, `${streamVisits} stream visits for ${client.receivedAudio - audioBefore} datagrams received`)
      clientSocket.off('message', countPacket)
      delete (sendingSocket as {send?: unknown}).send
      const audioPackets = client.receivedAudio - audioBefore
      const tonePackets = client.sentTone - toneBefore
      // Each echoed datagram used to bring an ACK-only packet from the client (about two packets out per tone datagram).
      assert.ok(packetsOut <= Math.ceil(tonePackets * 1.25) + 3, `${packetsOut} UDP packets sent by the client for ${tonePackets} tone datagrams`)
      // Each audio datagram used to bring an ACK-only packet of its own (102 packets for 50 datagrams); now the ACKs ride on the audio.
      assert.ok(packetsIn <= Math.ceil(audioPackets * 1.25) + 3, `${packetsIn} UDP packets reached the client for ${audioPackets} audio datagrams`)
      const dtmf = await client.request('call.dtmf', {call_sid: callSid, digits: '12#', duration_ms: 80})
      assert.equal(dtmf.kind, 'response', JSON.stringify(dtmf.payload))
      assert.equal(dtmf.payload.digits, '12#')
      const hangup = await client.request('call.hangup', {call_sid: callSid})
      assert.equal(hangup.kind, 'response', JSON.stringify(hangup.payload))
      const end = await client.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(end.status, 'completed')
      assert.equal(end.tenant_id, 'acme')
      assert.equal(end.trunk_id, 'callee')
      assert.equal(end.direction, 'outbound')
      assert.equal(end.to_number, '+15550200')
      assert.equal(end.from_number, '+15550999')
      assert.equal(end.codec, 'PCMU')
      assert.ok(Number(end.packets_received) >= 50, `packets_received ${String(end.packets_received)}`)
      assert.ok(Number(end.packets_lost) <= 2, `packets_lost ${String(end.packets_lost)}`)
      assert.ok(Number(end.estimated_mos) > 4, `estimated_mos ${String(end.estimated_mos)}`)
      // The same CDR as the gateway's own event stream has it.
      const tail = await gw.hangupOf('+15550200')
      assert.equal(tail.call_sid, callSid)
      assert.equal(tail.estimated_mos, end.estimated_mos)
      assert.equal((await callee.done).code, 0, 'SIPp callee scenario failed')

      const spans = await receiver.traceOf(callSid)
      const root = one(spans, 'call')
      assert.equal(root.attributes.transport, 'quic')
      assert.equal(root.attributes['tenant.id'], 'acme')
      const rpc = receiver.spans.find((span) => span.name === 'rpc call.create' && span.attributes['call.sid'] === callSid)
      assert.ok(rpc, 'the call.create RPC span')
      assert.equal(rpc.attributes['method.id'], String(RPC_METHODS['call.create'].id))
      assert.equal(rpc.attributes.transport, 'quic')
      assert.equal(root.traceId, rpc.traceId, 'the call continues the RPC trace')
      assert.equal(root.parentSpanId, rpc.spanId)
      for (const name of ['rpc.parse', 'jwt.validate']) {
        const child: ReceivedSpan | undefined = receiver.spans.find((span) => span.name === name && span.parentSpanId === rpc.spanId)
        assert.ok(child, `${name} under the RPC span`)
        assert.equal(child.attributes['method.id'], '1')
        assert.equal(child.attributes.transport, 'quic')
      }
      const open = receiver.spans.find((span) => span.name === 'rpc session.open' && span.attributes.transport === 'quic' && span.attributes['tenant.id'] === 'acme')
      assert.ok(open, 'the session.open span')
      assert.equal(open.attributes['method.id'], '0')
      assert.ok(receiver.spans.some((span) => span.name === 'jwt.validate' && span.parentSpanId === open.spanId))
      const clientRtp = spans.find((span) => span.name === 'rtp.setup' && span.attributes['sip.leg'] !== 'b')
      assert.equal(clientRtp?.parentSpanId, root.spanId)
      assert.equal(clientRtp?.attributes['rtp.client_codec'], 'PCMU')
      assert.equal(clientRtp?.attributes.transport, 'quic')
      const bLeg = spans.find((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'b')
      assert.equal(bLeg?.attributes['sip.status_code'], 200)
      assert.ok(!spans.some((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'a'), 'a QUIC A-leg has no SIP setup')

      assert.ok((await handshakes('ok')) >= before + 1, 'the handshake was observed')
      assert.match(await (await fetch(`http://127.0.0.1:${gw.metricsPort}/metrics`)).text(), /^clutchcall_calls_total\{[^}]*tenant="acme"[^}]*trunk="callee"[^}]*result="completed"[^}]*\} [1-9]/m)
    } finally {
      await client.close()
      callee.stop()
    }
  })

  it('refuses session.open without a token, with an expired, forged or unsigned one, for another audience, and closes the connection (application error 1)', async () => {
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['no token', undefined, /no bearer token/],
      ['expired', await issuer.token('acme', {expiresIn: Math.floor(Date.now() / 1000) - 120}), /token expired at/],
      ['wrong audience', await issuer.token('acme', {audience: 'someone-else'}), /wrong audience/],
      ['forged', tamperedToken(await issuer.token('acme')), /signature does not verify/],
      ['alg none', unsignedToken({tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300}), /algorithm none is not allowed/],
    ]
    for (const [name, token, reason] of cases) {
      const client = await connect()
      const refused = await client.open(token)
      assert.equal(refused.kind, 'error', name)
      assert.equal(refused.payload.code, 'CC_ERR_RPC_UNAUTHENTICATED', name)
      assert.match(String(refused.payload.message), reason, name)
      const closed = await client.closedBy()
      assert.equal(closed.isApp, true, name)
      assert.equal(closed.code, 1, name)
      assert.match(closed.reason, /^CC_ERR_RPC_UNAUTHENTICATED: /, name)
    }
    const refusedSpans = await waitFor('refused session.open spans', () => {
      const found = receiver.spans.filter((span) => span.name === 'rpc session.open' && span.attributes.transport === 'quic' && span.statusCode === 2)
      return found.length >= cases.length ? found : undefined
    })
    assert.ok(refusedSpans.some((span) => receiver.spans.some((child) => child.name === 'jwt.validate' && child.parentSpanId === span.spanId && child.statusCode === 2)))
  })

  it('refuses a first request that is not session.open, and answers garbage, oversized and unknown frames on a session that keeps working', async () => {
    const early = await connect()
    const refused = await early.request('call.create', {to: 'sip:bob@127.0.0.1'})
    assert.equal(refused.payload.code, 'CC_ERR_RPC_UNAUTHENTICATED')
    assert.match(String(refused.payload.message), /first request of a connection must be session\.open/)
    assert.equal((await early.closedBy()).code, 1)

    const client = await connect()
    assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    // A whole frame of garbage: the header cannot be parsed.
    const garbage = await (await client.raw(Buffer.from([0, 0, 0, 3, 9, 9, 9]))).reply()
    assert.equal(garbage.payload.code, 'CC_ERR_RPC_BAD_FRAME')
    // A length prefix beyond the frame limit: refused before anything is buffered.
    const oversized = await (await client.raw(Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 0]), false)).reply()
    assert.equal(oversized.payload.code, 'CC_ERR_RPC_BAD_FRAME')
    assert.match(String(oversized.payload.message), /more than the 16384-byte limit/)
    // A payload that is not JSON: the error names the request.
    const notJson = await (await client.raw(encodeStreamFrame(Buffer.concat([Buffer.from([1, 0, 0, 0, 0, 1, 0, 0, 0, 7]), Buffer.from('{x!')])))).reply()
    assert.equal(notJson.payload.code, 'CC_ERR_RPC_BAD_FRAME')
    assert.match(String(notJson.payload.message), /not JSON/)
    const unknown = await (await client.call(99)).reply()
    assert.equal(unknown.payload.code, 'CC_ERR_RPC_UNKNOWN_METHOD')
    const badParams = await client.request('call.create', {to: '+1555', trunk: 'callee', timeout_s: 'soon'})
    assert.equal(badParams.payload.code, 'CC_ERR_RPC_INVALID_PARAMS')
    const otherTrunk = await client.request('call.create', {to: '+1555', trunk: 'globex-out'})
    assert.match(String(otherTrunk.payload.message), /tenant "acme" has no trunk "globex-out"/)
    // A stream that ends inside a frame.
    const cut = await (await client.raw(Buffer.from([0, 0, 0, 40, 1, 0, 0]))).reply()
    assert.match(String(cut.payload.message), /ended inside a frame/)
    // The session still works, and the connection is open.
    const subscribed = await client.subscribe()
    assert.equal(subscribed.reply.kind, 'response')
    assert.equal(client.closed, false)
    const parseSpan = await waitFor('a failed rpc.parse span over QUIC', () => receiver.spans.find((span) => span.name === 'rpc.parse' && span.statusCode === 2 && span.attributes.transport === 'quic'))
    assert.ok(parseSpan)
  })

  it('survives streams reset mid-frame, writes after it stopped reading, and two requests on one stream; the session goes on', async () => {
    const client = await connect()
    assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    // Half a frame, then RESET_STREAM.
    const half = await client.raw(Buffer.from([0, 0, 0, 30, 1, 0, 0, 0, 0, 1]), false)
    await half.cancel()
    // An oversized prefix (the gateway answers and stops reading), then 200 KB more.
    const flood = await client.raw(Buffer.from([0, 0, 0x40, 0x01]), false)
    assert.equal((await flood.reply()).payload.code, 'CC_ERR_RPC_BAD_FRAME')
    await flood.write(Buffer.alloc(200 * 1024, 7)).catch(() => undefined)
    // Two requests on one stream: the first is answered, the second refused.
    const hangup = (requestId: number) => encodeStreamFrame(encodeFrame({kind: 'request', methodId: 2, requestId, payload: {call_sid: `CA${'0'.repeat(32)}`}}))
    const twice = await client.raw(Buffer.concat([hangup(1), hangup(2)]))
    await waitFor('both answers', () => (twice.ended ? true : undefined))
    assert.deepEqual(
      twice.frames.map((frame) => [frame.kind, frame.payload.code]).sort(),
      [
        ['error', 'CC_ERR_CALL_NOT_FOUND'],
        ['error', 'CC_ERR_RPC_BAD_FRAME'],
      ],
    )
    assert.equal(client.closed, false)
    assert.equal((await client.request('call.hangup', {call_sid: `CA${'1'.repeat(32)}`})).payload.code, 'CC_ERR_CALL_NOT_FOUND')
    const status = await gw.home.json(['status'])
    assert.equal(status.code, 0, 'the daemon answers')
  })

  it('counts a handshake refused for its ALPN as failed; the client gets a TLS no_application_protocol error', async () => {
    const before = await handshakes('failed')
    const error = await QuicSdkClient.connect(port, {sha256, alpn: 'h3'}).then(
      () => assert.fail('a handshake with ALPN h3 succeeded'),
      (failure: unknown) => failure as {data?: {errorCode?: number}; message?: string},
    )
    // 0x100 + 120 (TLS alert no_application_protocol, RFC 9001 section 4.8).
    assert.equal(error.data?.errorCode, 0x178, String(error.message))
    await waitFor('the failed handshake in the histogram', async () => ((await handshakes('failed')) >= before + 1 ? true : undefined), 15_000)
  })

  it('shows the listener and the certificate clients pin in status, human and --json, with the certificate file in the home', async () => {
    const human = await gw.home.run(['status'])
    assert.equal(human.code, 0, human.stderr)
    assert.match(human.stdout, new RegExp(`QUIC certificate\\s+SHA-256 ${sha256} \\(generated, valid until \\d{4}-`))
    assert.match(human.stdout, new RegExp(`QUIC\\s+127\\.0\\.0\\.1:${port} \\(UDP\\), ALPN clutchcall-sdk/1`))
    const status = await gw.home.json(['status'])
    const quic = status.body.result.quic
    assert.equal(quic.alpn, 'clutchcall-sdk/1')
    assert.equal(quic.listen, `127.0.0.1:${port}`)
    assert.equal(quic.certificate.source, 'generated')
    assert.equal(quic.certificate.path, gw.home.path('quic', 'cert.pem'))
    assert.equal(new X509Certificate(readFileSync(quic.certificate.path)).fingerprint256, sha256)
    assert.ok(status.body.result.listeners.some((listener: {name: string; transport: string; port: number}) => listener.name === 'quic' && listener.transport === 'udp' && listener.port === port))
  })

  it('refuses a client that pins another certificate (the gateway presents the one status shows)', async () => {
    await assert.rejects(QuicSdkClient.connect(port, {sha256: sha256.replace(/^../, sha256.startsWith('00') ? '11' : '00')}))
    const {client} = await QuicSdkClient.connect(port, {sha256})
    clients.push(client)
    assert.equal((await client.open(await issuer.token('globex'))).payload.tenant, 'globex')
  })
})
