// re-INVITE in an established call (RFC 3261 §14): hold and unhold through
// the application's handler or the default answer, session refresh,
// offerless re-INVITE, glare (491), and our own re-INVITE.
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {createResponseTo, cseqOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {parseRemoteSdp} from '../../../../src/sip/sdp.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {FakeSipTransport, sleep} from './fake-sip-transport.js'
import {ANSWER, answeredIncomingCall, OFFER, request} from './user-agent-fixtures.js'

const offer = (version: number, direction: string): string => OFFER.replace('o=alice 10 10', `o=alice 10 ${version}`).replace('a=sendrecv', `a=${direction}`)

describe('re-INVITE', () => {
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

  /** Sends a re-INVITE from the peer and returns our final response, after ACKing it. */
  const reinvite = async (body: string | undefined): Promise<SipResponse> => {
    cseq++
    const before = fake.responses().length
    fake.inject(request('INVITE', {toTag: tag, cseq, ...(body === undefined ? {} : {body})}))
    for (let waited = 0; fake.responses().slice(before).every(({status}) => status < 200) && waited < 100; waited++) await sleep(2)
    const final = fake.responses().slice(before).find(({status}) => status >= 200) as SipResponse
    if (final.status < 300) fake.inject(request('ACK', {toTag: tag, cseq, branch: `z9hG4bKack${cseq}`}))
    return final
  }

  it('puts the call on hold through the application handler and tells it the new remote SDP', async () => {
    const offers: Array<string | undefined> = []
    call.reinviteHandler = ({sdp}) => {
      offers.push(sdp?.toString())
      return ANSWER.replace('o=gw 20 20', 'o=gw 20 21').replace('a=sendrecv', 'a=recvonly')
    }
    const remote = new Promise<Buffer>((resolve) => call.once('remote-sdp', resolve))
    const held = await reinvite(offer(11, 'sendonly'))
    assert.equal(held.status, 200)
    assert.equal(parseRemoteSdp(held.body).direction, 'recvonly')
    assert.equal(held.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    assert.deepEqual(offers, [offer(11, 'sendonly')])
    assert.equal((await remote).toString(), offer(11, 'sendonly'))
    assert.equal(parseRemoteSdp(call.localSdp).direction, 'recvonly')
  })

  it('answers hold and unhold by itself without a handler (direction per RFC 3264 §6.1, version bumped)', async () => {
    const held = await reinvite(offer(11, 'sendonly'))
    const heldSdp = parseRemoteSdp(held.body)
    assert.equal(heldSdp.direction, 'recvonly')
    assert.equal(heldSdp.sessionVersion, '21')
    const resumed = await reinvite(offer(12, 'sendrecv'))
    const resumedSdp = parseRemoteSdp(resumed.body)
    assert.equal(resumedSdp.direction, 'sendrecv')
    assert.equal(resumedSdp.sessionVersion, '22')
  })

  it('answers a session refresh (same o= version) with the current SDP, without asking the application', async () => {
    call.reinviteHandler = () => assert.fail('a refresh is not a new offer')
    const refreshed = await reinvite(OFFER)
    assert.equal(refreshed.status, 200)
    assert.equal(refreshed.body.toString(), ANSWER)
  })

  it('offers its current SDP in the 200 to an offerless re-INVITE', async () => {
    const response = await reinvite(undefined)
    assert.equal(response.status, 200)
    assert.equal(response.body.toString(), ANSWER)
  })

  it('refuses an offer the handler cannot answer with 488', async () => {
    call.reinviteHandler = () => {
      throw new Error('no')
    }
    assert.equal((await reinvite(offer(11, 'sendonly'))).status, 488)
    assert.equal(call.state, 'established')
  })

  it('sends its own re-INVITE, ACKs the 2xx, and answers a crossing re-INVITE 491 (§14.2)', async () => {
    const pending = call.reinvite(ANSWER.replace('a=sendrecv', 'a=sendonly'))
    const sent = (await fake.next(({message}) => message.kind === 'request' && message.method === 'INVITE')).message as SipRequest
    assert.equal(sent.uri, 'sip:alice@192.0.2.20:5062')
    assert.equal(sent.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    fake.inject(request('INVITE', {toTag: tag, cseq: 2, body: offer(11, 'sendonly')}))
    assert.equal(fake.responses().at(-1)?.status, 491)
    const ok = createResponseTo(sent, 200)
    ok.headers.append('Contact', '<sip:alice@192.0.2.20:5062>')
    ok.headers.append('Content-Type', 'application/sdp')
    ok.body = Buffer.from(offer(13, 'recvonly'))
    fake.inject(ok)
    const result = await pending
    assert.deepEqual({ok: result.ok, status: result.status}, {ok: true, status: 200})
    const ack = (await fake.next(({message}) => message.kind === 'request' && message.method === 'ACK')).message
    assert.equal(cseqOf(ack).seq, cseqOf(sent).seq)
    assert.equal(call.remoteSdp?.toString(), offer(13, 'recvonly'))
  })
})
