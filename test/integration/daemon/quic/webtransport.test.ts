// The SDK over WebTransport from a real browser: headless Chromium (Debian's,
// driven by playwright-core) opens a WebTransport session to the gateway's
// HTTP/3 listener, pinning its self-signed certificate by the SHA-256 `status`
// shows, with the JWT in the CONNECT; places a call through a trunk to a SIPp
// callee that echoes RTP, sends a tone in datagrams and gets it back. The CDR,
// the OTLP trace (transport=webtransport) and the handshake histogram are
// checked, and CONNECTs without a valid token are refused before a session.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {BrowserWebTransport} from '../../../helpers/browser-webtransport.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {TestIssuer} from '../../../helpers/jwt.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../helpers/otlp-receiver.js'
import {runSipp, uasAnswering} from '../../../helpers/peers.js'
import {QuicSdkClient} from '../../../helpers/quic-client.js'
import {startQuicGateway} from '../../../helpers/sdk-gateway.js'
import {encodeH3Frame, H3_FRAME, H3FrameReader, type H3Frame} from '../../../../daemon/quic/h3.js'
import {decodeFieldSection, encodeFieldSection} from '../../../../daemon/quic/qpack.js'

const PER_SOURCE = 4
const gw = new TestGateway()
const receiver = new OtlpReceiver()
let browser: BrowserWebTransport | undefined
let issuer: TestIssuer
let url = ''
let sha256 = ''
let calleePort = 0

/**
 * One HTTP/3 request from a client on the QUIC library (not a browser, so the status and body can be read):
 * HEADERS with the given fields on a new stream; resolves with the response's fields and body.
 */
const h3Request = async (fields: Array<[string, string]>): Promise<{status: string; headers: Map<string, string>; body: string}> => {
  const port = Number(new URL(url).port)
  const {client} = await QuicSdkClient.connect(port, {sha256, alpn: 'h3'})
  try {
    const stream = client.client.connection.newStream('bidi')
    const writer = stream.writable.getWriter()
    await writer.write(encodeH3Frame(H3_FRAME.headers, encodeFieldSection(fields)))
    const reader = stream.readable.getReader()
    const frames = new H3FrameReader(64 * 1024)
    const received: H3Frame[] = []
    // A refusal ends the stream; an accepted session keeps it open, so its HEADERS are all there is to wait for.
    const accepted = () => received.some((frame) => frame.type === H3_FRAME.headers && decodeFieldSection(frame.payload).some(([name, value]) => name === ':status' && value === '200'))
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      received.push(...frames.push(chunk.value))
      if (accepted()) break
    }
    const headers = new Map(decodeFieldSection(received.find((frame) => frame.type === H3_FRAME.headers)?.payload ?? Buffer.alloc(2)))
    const body = Buffer.concat(received.filter((frame) => frame.type === H3_FRAME.data).map((frame) => frame.payload)).toString('utf8')
    return {status: headers.get(':status') ?? '', headers, body}
  } finally {
    await client.close()
  }
}

const connectFields = (path: string, extra: Array<[string, string]> = []): Array<[string, string]> => [
  [':method', 'CONNECT'],
  [':protocol', 'webtransport'],
  [':scheme', 'https'],
  [':authority', '127.0.0.1'],
  [':path', path],
  ...extra,
]

const handshakes = (result: 'ok' | 'failed'): Promise<number> => gw.metric(new RegExp(`^clutchcall_quic_handshake_seconds_count\\{result="${result}"\\} (\\d+)`, 'm'))

before(async () => {
  // Chromium takes seconds to start on a loaded machine: launched here, not inside a test's time.
  browser = await BrowserWebTransport.launch()
  issuer = await TestIssuer.create()
  await receiver.start()
  calleePort = await freePort()
  ;({sha256, webTransportUrl: url} = await startQuicGateway(gw, {
    tracingEndpoint: receiver.endpoint,
    tenants: ['acme'],
    trunks: [{id: 'callee', tenant: 'acme', port: calleePort}],
    issuer,
    webtransport: true,
    limits: {max_connections_per_source: PER_SOURCE},
  }))
})

after(async () => {
  await browser?.close()
  await gw.stop()
  await receiver.stop()
})

describe('SDK call over WebTransport from headless Chromium (SIPp callee)', {timeout: 120_000}, () => {
  it('places a call with the tone echoed through datagrams, the CDR, a trace with transport=webtransport and the handshake observed', async () => {
    assert.ok(browser, 'Chromium was launched')
    const before = await handshakes('ok')
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const client = await browser.connect(url, sha256, await issuer.token('acme'))
    try {
      const subscribed = await client.subscribe()
      assert.equal(subscribed.kind, 'response', JSON.stringify(subscribed.payload))
      await client.startTone()
      const created = await client.request('call.create', {to: '+15550400', trunk: 'callee', from: '+15550999'})
      assert.equal(created.kind, 'response', JSON.stringify(created.payload))
      const callSid = String(created.payload.call_sid)
      await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      // The echoed tone in the page proves browser → gateway → SIPp → gateway → browser.
      await waitFor('the echoed tone in the page', async () => ((await client.received()).tone >= 50 ? true : undefined), 20_000)
      const dtmf = await client.request('call.dtmf', {call_sid: callSid, digits: '9'})
      assert.equal(dtmf.kind, 'response', JSON.stringify(dtmf.payload))
      const hangup = await client.request('call.hangup', {call_sid: callSid})
      assert.equal(hangup.kind, 'response', JSON.stringify(hangup.payload))
      const end = await client.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(end.status, 'completed')
      assert.equal(end.tenant_id, 'acme')
      assert.equal(end.trunk_id, 'callee')
      assert.equal(end.direction, 'outbound')
      assert.equal(end.to_number, '+15550400')
      assert.equal(end.codec, 'PCMU')
      assert.ok(Number(end.packets_received) >= 50, `packets_received ${String(end.packets_received)}: the gateway got the page's audio`)
      assert.ok(Number(end.estimated_mos) > 4, `estimated_mos ${String(end.estimated_mos)}`)
      assert.equal((await gw.hangupOf('+15550400')).call_sid, callSid)
      assert.equal((await callee.done).code, 0, 'SIPp callee scenario failed')

      const spans = await receiver.traceOf(callSid)
      const call = spans.filter((span) => span.name === 'call')
      assert.equal(call.length, 1)
      assert.equal(call[0]?.attributes.transport, 'webtransport')
      const rpc = receiver.spans.find((span) => span.name === 'rpc call.create' && span.attributes['call.sid'] === callSid)
      assert.equal(rpc?.attributes.transport, 'webtransport')
      assert.equal(rpc?.attributes['method.id'], '1')
      assert.equal(call[0]?.parentSpanId, rpc?.spanId, 'the call continues the RPC trace')
      for (const name of ['rpc.parse', 'jwt.validate']) assert.ok(receiver.spans.some((span) => span.name === name && span.parentSpanId === rpc?.spanId && span.attributes.transport === 'webtransport'), name)
      const open = receiver.spans.find((span: ReceivedSpan) => span.name === 'rpc session.open' && span.attributes.transport === 'webtransport' && span.statusCode !== 2)
      assert.ok(open, 'the CONNECT as session.open')
      assert.ok(receiver.spans.some((span) => span.name === 'jwt.validate' && span.parentSpanId === open.spanId))
      assert.ok((await handshakes('ok')) >= before + 1, 'the WebTransport handshake was observed')
    } finally {
      await client.close()
      callee.stop()
    }
  })

  it('refuses a CONNECT without a token, with an expired one or for another audience before any session (401), and the gateway goes on', async () => {
    assert.ok(browser, 'Chromium was launched')
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['no token', undefined, /no bearer token/],
      ['expired', await issuer.token('acme', {expiresIn: Math.floor(Date.now() / 1000) - 120}), /token expired at/],
      ['wrong audience', await issuer.token('acme', {audience: 'someone-else'}), /wrong audience/],
    ]
    for (const [name, token, reason] of cases) {
      await assert.rejects(browser.connect(url, sha256, token), /WebTransportError/, name)
      const refused = await waitFor(`the refused CONNECT (${name})`, () =>
        receiver.spans.find((span) => span.name === 'rpc session.open' && span.attributes.transport === 'webtransport' && span.statusCode === 2 && reason.test(span.statusMessage)),
      )
      assert.equal(refused.attributes['rpc.error_code'], 'CC_ERR_RPC_UNAUTHENTICATED', name)
    }
    const status = await gw.home.json(['status'])
    assert.equal(status.body.result.quic.sessions, 0, 'no session was opened')
    // What the browser cannot show: the status, WWW-Authenticate and the JSON body of each refusal.
    const noToken = await h3Request(connectFields('/v1/rpc'))
    assert.equal(noToken.status, '401')
    assert.match(noToken.headers.get('www-authenticate') ?? '', /^Bearer error="invalid_token", error_description=".*no bearer token/)
    assert.equal((JSON.parse(noToken.body) as {error: {code: string}}).error.code, 'CC_ERR_RPC_UNAUTHENTICATED')
    const expired = await h3Request(connectFields('/v1/rpc', [['authorization', `Bearer ${await issuer.token('acme', {expiresIn: Math.floor(Date.now() / 1000) - 120})}`]]))
    assert.equal(expired.status, '401')
    assert.match(expired.body, /token expired at/)
    const elsewhere = await h3Request(connectFields(`/v2/other?access_token=${await issuer.token('acme')}`))
    assert.equal(elsewhere.status, '404')
    const get = await h3Request([[':method', 'GET'], [':scheme', 'https'], [':authority', '127.0.0.1'], [':path', '/v1/rpc']])
    assert.equal(get.status, '405')
    const accepted = await h3Request(connectFields('/v1/rpc', [['authorization', `Bearer ${await issuer.token('acme')}`]]))
    assert.equal(accepted.status, '200', 'a token in the Authorization header opens a session too')
    const client = await browser.connect(url, sha256, await issuer.token('acme'))
    assert.equal((await client.subscribe()).kind, 'response')
    await client.close()
  })

  it('closes a WebTransport connection beyond max_connections_per_source (counted with QUIC ones) and goes on', async () => {
    assert.ok(browser, 'Chromium was launched')
    const connections = async () => (await gw.home.json(['status'])).body.result.quic.connections as number
    await waitFor('no connection left from earlier tests', async () => ((await connections()) === 0 ? true : undefined))
    const sessions = []
    for (let index = 0; index < PER_SOURCE - 1; index++) sessions.push(await browser.connect(url, sha256, await issuer.token('acme')))
    // The last slot is taken by a QUIC connection: the two listeners share the count.
    const {client: quic} = await QuicSdkClient.connect(gw.listeners.find((listener) => listener.name === 'quic')?.port ?? 0, {sha256})
    try {
      const beyond = await browser.connect(url, sha256, await issuer.token('acme')).then(
        async (client) => {
          // The handshake may complete before the gateway closes it: then the session never becomes usable.
          const reply = await Promise.race([client.subscribe().catch((error: unknown) => ({kind: String(error)})), new Promise<{kind: string}>((resolve) => setTimeout(() => resolve({kind: 'no answer'}), 3000))])
          await client.close()
          return reply.kind
        },
        (error: unknown) => String(error),
      )
      assert.notEqual(beyond, 'response', 'a session beyond the per-source limit was served')
      assert.match(beyond, /WebTransport/, 'the page saw the session fail')
      // Refused with 429 and the reason (the connection is closed after), not by closing the connection at once,
      // which makes Chromium drop its other sessions to the gateway as well.
      const refused = await waitFor('the CONNECT refused for the limit', () => receiver.spans.find((span) => span.name === 'rpc session.open' && span.attributes['rpc.error_code'] === 'CC_ERR_QUIC_LIMIT'))
      assert.match(refused.statusMessage, /more than 4 connections from 127\.0\.0\.1/)
      for (const session of sessions) assert.equal((await session.subscribe()).kind, 'response', 'a served session was cut')
      assert.equal((await gw.home.json(['status'])).code, 0, 'the daemon answers')
    } finally {
      await quic.close()
      for (const session of sessions) await session.close()
    }
  })
})
