// The SDK from a real browser: a headless Chromium page (test/helpers/browser-sdk.ts)
// authenticates with a JWT, places a call through a trunk to a SIPp callee that
// echoes RTP, and gets its own microphone audio back. The same scenario as
// sdk-call.test.ts, with the WebRTC stack an SDK user actually runs (Chromium's
// ICE, DTLS, SRTP, SCTP and its SDP) instead of werift.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {BrowserSdk, type AudioStats, type BrowserClient} from '../../../helpers/browser-sdk.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {TestIssuer} from '../../../helpers/jwt.js'
import {OtlpReceiver} from '../../../helpers/otlp-receiver.js'
import {runSipp, uasAnswering} from '../../../helpers/peers.js'
import {startSdkGateway} from '../../../helpers/sdk-gateway.js'

const gw = new TestGateway()
const receiver = new OtlpReceiver()
let browser: BrowserSdk | undefined
let issuer: TestIssuer
let endpoint = ''
let calleePort = 0

before(async () => {
  // Chromium takes seconds to start on a loaded machine: launched here, not inside the test's time.
  // A launch failure fails the suite with Playwright's reason (missing binary, sandbox, libraries).
  browser = await BrowserSdk.launch()
  issuer = await TestIssuer.create()
  await receiver.start()
  calleePort = await freePort()
  endpoint = await startSdkGateway(gw, {tracingEndpoint: receiver.endpoint, tenants: ['acme'], trunks: [{id: 'callee', tenant: 'acme', port: calleePort}], issuer})
})

after(async () => {
  await browser?.close()
  await gw.stop()
  await receiver.stop()
})

/** Resolves once the browser's audio stats satisfy `enough` (getStats has no event to wait on). */
const audioUntil = (client: BrowserClient, what: string, enough: (stats: AudioStats) => boolean) =>
  waitFor(what, async () => {
    const stats = await client.audioStats()
    return enough(stats) ? stats : undefined
  }, 20_000)

describe('SDK call over WebRTC from headless Chromium (SIPp callee)', {timeout: 120_000}, () => {
  it('places a call from the page with audio both ways, events, the CDR and the call span', async () => {
    assert.ok(browser, 'Chromium was launched')
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    let client: BrowserClient | undefined
    try {
      client = await browser.connect(endpoint, await issuer.token('acme'))
      const subscribed = await client.request('events.subscribe')
      assert.equal(subscribed.kind, 'response', JSON.stringify(subscribed.payload))
      const created = await client.request('call.create', {to: '+15550200', trunk: 'callee', from: '+15550999'})
      assert.equal(created.kind, 'response', JSON.stringify(created.payload))
      const callSid = String(created.payload.call_sid)
      assert.match(callSid, /^CA[0-9a-f]{32}$/)
      await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      // The callee echoes what it gets: audio arriving at the browser went browser → gateway → SIPp → gateway → browser.
      const stats = await audioUntil(client, 'echoed audio at the browser', (audio) => audio.packetsReceived >= 25)
      assert.ok(stats.packetsSent >= 25, `the browser sent ${stats.packetsSent} packets`)
      assert.equal(stats.sendCodec.toLowerCase(), client.answeredCodec.toLowerCase(), 'the browser sends the codec the gateway answered first')

      const hangup = await client.request('call.hangup', {call_sid: callSid})
      assert.equal(hangup.kind, 'response', JSON.stringify(hangup.payload))
      const end = await client.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(end.status, 'completed')
      assert.equal(end.tenant_id, 'acme')
      assert.equal(end.trunk_id, 'callee')
      assert.equal(end.to_number, '+15550200')
      assert.equal(end.codec, 'PCMU')
      assert.ok(Number(end.packets_received) >= 25, `packets_received ${String(end.packets_received)}: the gateway got the browser's audio`)
      assert.equal((await callee.done).code, 0, 'SIPp callee scenario failed')

      const spans = await receiver.traceOf(callSid)
      const call = spans.filter((span) => span.name === 'call')
      assert.equal(call.length, 1, `one call span in ${JSON.stringify(spans.map((span) => span.name))}`)
      assert.equal(call[0]?.attributes.transport, 'webrtc')
      assert.equal(call[0]?.attributes['tenant.id'], 'acme')
    } finally {
      await client?.close()
      callee.stop()
    }
  })
})
