// The user agent taking calls, against a fake transport: requests outside
// a dialog, ring/answer/reject, the 2xx retransmission until ACK
// (§13.3.1.4), CANCEL (§9.2) and Digest challenges.
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it, type TestContext} from 'node:test'
import {DigestClient} from '../../../../src/sip/digest.js'
import {DigestServer} from '../../../../src/sip/digest-server.js'
import {createResponseTo, cseqOf, toOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {tagOf} from '../../../../src/sip/name-addr.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {FakeSipTransport, sleep, VirtualClock, wire} from './fake-sip-transport.js'
import {ANSWER, OFFER, request, TIMERS} from './user-agent-fixtures.js'

describe('UserAgent: requests outside a dialog', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  beforeEach(() => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS})
  })
  afterEach(() => ua.close())

  const statusFor = (text: string): SipResponse => {
    fake.inject(text)
    return fake.responses().at(-1) as SipResponse
  }

  it('answers OPTIONS 200 with Allow and Accept', () => {
    const response = statusFor(request('OPTIONS'))
    assert.equal(response.status, 200)
    assert.match(response.headers.get('allow') ?? '', /INVITE, ACK, CANCEL, BYE, OPTIONS/)
    assert.equal(response.headers.get('accept'), 'application/sdp')
    assert.match(response.headers.get('via') ?? '', /received=192\.0\.2\.20;rport=5062|rport=5062;received=192\.0\.2\.20/)
  })

  it('answers OPTIONS outside a dialog 503 with its reason and Retry-After while the owner says it takes no calls, 200 again after', () => {
    let unavailable: {reason: string; retryAfterS: number} | undefined = {reason: 'Draining', retryAfterS: 17}
    let asked = 0
    const transport = new FakeSipTransport()
    const probed = new UserAgent({
      transport,
      timers: TIMERS,
      availability: () => {
        asked++
        return unavailable
      },
    })
    try {
      transport.inject(request('OPTIONS', {branch: 'z9hG4bKprobe1'}))
      const refused = transport.responses().at(-1) as SipResponse
      assert.equal(refused.status, 503)
      assert.equal(refused.reason, 'Draining')
      assert.equal(refused.headers.get('retry-after'), '17')
      unavailable = undefined
      transport.inject(request('OPTIONS', {branch: 'z9hG4bKprobe2'}))
      assert.equal((transport.responses().at(-1) as SipResponse).status, 200)
      assert.equal(asked, 2, 'asked once per probe')
      // A REGISTER is no probe: the owner is not asked.
      transport.inject(request('REGISTER'))
      assert.equal(asked, 2)
    } finally {
      probed.close()
    }
  })

  it('answers 501 to an unknown method, 405 to REGISTER, 481 to BYE for an unknown dialog, 481 to a stray CANCEL', () => {
    const unknown = statusFor(request('FOO'))
    assert.equal(unknown.status, 501)
    assert.match(unknown.headers.get('to') ?? '', /;tag=[0-9a-f]{16}$/, 'a final response carries a To tag (§8.2.6.2)')
    const register = statusFor(request('REGISTER'))
    assert.equal(register.status, 405)
    assert.ok(register.headers.has('allow'))
    assert.equal(statusFor(request('BYE', {toTag: 'nope'})).status, 481)
    assert.equal(statusFor(request('CANCEL', {branch: 'z9hG4bKnothing'})).status, 481)
  })

  it('refuses extensions it does not support with 420 and Unsupported, naming only those (§8.2.2.3)', () => {
    const response = statusFor(request('INVITE', {extra: ['Require: 100rel, precondition, timer'], body: OFFER}))
    assert.equal(response.status, 420)
    // 100rel is supported by default; timer only with session timers configured.
    assert.equal(response.headers.get('unsupported'), 'precondition, timer')
    assert.equal(response.headers.get('supported'), '100rel')
  })

  it('refuses a merged request (same Call-ID, From tag and CSeq by another path) with 482 (§8.2.2.2)', () => {
    const seen: string[] = []
    ua.on('invite', (incoming) => seen.push(incoming.callId))
    fake.inject(request('INVITE', {body: OFFER}))
    fake.inject(request('INVITE', {body: OFFER, branch: 'z9hG4bKotherpath'}))
    assert.deepEqual(seen, ['uas-test'])
    assert.equal(fake.responses().at(-1)?.status, 482)
  })

  it('answers 480 when no application takes calls, and 415 to a body that is not SDP', () => {
    assert.equal(statusFor(request('INVITE', {body: OFFER})).status, 480)
    ua.on('invite', () => assert.fail('must not reach the application'))
    fake.inject(wire([...request('INVITE', {cseq: 2}).split('\r\n').slice(0, 8), 'Content-Type: text/plain'], 'hello'))
    assert.equal(fake.responses().at(-1)?.status, 415)
  })
})

describe('UserAgent: incoming calls', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  let invites: IncomingInvite[]
  const setup = (): void => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS})
    invites = []
    ua.on('invite', (incoming) => invites.push(incoming))
  }
  afterEach(() => ua.close())

  it('exposes the call, rings with a To tag and Contact, answers, and establishes on ACK', async () => {
    setup()
    fake.inject(request('INVITE', {body: OFFER}))
    const incoming = invites[0] as IncomingInvite
    assert.equal(incoming.callId, 'uas-test')
    assert.equal(incoming.from.displayName, 'Alice')
    assert.equal(incoming.requestUri, 'sip:gw@127.0.0.1:5060')
    assert.deepEqual(incoming.source, {transport: 'udp', address: '192.0.2.20', port: 5062})
    assert.equal(incoming.remoteSdp?.toString(), OFFER)
    assert.equal(incoming.ring(), true)
    const ringing = fake.responses(180)[0] as SipResponse
    assert.equal(tagOf(toOf(ringing)), incoming.localTag)
    assert.equal(ringing.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    const answered = incoming.answer(ANSWER)
    const ok = fake.responses(200)[0] as SipResponse
    assert.equal(tagOf(toOf(ok)), incoming.localTag)
    assert.equal(ok.body.toString(), ANSWER)
    assert.equal(ok.headers.get('content-type'), 'application/sdp')
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    const call = await answered
    assert.equal(call.state, 'established')
    assert.equal(incoming.reject(486), false, 'too late to reject')
    // The peer hangs up with a cause.
    const byeReceived = new Promise<number | undefined>((resolve) => call.once('bye', (_bye, cause) => resolve(cause)))
    fake.inject(request('BYE', {toTag: incoming.localTag, cseq: 2, extra: ['Reason: Q.850;cause=16']}))
    assert.equal(await byeReceived, 16)
    assert.equal(fake.responses(200).at(-1)?.headers.get('cseq'), '2 BYE')
    assert.equal(ua.dialogCount, 0)
  })

  it('retransmits the 2xx at T1 doubling to T2 until the ACK (§13.3.1.4)', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    setup()
    fake.clock = () => clock.now
    fake.inject(request('INVITE', {body: OFFER}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    clock.advance(290)
    const times = fake.sent.filter(({message}) => message.kind === 'response' && message.status === 200).map(({at}) => at)
    assert.deepEqual(times, [0, 20, 60, 140, 220])
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack2'}))
    const call = await answered
    clock.advance(500)
    assert.equal(fake.responses(200).length, 5, 'no retransmission after the ACK')
    assert.equal(call.state, 'established')
  })

  it('gives up after 64·T1 without ACK: BYE, and answer() rejects', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    setup()
    fake.inject(request('INVITE', {body: OFFER}))
    const answered = (invites[0] as IncomingInvite).answer(ANSWER)
    const rejection = assert.rejects(answered, /no ACK/)
    clock.advance(64 * TIMERS.t1)
    await rejection
    await new Promise((resolve) => setImmediate(resolve))
    const bye = fake.requests('BYE')[0] as SipRequest
    assert.ok(bye !== undefined, 'a BYE went out')
    assert.equal(bye.uri, 'sip:alice@192.0.2.20:5062')
    assert.match(bye.headers.get('to') ?? '', /;tag=alice1$/)
  })

  it('holds a BYE asked for before the ACK until the ACK has arrived (§15), then resolves with its status', async () => {
    setup()
    fake.inject(request('INVITE', {body: OFFER}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    const hangup = (incoming.call as SipCall).bye({q850Cause: 16})
    await sleep(10)
    assert.equal(fake.requests('BYE').length, 0)
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack9'}))
    const bye = (await fake.next(({message}) => message.kind === 'request' && message.method === 'BYE')).message as SipRequest
    assert.equal(bye.headers.get('reason'), 'Q.850;cause=16')
    fake.inject(createResponseTo(bye, 200))
    assert.deepEqual(await hangup, {status: 200})
    assert.equal((await answered).end?.by, 'local')
  })

  it('rejects with the Reason header when a Q.850 cause is given', () => {
    setup()
    fake.inject(request('INVITE', {body: OFFER}))
    assert.equal((invites[0] as IncomingInvite).reject(486, {q850Cause: 17}), true)
    const busy = fake.responses(486)[0] as SipResponse
    assert.equal(busy.headers.get('reason'), 'Q.850;cause=17')
    fake.inject(request('ACK', {toTag: (invites[0] as IncomingInvite).localTag, branch: 'z9hG4bKINVITE1'}))
    assert.equal(ua.transactions.counters.serverTransactions, 1, 'the ACK confirmed the INVITE transaction (Timer I runs)')
  })

  it('on CANCEL answers 200 to it and 487 to the INVITE, and tells the application (§9.2)', () => {
    setup()
    fake.inject(request('INVITE', {body: OFFER}))
    const incoming = invites[0] as IncomingInvite
    incoming.ring()
    let cause: number | undefined
    incoming.on('cancelled', (_cancel, q850) => (cause = q850))
    fake.inject(request('CANCEL', {branch: 'z9hG4bKINVITE1', extra: ['Reason: Q.850;cause=31']}))
    assert.equal(fake.responses(200)[0]?.headers.get('cseq'), '1 CANCEL')
    const terminated = fake.responses(487)[0] as SipResponse
    assert.equal(terminated.headers.get('cseq'), '1 INVITE')
    assert.equal(tagOf(toOf(terminated)), incoming.localTag)
    assert.equal(incoming.state, 'cancelled')
    assert.equal(cause, 31)
    assert.equal(incoming.ring(), false)
  })

  it('challenges with 401 and accepts the INVITE re-sent with valid credentials', () => {
    setup()
    const server = new DigestServer({realm: 'gw.test', secret: Buffer.alloc(32, 3), algorithms: ['SHA-256', 'MD5']})
    fake.inject(request('INVITE', {body: OFFER}))
    const first = invites[0] as IncomingInvite
    assert.deepEqual(first.verifyDigest(server, {username: 'alice', password: 'pw'}), {ok: false, failure: 'missing', stale: false})
    first.challenge(server)
    const challenge = fake.responses(401)[0] as SipResponse
    const offered = challenge.headers.getAll('www-authenticate')
    assert.equal(offered.length, 2)
    const authorization = new DigestClient({username: 'alice', password: 'pw'}).authorize(offered[1] as string, {method: 'INVITE', uri: 'sip:gw@127.0.0.1:5060'})
    fake.inject(request('INVITE', {cseq: 2, body: OFFER, extra: [`Authorization: ${authorization}`]}))
    const second = invites[1] as IncomingInvite
    assert.equal(second.verifyDigest(server, (username) => (username === 'alice' ? {username, password: 'pw'} : undefined)).ok, true)
    const wrong = second.verifyDigest(server, {username: 'alice', password: 'nope'})
    assert.equal(wrong.ok, false)
    assert.equal(!wrong.ok && wrong.failure, 'bad-response')
  })

  it('answers a request with a lower CSeq than the last one 500 (§12.2.2)', async () => {
    setup()
    fake.inject(request('INVITE', {body: OFFER, cseq: 5}))
    const incoming = invites[0] as IncomingInvite
    const answered = incoming.answer(ANSWER)
    fake.inject(request('ACK', {toTag: incoming.localTag, cseq: 5, branch: 'z9hG4bKack5'}))
    await answered
    fake.inject(request('INFO', {toTag: incoming.localTag, cseq: 3}))
    const response = fake.responses().at(-1) as SipResponse
    assert.equal(response.status, 500)
    assert.deepEqual(cseqOf(response), {seq: 3, method: 'INFO'})
  })
})
