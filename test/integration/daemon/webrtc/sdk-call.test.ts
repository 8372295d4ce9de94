// The SDK over WebRTC against a real daemon: a werift client authenticates with
// a JWT, places a call through a trunk to a SIPp callee that echoes RTP, and
// hears its own audio come back (both directions through the gateway); the
// events, the CDR and the OTLP trace (RPC → call → B-leg) are checked, and
// every refusal of the issue is tried.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {RPC_METHODS} from '../../../../src/rpc/protocol.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {TestIssuer, tamperedToken, unsignedToken, AUDIENCE, ISSUER} from '../../../helpers/jwt.js'
import {OtlpReceiver, type ReceivedSpan} from '../../../helpers/otlp-receiver.js'
import {runSipp, uasAnswering, uasBusy} from '../../../helpers/peers.js'
import {HttpError, SdkClient} from '../../../helpers/sdk-client.js'
import {startSdkGateway} from '../../../helpers/sdk-gateway.js'

const gw = new TestGateway()
const receiver = new OtlpReceiver()
let issuer: TestIssuer
let endpoint = ''
let calleePort = 0
let busyPort = 0

before(async () => {
  issuer = await TestIssuer.create()
  await receiver.start()
  calleePort = await freePort()
  busyPort = await freePort()
  endpoint = await startSdkGateway(gw, {
    tracingEndpoint: receiver.endpoint,
    tenants: ['acme', 'globex'],
    trunks: [
      {id: 'callee', tenant: 'acme', port: calleePort},
      {id: 'busy', tenant: 'acme', port: busyPort},
      {id: 'globex-out', tenant: 'globex', port: calleePort},
    ],
    issuer,
  })
})

after(async () => {
  await gw.stop()
  await receiver.stop()
})

const refusal = async (token: string | undefined): Promise<HttpError> => {
  const error = await SdkClient.connect(endpoint, token).then(
    () => assert.fail('the offer was answered'),
    (failure: unknown) => failure,
  )
  assert.ok(error instanceof HttpError, String(error))
  return error
}

const one = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.filter((span) => span.name === name)
  assert.equal(found.length, 1, `one ${name} span in ${JSON.stringify(spans.map((span) => span.name))}`)
  return found[0] as ReceivedSpan
}

describe('SDK call over WebRTC (werift client, SIPp callee)', () => {
  it('places a call through a trunk with audio both ways, events, CDR fields and one trace from the RPC to the B-leg', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const client = await SdkClient.connect(endpoint, await issuer.token('acme'))
    try {
      const subscribed = await client.request('events.subscribe')
      assert.equal(subscribed.kind, 'response', JSON.stringify(subscribed.payload))
      client.startTone()
      const created = await client.request('call.create', {to: '+15550100', trunk: 'callee', from: '+15550999'})
      assert.equal(created.kind, 'response', JSON.stringify(created.payload))
      const callSid = String(created.payload.call_sid)
      assert.match(callSid, /^CA[0-9a-f]{32}$/)
      await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      // The callee echoes what it gets: audio coming back proves both directions through the gateway.
      await waitFor('echoed audio at the client', () => (client.receivedAudioPackets >= 25 ? true : undefined), 15_000)
      const dtmf = await client.request('call.dtmf', {call_sid: callSid, digits: '12#', duration_ms: 80})
      assert.equal(dtmf.kind, 'response', JSON.stringify(dtmf.payload))
      const hangup = await client.request('call.hangup', {call_sid: callSid})
      assert.equal(hangup.kind, 'response', JSON.stringify(hangup.payload))
      const end = await client.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(end.status, 'completed')
      assert.equal(end.tenant_id, 'acme')
      assert.equal(end.trunk_id, 'callee')
      assert.equal(end.direction, 'outbound')
      assert.equal(end.to_number, '+15550100')
      assert.equal(end.from_number, '+15550999')
      assert.equal(end.codec, 'PCMU')
      assert.ok(Number(end.packets_received) >= 25, `packets_received ${String(end.packets_received)}`)
      assert.ok(Number(end.estimated_mos) > 3.5, `estimated_mos ${String(end.estimated_mos)}`)
      assert.equal((await callee.done).code, 0, 'SIPp callee scenario failed')

      const spans = await receiver.traceOf(callSid)
      const root = one(spans, 'call')
      assert.equal(root.attributes.transport, 'webrtc')
      assert.equal(root.attributes['tenant.id'], 'acme')
      const rpc = receiver.spans.find((span) => span.name === 'rpc call.create' && span.attributes['call.sid'] === callSid)
      assert.ok(rpc, 'the call.create RPC span')
      assert.equal(rpc.attributes['method.id'], String(RPC_METHODS['call.create'].id))
      assert.equal(rpc.attributes.transport, 'webrtc')
      assert.equal(rpc.attributes['tenant.id'], 'acme')
      assert.equal(rpc.parentSpanId, '')
      assert.equal(root.traceId, rpc.traceId, 'the call continues the RPC trace')
      assert.equal(root.parentSpanId, rpc.spanId)
      for (const name of ['rpc.parse', 'jwt.validate']) {
        const child: ReceivedSpan | undefined = receiver.spans.find((span) => span.name === name && span.parentSpanId === rpc.spanId)
        assert.ok(child, `${name} under the RPC span`)
        assert.equal(child.attributes['method.id'], '1')
      }
      const clientRtp = spans.find((span) => span.name === 'rtp.setup' && span.attributes['sip.leg'] !== 'b')
      assert.equal(clientRtp?.parentSpanId, root.spanId, 'the client leg\'s rtp.setup under the call')
      assert.equal(clientRtp?.attributes['rtp.codec'], 'PCMU')
      assert.equal(clientRtp?.attributes['rtp.client_codec'], 'PCMU')
      const bLeg = spans.find((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'b')
      assert.ok(bLeg, 'the B-leg sip.setup span')
      assert.equal(bLeg.traceId, rpc.traceId)
      assert.equal(bLeg.attributes['sip.status_code'], 200)
      assert.ok(!spans.some((span) => span.name === 'sip.setup' && span.attributes['sip.leg'] === 'a'), 'a WebRTC A-leg has no SIP setup')
    } finally {
      await client.close()
      callee.stop()
    }
  })

  it('takes Opus from a client that offers only Opus: transcoded to PCMU both ways, and the echo decodes as Opus', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const client = await SdkClient.connect(endpoint, await issuer.token('acme'), {codec: 'opus'})
    try {
      await client.request('events.subscribe')
      client.startTone()
      const created = await client.request('call.create', {to: '+15550105', trunk: 'callee'})
      const callSid = String(created.payload.call_sid)
      await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      await waitFor('echoed Opus audio at the client', () => (client.decodableAudioPackets >= 25 ? true : undefined), 15_000)
      await client.request('call.hangup', {call_sid: callSid})
      const end = await client.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(end.status, 'completed')
      // The gateway's side of the call is PCMU; what came from the client decoded into real 20 ms frames.
      assert.equal(end.codec, 'PCMU')
      assert.ok(Number(end.packets_received) >= 25, `packets_received ${String(end.packets_received)}`)
      assert.ok(Number(end.estimated_mos) > 3.5, `estimated_mos ${String(end.estimated_mos)}`)
      const spans = await receiver.traceOf(callSid)
      const clientRtp = spans.find((span) => span.name === 'rtp.setup' && span.attributes['sip.leg'] !== 'b')
      assert.equal(clientRtp?.attributes['rtp.client_codec'], 'opus')
    } finally {
      await client.close()
      callee.stop()
    }
  })

  it('reports a busy callee as a busy call, and a session offer as its own trace (method.id 0)', async () => {
    const callee = await runSipp({scenarioXml: uasBusy(), port: busyPort})
    const client = await SdkClient.connect(endpoint, await issuer.token('acme', {claims: {sub: 'busy-test'}}))
    try {
      await client.request('events.subscribe')
      const created = await client.request('call.create', {to: '+15550101', trunk: 'busy'})
      const callSid = String(created.payload.call_sid)
      const end = await client.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(end.status, 'busy')
      assert.equal(end.q850_cause, 17)
      const open = await waitFor('a session.open span', () => receiver.spans.find((span) => span.name === 'rpc session.open' && span.attributes['tenant.id'] === 'acme'))
      assert.equal(open.attributes['method.id'], '0')
      assert.ok(receiver.spans.some((span) => span.name === 'jwt.validate' && span.parentSpanId === open.spanId && span.traceId === open.traceId))
    } finally {
      await client.close()
      callee.stop()
    }
  })

  it('refuses offers whose token is unsigned, expired, not yet valid, for another audience or issuer, tampered, or of an unknown key', async () => {
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['no token', undefined, /no bearer token/],
      ['alg none', unsignedToken({tenant: 'acme', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300}), /algorithm none is not allowed/],
      ['expired', await issuer.token('acme', {expiresIn: Math.floor(Date.now() / 1000) - 120}), /token expired at/],
      ['not yet valid', await issuer.token('acme', {notBefore: Math.floor(Date.now() / 1000) + 600}), /not valid before/],
      ['wrong audience', await issuer.token('acme', {audience: 'someone-else'}), /wrong audience/],
      ['wrong issuer', await issuer.token('acme', {issuer: 'https://evil.test/'}), /wrong issuer/],
      ['tampered', tamperedToken(await issuer.token('acme')), /signature does not verify/],
      ['unknown kid', await issuer.token('acme', {kid: 'nobody'}), /no key with key id "nobody"/],
      ['unknown tenant', await issuer.token('initech'), /tenant "initech" is not configured/],
    ]
    for (const [name, token, reason] of cases) {
      const error = await refusal(token)
      assert.equal(error.status, 401, `${name}: ${error.body}`)
      const body = JSON.parse(error.body) as {error: {code: string; message: string}}
      assert.equal(body.error.code, 'CC_ERR_RPC_UNAUTHENTICATED', name)
      assert.match(body.error.message, reason, name)
      assert.match(error.wwwAuthenticate ?? '', /^Bearer error="invalid_token"/, name)
    }
    const refused = await waitFor('refused session.open spans', () => {
      const found = receiver.spans.filter((span) => span.name === 'rpc session.open' && span.statusCode === 2)
      return found.length >= cases.length ? found : undefined
    })
    assert.ok(refused.every((span) => span.attributes.transport === 'webrtc'))
  })

  it('answers bad frames, unknown methods, bad params and another tenant\'s call with errors, and the session keeps working', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const acme = await SdkClient.connect(endpoint, await issuer.token('acme'))
    const globex = await SdkClient.connect(endpoint, await issuer.token('globex'))
    try {
      acme.sendRaw(Buffer.from([1, 0, 0]))
      const unknown = await acme.send(99, {})
      assert.equal(unknown.kind, 'error')
      assert.equal(unknown.payload.code, 'CC_ERR_RPC_UNKNOWN_METHOD')
      const badParams = await acme.request('call.create', {to: '+1555', trunk: 'callee', timeout_s: 'soon'})
      assert.equal(badParams.payload.code, 'CC_ERR_RPC_INVALID_PARAMS')
      assert.match(String(badParams.payload.message), /timeout_s/)
      const otherTrunk = await acme.request('call.create', {to: '+1555', trunk: 'globex-out'})
      assert.equal(otherTrunk.payload.code, 'CC_ERR_RPC_INVALID_PARAMS')
      assert.match(String(otherTrunk.payload.message), /tenant "acme" has no trunk "globex-out"/)
      const noTrunk = await acme.request('call.create', {to: '+1555'})
      assert.match(String(noTrunk.payload.message), /name the trunk/)

      await acme.request('events.subscribe')
      const created = await acme.request('call.create', {to: '+15550102', trunk: 'callee'})
      const callSid = String(created.payload.call_sid)
      await acme.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      // globex sees neither the call nor its events, and cannot end it or send digits into it.
      for (const method of ['call.hangup', 'call.dtmf'] as const) {
        const refused = await globex.request(method, {call_sid: callSid, ...(method === 'call.dtmf' ? {digits: '1'} : {})})
        assert.equal(refused.kind, 'error', method)
        assert.equal(refused.payload.code, 'CC_ERR_CALL_NOT_FOUND', method)
      }
      const spy = await globex.request('events.subscribe', {call_sid: callSid})
      assert.equal(spy.payload.code, 'CC_ERR_CALL_NOT_FOUND')
      await globex.request('events.subscribe')
      const second = await acme.request('call.create', {to: '+15550103', trunk: 'callee'})
      assert.match(String(second.payload.message), /in another call/)
      await acme.request('call.hangup', {call_sid: callSid})
      await acme.event((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === callSid, 'CHANNEL_HANGUP_COMPLETE')
      assert.equal(globex.events.filter((event) => event.call_sid === callSid).length, 0, 'another tenant saw the call')
      const parseSpan = await waitFor('a failed rpc.parse span', () => receiver.spans.find((span) => span.name === 'rpc.parse' && span.statusCode === 2))
      assert.ok(parseSpan)
    } finally {
      await acme.close()
      await globex.close()
      callee.stop()
    }
  })

  it('refuses an offer that is not SDP, and DELETE ends the session and its call', async () => {
    const token = await issuer.token('acme')
    const notSdp = await fetch(endpoint, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/json'}, body: '{}'})
    assert.equal(notSdp.status, 415)
    const garbage = await fetch(endpoint, {method: 'POST', headers: {authorization: `Bearer ${token}`, 'content-type': 'application/sdp'}, body: 'hello'})
    assert.equal(garbage.status, 400)
    assert.equal(((await garbage.json()) as {error: {code: string}}).error.code, 'CC_ERR_WEBRTC_OFFER')

    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const client = await SdkClient.connect(endpoint, token)
    try {
      await client.request('events.subscribe')
      const created = await client.request('call.create', {to: '+15550104', trunk: 'callee'})
      const callSid = String(created.payload.call_sid)
      await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
      const otherTenant = await fetch(client.location, {method: 'DELETE', headers: {authorization: `Bearer ${await issuer.token('globex')}`}})
      assert.equal(otherTenant.status, 404)
      const deleted = await fetch(client.location, {method: 'DELETE', headers: {authorization: `Bearer ${token}`}})
      assert.equal(deleted.status, 204)
      const end = await gw.hangupOf('+15550104')
      assert.equal(end.call_sid, callSid)
      assert.equal(end.status, 'completed')
      assert.equal((await callee.done).code, 0, 'the callee got its BYE')
    } finally {
      await client.close()
      callee.stop()
    }
  })
})
