// Reliable provisional responses (RFC 3262) in the user agent, against a
// fake transport: as UAS the 18x with Require: 100rel and RSeq, its
// retransmission at T1 doubling until the PRACK, 481 and 400 for PRACKs
// that match nothing or do not parse, the 2xx held until the SDP-bearing
// 18x is PRACKed, one outstanding at a time, the 500 after 64·T1, a BYE in
// the early dialog; as UAC the PRACK of a reliable 18x, once per RSeq, and
// the answer taken from the 18x when the 2xx repeats none.
import assert from 'node:assert/strict'
import {afterEach, describe, it, type TestContext} from 'node:test'
import {createResponseTo, cseqOf, toOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {tagOf} from '../../../../src/sip/name-addr.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {FakeSipTransport, sleep, VirtualClock} from './fake-sip-transport.js'
import {ANSWER, OFFER, request, TIMERS} from './user-agent-fixtures.js'

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('reliable provisionals as UAS (RFC 3262 §3)', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  afterEach(() => ua.close())
  const setup = (mode?: 'off' | 'supported' | 'preferred'): IncomingInvite[] => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, ...(mode === undefined ? {} : {reliableProvisionals: mode})})
    const invites: IncomingInvite[] = []
    ua.on('invite', (incoming) => invites.push(incoming))
    return invites
  }
  const prack = (incoming: IncomingInvite, rack: string, cseq = 2): SipResponse => {
    fake.inject(request('PRACK', {toTag: incoming.localTag, cseq, branch: `z9hG4bKprack${cseq}`, extra: [`RAck: ${rack}`]}))
    return fake.responses().filter((response) => cseqOf(response).method === 'PRACK').at(-1) as SipResponse
  }

  it('sends the 183 with Require: 100rel and RSeq, retransmits it at T1 doubling until the PRACK, which gets 200', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    const invites = setup()
    fake.clock = () => clock.now
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel']}))
    const incoming = invites[0] as IncomingInvite
    assert.equal(incoming.ring({sdp: ANSWER}), true)
    const first = fake.responses(183)[0] as SipResponse
    assert.equal(first.headers.get('require'), '100rel')
    const rseq = Number(first.headers.get('rseq'))
    assert.ok(rseq >= 1 && rseq < 2 ** 31)
    assert.equal(first.body.toString(), ANSWER)
    assert.equal(tagOf(toOf(first)), incoming.localTag)
    clock.advance(150)
    assert.deepEqual(fake.sent.filter(({message}) => message.kind === 'response' && message.status === 183).map(({at}) => at), [0, 20, 60, 140])
    // A PRACK naming another RSeq, another CSeq or another method matches nothing.
    assert.equal(prack(incoming, `${rseq + 1} 1 INVITE`, 2).status, 481)
    assert.equal(prack(incoming, `${rseq} 7 INVITE`, 3).status, 481)
    assert.equal(prack(incoming, `${rseq} 1 UPDATE`, 4).status, 481)
    assert.equal(prack(incoming, 'one 1 INVITE', 5).status, 400)
    assert.equal(prack(incoming, `${rseq} 1 INVITE`, 6).status, 200)
    clock.advance(400)
    assert.equal(fake.responses(183).length, 4, 'no retransmission after the PRACK')
    assert.equal(incoming.reliable?.counts.acknowledged, 1)
    // The same RAck again: nothing left unacknowledged, 481.
    assert.equal(prack(incoming, `${rseq} 1 INVITE`, 7).status, 481)
  })

  it('takes a flood of PRACKs naming nothing with 481 each, holding nothing for them, and still takes the right one', async () => {
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel']}))
    const incoming = invites[0] as IncomingInvite
    incoming.ring({sdp: ANSWER})
    const rseq = Number(fake.responses(183)[0]?.headers.get('rseq'))
    const statuses = new Map<number, number>()
    for (let index = 0; index < 500; index++) {
      const status = prack(incoming, `${rseq + 1 + index} 1 INVITE`, 2 + index).status
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
    }
    assert.deepEqual([...statuses], [[481, 500]])
    assert.equal(incoming.reliable?.counts.acknowledged, 0)
    assert.equal(incoming.reliable?.sdpUnacknowledged, true)
    assert.equal(prack(incoming, `${rseq} 1 INVITE`, 600).status, 200)
    const answered = incoming.answer(ANSWER)
    await sleep(5)
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    assert.equal((await answered).state, 'established')
  })

  it('holds the 2xx until the 183 with SDP is PRACKed, then sends it without SDP', async () => {
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel', 'Supported: 100rel']}))
    const incoming = invites[0] as IncomingInvite
    incoming.ring({sdp: ANSWER})
    const rseq = Number(fake.responses(183)[0]?.headers.get('rseq'))
    const answered = incoming.answer(ANSWER)
    await sleep(30)
    assert.equal(fake.responses(200).length, 0, 'no 2xx before the PRACK')
    assert.equal(prack(incoming, `${rseq} 1 INVITE`).status, 200)
    await sleep(5)
    const ok = fake.responses(200).find((response) => cseqOf(response).method === 'INVITE') as SipResponse
    assert.ok(ok, 'the 2xx went after the PRACK')
    assert.equal(ok.body.length, 0, 'the answer went in the PRACKed 183')
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    const call = await answered
    assert.equal(call.state, 'established')
    assert.equal(call.localSdp.toString(), ANSWER)
    // The early dialog's CSeq (the PRACK's 2) carries over: a request with 1 is out of order.
    fake.inject(request('INFO', {toTag: incoming.localTag, cseq: 1}))
    assert.equal(fake.responses().at(-1)?.status, 500)
  })

  it('sends a 180 without SDP and lets the 2xx go without waiting; one reliable provisional is outstanding at a time', async () => {
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel']}))
    const incoming = invites[0] as IncomingInvite
    incoming.ring()
    incoming.ring({sdp: ANSWER})
    assert.equal(fake.responses(183).length, 0, 'the 183 waits for the 180\'s PRACK')
    const rseq = Number(fake.responses(180)[0]?.headers.get('rseq'))
    assert.equal(prack(incoming, `${rseq} 1 INVITE`).status, 200)
    const second = fake.responses(183)[0] as SipResponse
    assert.equal(Number(second.headers.get('rseq')), rseq + 1)
    assert.equal(prack(incoming, `${rseq + 1} 1 INVITE`, 3).status, 200)
    const answered = incoming.answer(ANSWER)
    await sleep(5)
    assert.equal(fake.responses(200).filter((response) => cseqOf(response).method === 'INVITE').length, 1)
    fake.inject(request('ACK', {toTag: incoming.localTag, branch: 'z9hG4bKack1'}))
    await answered
  })

  it('goes reliable for a caller that only supports 100rel in preferred mode, not in supported mode, never in off mode', () => {
    for (const [mode, extra, reliable] of [['supported', 'Supported: 100rel', false], ['preferred', 'Supported: 100rel', true], ['off', 'Supported: 100rel', false]] as const) {
      const invites = setup(mode)
      fake.inject(request('INVITE', {body: OFFER, extra: [extra]}))
      ;(invites[0] as IncomingInvite).ring()
      assert.equal(fake.responses(180)[0]?.headers.has('rseq'), reliable, mode)
      ua.close()
    }
    setup('off')
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel']}))
    assert.equal(fake.responses().at(-1)?.status, 420)
  })

  it('refuses the INVITE with 500 (Q.850 102) and says so when no PRACK comes within 64·T1; answer() rejects', async (t: TestContext) => {
    t.mock.timers.enable({apis: ['setTimeout', 'Date']})
    const clock = new VirtualClock(t.mock.timers)
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel']}))
    const incoming = invites[0] as IncomingInvite
    const failed = new Promise<[number, number]>((resolve) => incoming.once('failed', (status, cause) => resolve([status, cause])))
    incoming.ring({sdp: ANSWER})
    const answered = incoming.answer(ANSWER)
    const rejected = assert.rejects(answered, /PRACK/)
    clock.advance(64 * TIMERS.t1 + 5)
    assert.deepEqual(await failed, [500, 102])
    await rejected
    const final = fake.responses(500)[0] as SipResponse
    assert.equal(final.headers.get('reason'), 'Q.850;cause=102')
    const retransmissions = fake.responses(183).length
    assert.ok(retransmissions >= 6 && retransmissions <= 7, `183 sent ${retransmissions} times in 64·T1 (T1 doubling, no cap)`)
    assert.equal(incoming.state, 'failed')
    assert.equal(ua.dialogCount, 0, 'the early dialog is gone')
  })

  it('takes a BYE in the early dialog as the end of the attempt: 200 to it, 487 to the INVITE', () => {
    const invites = setup()
    fake.inject(request('INVITE', {body: OFFER, extra: ['Require: 100rel']}))
    const incoming = invites[0] as IncomingInvite
    let cancelled = false
    incoming.on('cancelled', () => (cancelled = true))
    incoming.ring()
    fake.inject(request('BYE', {toTag: incoming.localTag, cseq: 2}))
    assert.equal(fake.responses(200).at(-1)?.headers.get('cseq'), '2 BYE')
    assert.equal(fake.responses(487).length, 1)
    assert.equal(cancelled, true)
    assert.equal(incoming.state, 'cancelled')
  })
})

describe('reliable provisionals as UAC (RFC 3262 §4)', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  afterEach(() => ua.close())
  const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
  const EARLY = SDP.replace('o=- 1 1', 'o=- 9 9').replace('4000', '4100')

  const respond = (invite: SipRequest, status: number, headers: Array<[string, string]> = [], body?: string): SipResponse => {
    const response = createResponseTo(invite, status, {toTag: 'uas1'})
    if (status > 100 && status < 300) response.headers.append('Contact', '<sip:bob@192.0.2.20:5062>')
    for (const [name, value] of headers) response.headers.append(name, value)
    if (body !== undefined) {
      response.headers.append('Content-Type', 'application/sdp')
      response.body = Buffer.from(body)
    }
    return response
  }

  it('PRACKs a reliable 183 once in its early dialog, ignores its retransmission and an RSeq out of order, and keeps its SDP as the answer', async () => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS})
    const outgoing = ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: 'sip:alice@example.com', to: 'sip:bob@example.com', sdp: SDP})
    const provisionals: number[] = []
    outgoing.on('provisional', ({status}) => provisionals.push(status))
    await turn()
    const invite = fake.requests('INVITE')[0] as SipRequest
    assert.equal(invite.headers.get('supported'), '100rel')
    const reliable = respond(invite, 183, [['Require', '100rel'], ['RSeq', '77']], EARLY)
    fake.inject(reliable)
    await turn()
    await turn()
    const prack = fake.requests('PRACK')[0] as SipRequest
    assert.ok(prack, 'a PRACK went')
    assert.equal(prack.headers.get('rack'), '77 1 INVITE')
    assert.deepEqual(cseqOf(prack), {seq: 2, method: 'PRACK'})
    assert.equal(prack.uri, 'sip:bob@192.0.2.20:5062')
    assert.match(prack.headers.get('to') ?? '', /;tag=uas1$/)
    fake.inject(reliable)
    fake.inject(respond(invite, 180, [['Require', '100rel'], ['RSeq', '80']]))
    await turn()
    await turn()
    assert.equal(fake.requests('PRACK').length, 1, 'neither a retransmission nor an RSeq out of order is PRACKed')
    assert.deepEqual(provisionals, [183])
    fake.inject(respond(invite, 180, [['Require', '100rel'], ['RSeq', '78']]))
    await turn()
    await turn()
    assert.equal(fake.requests('PRACK').length, 2)
    assert.equal(fake.requests('PRACK')[1]?.headers.get('rack'), '78 1 INVITE')
    assert.deepEqual(provisionals, [183, 180])
    fake.inject(respond(invite, 200))
    const result = await outgoing.result
    assert.ok(result.ok)
    assert.equal(result.call.remoteSdp?.toString(), EARLY, 'the 2xx repeated no SDP: the 183 had the answer')
    void result.call.bye()
    await turn()
    await turn()
    const bye = fake.requests('BYE')[0] as SipRequest
    assert.equal(cseqOf(bye).seq, 4, 'CSeq continues after the PRACKs')
  })

  it('takes an 18x with Require: 100rel but a broken RSeq as an ordinary provisional', async () => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS})
    const outgoing = ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: 'sip:alice@example.com', to: 'sip:bob@example.com', sdp: SDP})
    const provisionals: number[] = []
    outgoing.on('provisional', ({status}) => provisionals.push(status))
    await turn()
    const invite = fake.requests('INVITE')[0] as SipRequest
    fake.inject(respond(invite, 180, [['Require', '100rel'], ['RSeq', 'zero']]))
    await turn()
    assert.equal(fake.requests('PRACK').length, 0)
    assert.deepEqual(provisionals, [180])
    outgoing.cancel()
  })
})
