// Session timers (RFC 4028) in the user agent, against a fake transport
// and a virtual clock: 422 and 400 before the application, the 2xx headers,
// the BYE (Q.850 102) when the peer's refresh never comes, a peer's refresh
// re-arming the timer, our own refreshes (UPDATE when allowed, else
// re-INVITE with the same SDP), a 422 to a refresh, and the UAC side.
import assert from 'node:assert/strict'
import {afterEach, describe, it, type TestContext} from 'node:test'
import {createResponseTo, cseqOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {FakeSipTransport, VirtualClock} from './fake-sip-transport.js'
import {ANSWER, OFFER, request, TIMERS} from './user-agent-fixtures.js'

const SETTINGS = {expiresS: 30, minSeS: 2}
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('session timers: the INVITE we receive (RFC 4028 §9)', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  afterEach(() => ua.close())
  const setup = (): IncomingInvite[] => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, sessionTimers: SETTINGS})
    const invites: IncomingInvite[] = []
    ua.on('invite', (incoming) => invites.push(incoming))
    return invites
  }

  it('answers 422 with our Min-SE to an interval below it, and 400 to a malformed one; the application never sees either', () => {
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Session-Expires: 1', 'Supported: timer']}))
    const refused = fake.responses().at(-1) as SipResponse
    assert.equal(refused.status, 422)
    assert.equal(refused.reason, 'Session Interval Too Small')
    assert.equal(refused.headers.get('min-se'), '2')
    fake.inject(request('INVITE', {cseq: 2, body: OFFER, extra: ['Session-Expires: 1 minute']}))
    assert.equal(fake.responses().at(-1)?.status, 400)
    fake.inject(request('INVITE', {cseq: 3, body: OFFER, extra: ['Session-Expires: 60', 'Session-Expires: 90']}))
    assert.equal(fake.responses().at(-1)?.status, 400)
    assert.equal(invites.length, 0)
  })

  it('accepts Require: timer only with timers on, and advertises 100rel and timer', () => {
    setup()
    fake.inject(request('OPTIONS'))
    const options = fake.responses().at(-1) as SipResponse
    assert.equal(options.headers.get('supported'), '100rel, timer')
    assert.match(options.headers.get('allow') ?? '', /UPDATE, PRACK/)
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: timer', 'Session-Expires: 60']}))
    assert.notEqual(fake.responses().at(-1)?.status, 420)
    const offFake = new FakeSipTransport()
    const off = new UserAgent({transport: offFake, timers: TIMERS, reliableProvisionals: 'off'})
    off.on('invite', () => assert.fail('must not reach the application'))
    offFake.inject(request('INVITE', {body: OFFER, extra: ['Require: timer, 100rel', 'Session-Expires: 1']}))
    const refused = offFake.responses().at(-1) as SipResponse
    assert.equal(refused.status, 420, 'timers off: Require: timer is refused, and Session-Expires is not checked')
    assert.equal(refused.headers.get('unsupported'), 'timer, 100rel')
    offFake.inject(request('OPTIONS', {cseq: 5}))
    assert.equal(offFake.responses().at(-1)?.headers.has('supported'), false)
    off.close()
  })

  it('puts Session-Expires (refresher=uac) and Require: timer in the 2xx when the caller supports timers, then ends the call with BYE, cause 102, when no refresh comes', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    const invites = setup()
    fake.clock = () => clock.now
    fake.inject(request('INVITE', {body: OFFER, extra: ['Session-Expires: 3', 'Supported: timer', 'Allow: INVITE, ACK, BYE, UPDATE']}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    const ok = fake.responses(200)[0] as SipResponse
    assert.equal(ok.headers.get('session-expires'), '3;refresher=uac')
    assert.equal(ok.headers.get('require'), 'timer')
    assert.equal(ok.headers.get('supported'), '100rel, timer')
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    const call = await answered
    assert.equal(call.sessionTimer?.interval, 3)
    assert.equal(call.sessionTimer?.refresher, 'remote')
    // §10: BYE min(32, 3/3) = 1 s before the 3 s expiry.
    clock.advance(1990)
    await turn()
    assert.equal(fake.requests('BYE').length, 0, 'no BYE before expiry minus a third')
    clock.advance(20)
    await turn()
    await turn()
    const bye = fake.requests('BYE')[0] as SipRequest
    assert.ok(bye, 'the BYE went')
    assert.equal(bye.headers.get('reason'), 'Q.850;cause=102;text="session timer expired"')
    assert.equal(call.end?.cause, 'session-expired')
    assert.equal(call.end?.by, 'stack')
    assert.equal(call.end?.q850Cause, 102)
  })

  it('re-arms when the caller refreshes with UPDATE, answering 200 with Session-Expires', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Session-Expires: 3;refresher=uac', 'Supported: timer']}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    const call = await answered
    clock.advance(1500)
    fake.inject(request('UPDATE', {toTag: incoming.localTag, cseq: 2, extra: ['Session-Expires: 3;refresher=uac', 'Supported: timer']}))
    const refreshed = fake.responses().at(-1) as SipResponse
    assert.equal(refreshed.status, 200)
    assert.equal(cseqOf(refreshed).method, 'UPDATE')
    assert.equal(refreshed.headers.get('session-expires'), '3;refresher=uac')
    assert.equal(refreshed.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    assert.equal(call.sessionTimer?.refreshes, 1)
    // The old deadline (2 s) passes without a BYE; the new one is 1.5 + 2 s.
    clock.advance(1900)
    await turn()
    assert.equal(fake.requests('BYE').length, 0)
    clock.advance(200)
    await turn()
    await turn()
    assert.equal(fake.requests('BYE').length, 1)
  })

  it('refreshes itself with a re-INVITE carrying the same SDP when the caller knows no timers and allows no UPDATE', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, sessionTimers: {expiresS: 4, minSeS: 2}})
    const invites: IncomingInvite[] = []
    ua.on('invite', (incoming) => invites.push(incoming))
    fake.inject(request('INVITE', {body: OFFER}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    assert.equal(fake.responses(200)[0]?.headers.get('session-expires'), '4;refresher=uas')
    assert.equal(fake.responses(200)[0]?.headers.has('require'), false)
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    const call = await answered
    assert.equal(call.sessionTimer?.refresher, 'local')
    clock.advance(1990)
    await turn()
    assert.equal(fake.requests('INVITE').length, 0, 'no refresh before half the interval')
    clock.advance(20)
    await turn()
    await turn()
    const refresh = fake.requests('INVITE')[0] as SipRequest
    assert.ok(refresh, 'a re-INVITE went at half the interval')
    assert.equal(refresh.body.toString(), ANSWER, 'the same SDP, same o= version')
    assert.equal(refresh.headers.get('session-expires'), '4;refresher=uac')
    assert.equal(refresh.headers.get('min-se'), '2')
    const ok = createResponseTo(refresh, 200)
    ok.headers.append('Contact', '<sip:alice@192.0.2.20:5062>')
    ok.headers.append('Session-Expires', '4;refresher=uac')
    ok.headers.append('Content-Type', 'application/sdp')
    ok.body = Buffer.from(OFFER)
    fake.inject(ok)
    await turn()
    await turn()
    assert.equal(fake.requests('ACK').length, 1)
    assert.equal(call.sessionTimer?.refreshes, 1)
    // The session was refreshed: no BYE at the old 4 s expiry.
    clock.advance(2100)
    await turn()
    assert.equal(fake.requests('BYE').length, 0)
    assert.equal(call.state, 'established')
  })

  it('refreshes with UPDATE without SDP when the caller allows UPDATE; a 422 is answered with its Min-SE; an unanswered refresh ends the call at expiry', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: {...TIMERS, t1: 500}, sessionTimers: {expiresS: 4, minSeS: 2}})
    const invites: IncomingInvite[] = []
    ua.on('invite', (incoming) => invites.push(incoming))
    fake.inject(request('INVITE', {body: OFFER, extra: ['Allow: INVITE, ACK, BYE, UPDATE', 'Session-Expires: 4;refresher=uas']}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    const call = await answered
    clock.advance(2001)
    await turn()
    await turn()
    const update = fake.requests('UPDATE')[0] as SipRequest
    assert.ok(update, 'an UPDATE went at half the interval')
    assert.equal(update.body.length, 0)
    assert.equal(update.headers.get('session-expires'), '4;refresher=uac')
    const tooSmall = createResponseTo(update, 422)
    tooSmall.headers.append('Min-SE', '6')
    fake.inject(tooSmall)
    await turn()
    await turn()
    const retry = fake.requests('UPDATE')[1] as SipRequest
    assert.ok(retry, 'the UPDATE went again')
    assert.equal(retry.headers.get('session-expires'), '6;refresher=uac')
    assert.equal(retry.headers.get('min-se'), '2')
    assert.ok(cseqOf(retry).seq > cseqOf(update).seq)
    // The retry is never answered (its transaction times out at 64·T1 = 32 s, after the session expired): BYE at 4 s.
    clock.advance(1980)
    await turn()
    assert.equal(fake.requests('BYE').length, 0, 'no BYE before the expiry')
    clock.advance(30)
    await turn()
    await turn()
    const bye = fake.requests('BYE')[0] as SipRequest
    assert.ok(bye, 'BYE at the expiry the refresher missed')
    assert.match(bye.headers.get('reason') ?? '', /cause=102/)
    assert.equal(call.end?.cause, 'session-expired')
  })
})

describe('session timers: the INVITE we send (RFC 4028 §7)', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  afterEach(() => ua.close())
  const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'

  const answerWith = (invite: SipRequest, status: number, headers: Array<[string, string]> = [], body?: string): SipResponse => {
    const response = createResponseTo(invite, status, {toTag: 'uas1'})
    if (status < 300) response.headers.append('Contact', '<sip:bob@192.0.2.20:5062>')
    for (const [name, value] of headers) response.headers.append(name, value)
    if (body !== undefined) {
      response.headers.append('Content-Type', 'application/sdp')
      response.body = Buffer.from(body)
    }
    return response
  }

  it('asks for its interval, retries a 422 with the Min-SE asked for, and refreshes at half the interval when the 2xx makes it the refresher', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, sessionTimers: {expiresS: 4, minSeS: 2}})
    const outgoing = ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: 'sip:alice@example.com', to: 'sip:bob@example.com', sdp: SDP})
    await turn()
    const invite = fake.requests('INVITE')[0] as SipRequest
    assert.equal(invite.headers.get('supported'), '100rel, timer')
    assert.equal(invite.headers.get('session-expires'), '4')
    assert.equal(invite.headers.get('min-se'), '2')
    fake.inject(answerWith(invite, 422, [['Min-SE', '6']]))
    await turn()
    await turn()
    const retry = fake.requests('INVITE')[1] as SipRequest
    assert.ok(retry, 'the INVITE went again')
    assert.equal(retry.headers.get('session-expires'), '6')
    assert.equal(retry.headers.get('min-se'), '6')
    assert.equal(cseqOf(retry).seq, 2)
    assert.equal(retry.headers.get('call-id'), invite.headers.get('call-id'))
    fake.inject(answerWith(retry, 200, [['Session-Expires', '6;refresher=uac'], ['Require', 'timer']], SDP))
    const result = await outgoing.result
    assert.ok(result.ok)
    const call: SipCall = result.call
    assert.equal(call.sessionTimer?.interval, 6)
    assert.equal(call.sessionTimer?.refresher, 'local')
    clock.advance(3010)
    await turn()
    await turn()
    const refresh = fake.requests('INVITE')[2] as SipRequest
    assert.ok(refresh, 'the re-INVITE refresh at 3 s')
    assert.equal(refresh.headers.get('session-expires'), '6;refresher=uac')
    assert.equal(refresh.body.toString(), SDP)
  })

  it('runs no timer when the 2xx carries no Session-Expires (§7.2)', async () => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, sessionTimers: {expiresS: 4, minSeS: 2}})
    const outgoing = ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: 'sip:alice@example.com', to: 'sip:bob@example.com', sdp: SDP})
    await turn()
    fake.inject(answerWith(fake.requests('INVITE')[0] as SipRequest, 200, [], SDP))
    const result = await outgoing.result
    assert.ok(result.ok)
    assert.equal(result.call.sessionTimer?.active, false)
  })

  it('takes a 422 without a usable Min-SE as final', async () => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, sessionTimers: {expiresS: 4, minSeS: 2}})
    const outgoing = ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: 'sip:alice@example.com', to: 'sip:bob@example.com', sdp: SDP})
    await turn()
    fake.inject(answerWith(fake.requests('INVITE')[0] as SipRequest, 422, [['Min-SE', '3']]))
    const result = await outgoing.result
    assert.equal(result.ok, false)
    // No second INVITE with a new CSeq (Timer A's retransmissions of the first one, at T1 = 20 ms, may be there on a busy machine).
    assert.deepEqual(new Set(fake.requests('INVITE').map((invite) => invite.headers.get('cseq'))).size, 1)
  })
})
