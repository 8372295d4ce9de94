// UPDATE (RFC 3311) in an established call, against a fake transport: a
// refresh without a body, an offer answered like a re-INVITE offer, glare,
// a body that is not SDP, the per-dialog budget against storms, UPDATE
// outside a dialog, and our own UPDATE.
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {createResponseTo, cseqOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {parseRemoteSdp} from '../../../../src/sip/sdp.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import {IN_DIALOG_REQUEST_BUDGET, type SipCall} from '../../../../src/sip/user-agent-call.js'
import {FakeSipTransport, sleep, wire} from './fake-sip-transport.js'
import {ANSWER, answeredIncomingCall, OFFER, request} from './user-agent-fixtures.js'

const offer = (version: number, direction: string): string => OFFER.replace('o=alice 10 10', `o=alice 10 ${version}`).replace('a=sendrecv', `a=${direction}`)

describe('UPDATE', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  let call: SipCall
  let tag: string
  let cseq: number

  beforeEach(async () => {
    ;({fake, ua, call, tag} = await answeredIncomingCall())
    cseq = 1
  })
  afterEach(() => ua.close())

  /** Sends an UPDATE from the peer and returns our final response. */
  const update = async (body?: string, extra: string[] = []): Promise<SipResponse> => {
    cseq++
    const before = fake.responses().length
    fake.inject(request('UPDATE', {toTag: tag, cseq, extra, ...(body === undefined ? {} : {body})}))
    for (let waited = 0; fake.responses().slice(before).every(({status}) => status < 200) && waited < 100; waited++) await sleep(2)
    return fake.responses().slice(before).find(({status}) => status >= 200) as SipResponse
  }

  it('answers an UPDATE without a body 200, with Contact, Allow and no SDP', async () => {
    const response = await update()
    assert.equal(response.status, 200)
    assert.equal(response.body.length, 0)
    assert.equal(response.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    assert.match(response.headers.get('allow') ?? '', /UPDATE/)
    assert.equal(call.state, 'established')
  })

  it('answers an UPDATE offer like a re-INVITE offer (hold: recvonly), tells the application, and takes the new remote target', async () => {
    const remote = new Promise<Buffer>((resolve) => call.once('remote-sdp', resolve))
    const held = await update(offer(11, 'sendonly'), [])
    assert.equal(held.status, 200)
    assert.equal(parseRemoteSdp(held.body).direction, 'recvonly')
    assert.equal((await remote).toString(), offer(11, 'sendonly'))
    assert.equal(call.remoteSdp?.toString(), offer(11, 'sendonly'))
    // Through the application's handler.
    const seen: string[] = []
    call.reinviteHandler = ({sdp, request: received}) => {
      seen.push(`${received.method} ${sdp?.toString().includes('a=sendrecv')}`)
      return ANSWER.replace('o=gw 20 20', 'o=gw 20 22')
    }
    const resumed = await update(offer(12, 'sendrecv'))
    assert.equal(resumed.status, 200)
    assert.deepEqual(seen, ['UPDATE true'])
    assert.match(resumed.body.toString(), /o=gw 20 22/)
  })

  it('refuses an offer the handler cannot answer with 488, a body that is not SDP with 415', async () => {
    call.reinviteHandler = () => {
      throw new Error('no')
    }
    assert.equal((await update(offer(11, 'sendonly'))).status, 488)
    cseq++
    fake.inject(wire([...request('UPDATE', {toTag: tag, cseq}).split('\r\n').slice(0, 8), 'Content-Type: text/plain'], 'hello'))
    assert.equal(fake.responses().at(-1)?.status, 415)
  })

  it('answers 491 to an offer while our re-INVITE is pending (glare, §5.2)', async () => {
    const ours = call.reinvite(ANSWER.replace('o=gw 20 20', 'o=gw 20 21'))
    await fake.next(({message}) => message.kind === 'request' && message.method === 'INVITE')
    assert.equal((await update(offer(11, 'sendonly'))).status, 491)
    // An UPDATE without an offer is no glare.
    assert.equal((await update()).status, 200)
    const reinvite = fake.requests('INVITE')[0] as SipRequest
    const ok = createResponseTo(reinvite, 200)
    ok.headers.append('Contact', '<sip:alice@192.0.2.20:5062>')
    fake.inject(ok)
    assert.equal((await ours).ok, true)
  })

  it('answers 500 with Retry-After past the per-dialog budget, so an UPDATE storm is cut off', async () => {
    const statuses: number[] = []
    for (let index = 0; index < IN_DIALOG_REQUEST_BUDGET.requests + 3; index++) statuses.push((await update()).status)
    assert.deepEqual(statuses, [...Array<number>(IN_DIALOG_REQUEST_BUDGET.requests).fill(200), 500, 500, 500])
    const retryAfter = Number(fake.responses(500).at(-1)?.headers.get('retry-after'))
    assert.ok(retryAfter >= 1 && retryAfter <= IN_DIALOG_REQUEST_BUDGET.windowMs / 1000, `Retry-After ${retryAfter}`)
    assert.equal(call.state, 'established')
  })

  it('answers 481 to an UPDATE or PRACK outside any dialog', () => {
    fake.inject(request('UPDATE', {callId: 'elsewhere'}))
    assert.equal(fake.responses().at(-1)?.status, 481)
    fake.inject(request('PRACK', {callId: 'elsewhere', toTag: 'nope', extra: ['RAck: 1 1 INVITE']}))
    assert.equal(fake.responses().at(-1)?.status, 481)
  })

  it('sends our own UPDATE with an offer and takes the answer', async () => {
    const newOffer = ANSWER.replace('o=gw 20 20', 'o=gw 20 21').replace('a=sendrecv', 'a=sendonly')
    const roles: string[] = []
    call.on('remote-sdp', (_sdp, role) => roles.push(role))
    const pending = call.update(newOffer)
    const sent = (await fake.next(({message}) => message.kind === 'request' && message.method === 'UPDATE')).message as SipRequest
    assert.equal(sent.body.toString(), newOffer)
    assert.equal(cseqOf(sent).method, 'UPDATE')
    assert.equal(sent.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    assert.equal((await call.update(newOffer)).status, 491, 'one offer at a time')
    const ok = createResponseTo(sent, 200)
    ok.headers.append('Contact', '<sip:alice@192.0.2.20:5070>')
    ok.headers.append('Content-Type', 'application/sdp')
    ok.body = Buffer.from(offer(11, 'recvonly'))
    fake.inject(ok)
    const result = await pending
    assert.ok(result.ok)
    assert.equal(call.localSdp.toString(), newOffer)
    assert.equal(call.remoteSdp?.toString(), offer(11, 'recvonly'))
    assert.equal(call.dialog.remoteTarget, 'sip:alice@192.0.2.20:5070')
    assert.deepEqual(roles, ['answer'], 'the 2xx to our offer is the peer\'s answer')
    await update(offer(12, 'sendrecv'))
    assert.deepEqual(roles, ['answer', 'offer'])
  })
})
