// The user agent placing calls, against a fake transport: provisional
// responses and PDD, the ACK for the 2xx, failures with Q.850 causes, the
// Digest retry (MD5 and SHA-256), CANCEL and the 200-after-CANCEL race.
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {DigestServer} from '../../../../src/sip/digest-server.js'
import {createResponseTo, cseqOf, topViaOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import {viaBranch} from '../../../../src/sip/via.js'
import {FakeSipTransport, sleep} from './fake-sip-transport.js'

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
const TIMERS = {t1: 20, t2: 80, t4: 100, trying: 20}

const answer = (request: SipRequest, status: number, options: {toTag?: string; headers?: Array<[string, string]>; body?: string} = {}): SipResponse => {
  const response = createResponseTo(request, status, {toTag: options.toTag ?? 'uas1'})
  if (status < 300 && status > 100) response.headers.append('Contact', '<sip:bob@192.0.2.20:5062>')
  for (const [name, value] of options.headers ?? []) response.headers.append(name, value)
  if (options.body !== undefined) {
    response.headers.append('Content-Type', 'application/sdp')
    response.body = Buffer.from(options.body)
  }
  return response
}

describe('UserAgent: outgoing calls', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  beforeEach(() => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS})
  })
  afterEach(() => ua.close())

  const call = (extra: {credentials?: {username: string; password: string}} = {}) =>
    ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: '"Alice" <sip:alice@example.com>', to: 'sip:bob@example.com', sdp: SDP, headers: {traceparent: '00-abc-def-01'}, ...extra})

  const sentInvite = async (index = 0): Promise<SipRequest> => (await fake.next(({message}) => message.kind === 'request' && message.method === 'INVITE' && cseqOf(message).seq === index + 1)).message as SipRequest

  it('sends a well-formed INVITE, reports 18x with PDD, ACKs the 2xx and establishes the call', async () => {
    const outgoing = call()
    const invite = await sentInvite()
    assert.match(invite.headers.get('from') ?? '', /^Alice <sip:alice@example.com>;tag=[0-9a-f]{16}$/)
    assert.equal(invite.headers.get('traceparent'), '00-abc-def-01')
    assert.equal(invite.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    assert.match(invite.headers.get('via') ?? '', /^SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bK[0-9a-f]+;rport$/)
    assert.equal(invite.body.toString(), SDP)
    const provisional = new Promise((resolve) => outgoing.once('provisional', resolve))
    fake.inject(answer(invite, 100))
    fake.inject(answer(invite, 183, {body: SDP}))
    const info = (await provisional) as {status: number; sdp?: Buffer; pddMs?: number}
    assert.equal(info.status, 183)
    assert.equal(info.sdp?.toString(), SDP)
    assert.ok(info.pddMs !== undefined && info.pddMs >= 0)
    fake.inject(answer(invite, 200, {body: SDP}))
    const result = await outgoing.result
    assert.ok(result.ok)
    const ack = (await fake.next(({message}) => message.kind === 'request' && message.method === 'ACK')).message as SipRequest
    assert.equal(ack.uri, 'sip:bob@192.0.2.20:5062')
    assert.deepEqual(cseqOf(ack), {seq: 1, method: 'ACK'})
    assert.notEqual(viaBranch(topViaOf(ack)), viaBranch(topViaOf(invite)))
    assert.match(ack.headers.get('to') ?? '', /;tag=uas1$/)
    assert.equal(result.call.remoteSdp?.toString(), SDP)
    const {inviteSentAt, firstProvisionalAt, answeredAt} = outgoing.timing
    assert.ok(inviteSentAt !== undefined && firstProvisionalAt !== undefined && answeredAt !== undefined)
    assert.ok(inviteSentAt <= firstProvisionalAt && firstProvisionalAt <= answeredAt)
    // A retransmitted 2xx (our ACK was lost) gets the same ACK again.
    fake.inject(answer(invite, 200, {body: SDP}))
    assert.equal(fake.requests('ACK').length, 2)
  })

  it('hangs up with BYE carrying the Q.850 Reason', async () => {
    const outgoing = call()
    const invite = await sentInvite()
    fake.inject(answer(invite, 200, {body: SDP}))
    const result = await outgoing.result
    assert.ok(result.ok)
    const done = result.call.bye({q850Cause: 16})
    const bye = (await fake.next(({message}) => message.kind === 'request' && message.method === 'BYE')).message as SipRequest
    assert.equal(bye.headers.get('reason'), 'Q.850;cause=16')
    assert.deepEqual(cseqOf(bye), {seq: 2, method: 'BYE'})
    fake.inject(createResponseTo(bye, 200))
    assert.deepEqual(await done, {status: 200})
    assert.equal(result.call.end?.by, 'local')
    assert.equal(ua.dialogCount, 0)
  })

  it('reports a final failure with its status and the cause mapped from it (486 → 17)', async () => {
    const outgoing = call()
    fake.inject(answer(await sentInvite(), 486))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 486)
    assert.equal(result.failure.q850Cause, 17)
    assert.equal(result.failure.source, 'response')
  })

  it('prefers the Q.850 cause of a Reason header over the status mapping', async () => {
    const outgoing = call()
    fake.inject(answer(await sentInvite(), 486, {headers: [['Reason', 'Q.850;cause=21;text="Call rejected"']]}))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.q850Cause, 21)
  })

  it('fails with 502 on a 2xx without a To tag, which cannot make a dialog', async () => {
    const outgoing = call()
    const invite = await sentInvite()
    const broken = answer(invite, 200, {body: SDP})
    broken.headers.set('To', invite.headers.get('to') ?? '')
    fake.inject(broken)
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.deepEqual({status: result.failure.status, reason: result.failure.reason}, {status: 502, reason: 'Bad Gateway'})
  })

  it('fails with 408 when nothing answers (Timer B) and with 503 when the INVITE cannot be sent', async () => {
    const silent = call()
    const timedOut = await silent.result
    assert.ok(!timedOut.ok)
    assert.equal(timedOut.failure.status, 408)
    assert.equal(timedOut.failure.source, 'timeout')
    fake.failSends = true
    const broken = await call().result
    assert.ok(!broken.ok)
    assert.equal(broken.failure.status, 503)
    assert.equal(broken.failure.source, 'transport-error')
  })

  for (const algorithm of ['MD5', 'SHA-256'] as const) {
    it(`answers a 401 once with Digest ${algorithm}: new branch, CSeq + 1, credentials the server accepts`, async () => {
      const server = new DigestServer({realm: 'clutchcall.test', secret: Buffer.alloc(32, 7), algorithms: [algorithm]})
      const outgoing = call({credentials: {username: 'alice', password: 's3cret'}})
      const first = await sentInvite(0)
      fake.inject(answer(first, 401, {headers: server.challenges().map((value) => ['WWW-Authenticate', value] as [string, string])}))
      const second = await sentInvite(1)
      assert.equal(fake.requests('ACK').length, 1, 'the transaction ACKed the 401')
      assert.notEqual(viaBranch(topViaOf(second)), viaBranch(topViaOf(first)))
      assert.equal(second.headers.get('call-id'), first.headers.get('call-id'))
      assert.equal(second.headers.get('from'), first.headers.get('from'))
      assert.equal(second.headers.get('traceparent'), '00-abc-def-01')
      const authorization = second.headers.get('authorization') ?? ''
      assert.match(authorization, new RegExp(`algorithm=${algorithm}`))
      const verdict = server.verify(authorization, {method: 'INVITE', uri: second.uri, username: 'alice', password: 's3cret'})
      assert.equal(verdict.ok, true)
      fake.inject(answer(second, 200, {body: SDP}))
      const result = await outgoing.result
      assert.ok(result.ok)
      const ack = (await fake.next(({message}) => message.kind === 'request' && message.method === 'ACK' && cseqOf(message).seq === 2)).message
      assert.equal(ack.headers.get('authorization'), authorization, 'the ACK for the 2xx repeats the credentials')
    })
  }

  it('retries only once: a second challenge is the final answer', async () => {
    const server = new DigestServer({realm: 'r', secret: Buffer.alloc(32, 1)})
    const outgoing = call({credentials: {username: 'alice', password: 'wrong'}})
    const challenge = (): Array<[string, string]> => server.challenges().map((value) => ['WWW-Authenticate', value])
    fake.inject(answer(await sentInvite(0), 401, {headers: challenge()}))
    fake.inject(answer(await sentInvite(1), 401, {headers: challenge()}))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 401)
    assert.equal(fake.requests('INVITE').length, 2)
  })

  it('waits for a provisional response before sending CANCEL (§9.1), then reports the 487', async () => {
    const outgoing = call()
    const invite = await sentInvite()
    outgoing.cancel({q850Cause: 16})
    await sleep(5)
    assert.equal(fake.requests('CANCEL').length, 0)
    fake.inject(answer(invite, 180))
    const cancel = (await fake.next(({message}) => message.kind === 'request' && message.method === 'CANCEL')).message as SipRequest
    assert.equal(cancel.uri, invite.uri)
    assert.equal(cancel.headers.get('via'), invite.headers.get('via'))
    assert.deepEqual(cseqOf(cancel), {seq: 1, method: 'CANCEL'})
    assert.equal(cancel.headers.get('to'), invite.headers.get('to'))
    assert.equal(cancel.headers.get('reason'), 'Q.850;cause=16')
    fake.inject(createResponseTo(cancel, 200))
    fake.inject(answer(invite, 487))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 487)
    assert.equal(result.failure.canceled, true)
  })

  it('ACKs and hangs up a 200 that crossed the CANCEL', async () => {
    const outgoing = call()
    const invite = await sentInvite()
    fake.inject(answer(invite, 180))
    outgoing.cancel()
    const cancel = (await fake.next(({message}) => message.kind === 'request' && message.method === 'CANCEL')).message as SipRequest
    fake.inject(answer(invite, 200, {body: SDP}))
    fake.inject(createResponseTo(cancel, 200))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.canceled, true)
    const ack = (await fake.next(({message}) => message.kind === 'request' && message.method === 'ACK')).message
    assert.deepEqual(cseqOf(ack), {seq: 1, method: 'ACK'})
    const bye = (await fake.next(({message}) => message.kind === 'request' && message.method === 'BYE')).message
    assert.equal(bye.headers.get('call-id'), invite.headers.get('call-id'))
    assert.match(bye.headers.get('to') ?? '', /;tag=uas1$/)
  })

  it('ACKs and hangs up a second fork answering after the first 2xx', async () => {
    const outgoing = call()
    const invite = await sentInvite()
    fake.inject(answer(invite, 200, {body: SDP, toTag: 'fork1'}))
    const result = await outgoing.result
    assert.ok(result.ok)
    fake.inject(answer(invite, 200, {body: SDP, toTag: 'fork2'}))
    const bye = (await fake.next(({message}) => message.kind === 'request' && message.method === 'BYE')).message
    assert.match(bye.headers.get('to') ?? '', /;tag=fork2$/)
    assert.equal(fake.requests('ACK').length, 2)
    assert.equal(result.call.state, 'established', 'the first fork keeps its call')
  })
})
