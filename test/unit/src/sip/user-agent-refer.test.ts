// Call transfer in an established call against a fake transport: the
// peer's REFER (refused without a handler, refused by the handler, accepted
// with NOTIFYs in order, bad Refer-To, one at a time, a bounded number per
// call, outside a dialog) and ours (202 then NOTIFYs to a final sipfrag, a
// refused REFER, a failed new call, no final NOTIFY in time, NOTIFYs that do
// not belong, a NOTIFY flood).
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {createResponseTo, cseqOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {MAX_NOTIFYS_PER_REFER, MAX_REFERS_PER_CALL, type IncomingRefer} from '../../../../src/sip/user-agent-refer.js'
import {FakeSipTransport, sleep} from './fake-sip-transport.js'
import {answeredIncomingCall, request} from './user-agent-fixtures.js'

describe('REFER and NOTIFY', () => {
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

  /** Sends an in-dialog request from the peer and returns our final response. */
  const send = async (method: string, options: {extra?: string[]; body?: string; contentType?: string; toTag?: string; callId?: string} = {}): Promise<SipResponse> => {
    cseq++
    const before = fake.responses().length
    fake.inject(request(method, {toTag: tag, cseq, ...options}))
    for (let waited = 0; fake.responses().slice(before).every(({status}) => status < 200) && waited < 200; waited++) await sleep(2)
    return fake.responses().slice(before).find(({status}) => status >= 200) as SipResponse
  }
  const refer = (target = '<sip:bob@192.0.2.30>', extra: string[] = []): Promise<SipResponse> => send('REFER', {extra: [`Refer-To: ${target}`, ...extra]})
  const sentRequests = (method: string): SipRequest[] => fake.requests(method)
  /** Answers our next request of `method` with `status` and returns it. */
  const answerNext = async (method: string, status: number, count = sentRequests(method).length): Promise<SipRequest> => {
    const sent = (await fake.next(({message}) => message.kind === 'request' && message.method === method && sentRequests(method).length > count)).message as SipRequest
    fake.inject(createResponseTo(sent, status))
    return sent
  }

  it('refuses a REFER with 603 when the application takes no transfers', async () => {
    const response = await refer()
    assert.equal(response.status, 603)
    assert.equal(response.reason, 'Transfer Not Supported')
    assert.equal(call.state, 'established')
  })

  it('hands the REFER to the handler, which refuses it with its status and reason', async () => {
    const seen: string[] = []
    call.referHandler = (incoming) => {
      seen.push(`${incoming.target.text} by ${incoming.referredBy}`)
      incoming.reject(403, 'Transfer Target Not Allowed')
    }
    const response = await refer('"Bob" <sip:bob@192.0.2.30>', ['Referred-By: <sip:alice@192.0.2.20>'])
    assert.equal(response.status, 403)
    assert.equal(response.reason, 'Transfer Target Not Allowed')
    assert.deepEqual(seen, ['sip:bob@192.0.2.30 by <sip:alice@192.0.2.20>'])
    assert.equal(sentRequests('NOTIFY').length, 0)
  })

  it('accepts: 202, NOTIFY 100 Trying (active), progress, then the final status (terminated), in order', async () => {
    let accepted!: IncomingRefer
    call.referHandler = (incoming) => {
      accepted = incoming
      incoming.accept({expiresS: 90})
    }
    const response = await refer()
    assert.equal(response.status, 202)
    assert.equal(response.headers.get('contact'), '<sip:clutchcall@127.0.0.1:5060>')
    const trying = await answerNext('NOTIFY', 200, 0)
    assert.equal(trying.headers.get('event'), `refer;id=${cseq}`)
    assert.equal(trying.headers.get('subscription-state'), 'active;expires=90')
    assert.equal(trying.headers.get('content-type'), 'message/sipfrag;version=2.0')
    assert.equal(trying.body.toString(), 'SIP/2.0 100 Trying\r\n')
    assert.ok(trying.headers.get('contact'), 'a NOTIFY carries our Contact')
    const ringing = accepted.progress(180, 'Ringing')
    const final = accepted.finish(200, 'OK')
    const second = await answerNext('NOTIFY', 200, 1)
    assert.equal(second.body.toString(), 'SIP/2.0 180 Ringing\r\n')
    assert.equal(await ringing, 200)
    const third = await answerNext('NOTIFY', 200, 2)
    assert.equal(third.body.toString(), 'SIP/2.0 200 OK\r\n')
    assert.equal(third.headers.get('subscription-state'), 'terminated;reason=noresource')
    assert.ok(cseqOf(third).seq > cseqOf(second).seq && cseqOf(second).seq > cseqOf(trying).seq)
    assert.equal(await final, 200)
    assert.equal(await accepted.finish(486, 'Busy Here'), 0, 'a finished transfer sends nothing more')
  })

  it('refuses a bad Refer-To (400, 416), a second REFER while one is pending (491), and more than the bound per call (403)', async () => {
    const pending: IncomingRefer[] = []
    call.referHandler = (incoming) => pending.push(incoming)
    assert.equal((await send('REFER')).status, 400)
    assert.equal((await refer('<sip:bob@192.0.2.30')).status, 400)
    assert.equal((await refer('<http://evil.example/>')).status, 416)
    cseq++
    fake.inject(request('REFER', {toTag: tag, cseq, extra: ['Refer-To: <sip:bob@192.0.2.30>']}))
    await sleep(20)
    assert.equal(pending.length, 1, 'the handler has the fourth')
    assert.equal((await refer()).status, 491)
    pending[0]?.reject(603, 'Declined')
    assert.equal(MAX_REFERS_PER_CALL, 5)
    const beyond = await refer()
    assert.equal(beyond.status, 403)
    assert.equal(beyond.reason, 'Too Many Transfer Requests')
    assert.equal(pending.length, 1, 'the sixth never reached the handler')
  })

  it('answers a REFER or NOTIFY outside a dialog (or in an unknown one) with 481', async () => {
    for (const method of ['REFER', 'NOTIFY']) {
      fake.inject(request(method, {callId: `stray-${method}`, extra: ['Refer-To: <sip:bob@192.0.2.30>', 'Event: refer']}))
      await sleep(10)
      assert.equal(fake.responses().at(-1)?.status, 481, method)
      assert.equal(cseqOf(fake.responses().at(-1) as SipResponse).method, method)
    }
    const unknown = await send('NOTIFY', {extra: ['Event: refer;id=77', 'Subscription-State: active'], body: 'SIP/2.0 100 Trying\r\n', contentType: 'message/sipfrag'})
    assert.equal(unknown.status, 481)
    assert.equal(unknown.reason, 'Subscription Does Not Exist')
  })

  it('sends our REFER and follows the NOTIFYs to a 2xx', async () => {
    const progress: number[] = []
    const outcome = call.refer('sip:+14155550100@carrier.example', {referredBy: '<sip:gw@127.0.0.1>', progress: (status) => progress.push(status)})
    const sent = await answerNext('REFER', 202, 0)
    assert.equal(sent.headers.get('refer-to'), '<sip:+14155550100@carrier.example>')
    assert.equal(sent.headers.get('referred-by'), '<sip:gw@127.0.0.1>')
    assert.ok(sent.headers.get('contact'))
    const id = cseqOf(sent).seq
    const notify = (body: string, state: string) => send('NOTIFY', {extra: [`Event: refer;id=${id}`, `Subscription-State: ${state}`], body, contentType: 'message/sipfrag;version=2.0'})
    assert.equal((await notify('SIP/2.0 100 Trying\r\n', 'active;expires=60')).status, 200)
    assert.equal((await notify('SIP/2.0 180 Ringing\r\n', 'active;expires=60')).status, 200)
    assert.equal((await notify('SIP/2.0 200 OK\r\n', 'terminated;reason=noresource')).status, 200)
    assert.deepEqual(await outcome, {ok: true, status: 200, reason: 'OK'})
    assert.deepEqual(progress, [100, 180])
    assert.equal(call.state, 'established', 'ending the call is the caller\'s choice')
    assert.equal((await notify('SIP/2.0 200 OK\r\n', 'terminated')).status, 481, 'the subscription is over')
  })

  it('reports a refused REFER, a failed new call, and a NOTIFY that never comes', async () => {
    const refused = call.refer('sip:bob@192.0.2.30')
    assert.equal((await call.refer('sip:carol@192.0.2.31')).status, 491, 'one REFER at a time')
    await answerNext('REFER', 603, 0)
    assert.deepEqual(await refused, {ok: false, stage: 'refer', status: 603, reason: 'Decline'})

    const busy = call.refer('sip:bob@192.0.2.30')
    const sent = await answerNext('REFER', 202, 1)
    const id = cseqOf(sent).seq
    assert.equal((await send('NOTIFY', {extra: [`Event: refer;id=${id}`, 'Subscription-State: terminated'], body: 'SIP/2.0 486 Busy Here\r\n', contentType: 'message/sipfrag'})).status, 200)
    assert.deepEqual(await busy, {ok: false, stage: 'notify', status: 486, reason: 'Busy Here'})

    const silent = call.refer('sip:bob@192.0.2.30', {timeoutMs: 50})
    await answerNext('REFER', 202, 2)
    assert.deepEqual(await silent, {ok: false, stage: 'timeout', status: 408, reason: 'No Final NOTIFY'})
    assert.equal((await call.refer('http://example.com/')).status, 416)
  })

  it('answers NOTIFYs that do not fit: another package (489), another id (481), a body that is not sipfrag (415), bad headers (400); a flood ends the transfer', async () => {
    const outcome = call.refer('sip:bob@192.0.2.30')
    const sent = await answerNext('REFER', 202, 0)
    const id = cseqOf(sent).seq
    const good = [`Event: refer;id=${id}`, 'Subscription-State: active']
    assert.equal((await send('NOTIFY', {extra: ['Event: dialog', 'Subscription-State: active'], body: 'x', contentType: 'application/dialog-info+xml'})).status, 489)
    assert.equal((await send('NOTIFY', {extra: [`Event: refer;id=${id + 1}`, 'Subscription-State: active'], body: 'SIP/2.0 200 OK', contentType: 'message/sipfrag'})).status, 481)
    assert.equal((await send('NOTIFY', {extra: good, body: '<html/>', contentType: 'text/html'})).status, 415)
    assert.equal((await send('NOTIFY', {extra: ['Event: refer;;', 'Subscription-State: active']})).status, 400)
    assert.equal((await send('NOTIFY', {extra: [`Event: refer;id=${id}`]})).status, 400, 'no Subscription-State')
    for (let index = 0; index < MAX_NOTIFYS_PER_REFER; index++) assert.equal((await send('NOTIFY', {extra: good, body: 'SIP/2.0 100 Trying', contentType: 'message/sipfrag'})).status, 200)
    await send('NOTIFY', {extra: good, body: 'SIP/2.0 100 Trying', contentType: 'message/sipfrag'})
    assert.deepEqual(await outcome, {ok: false, stage: 'limit', status: 500, reason: 'Too Many NOTIFYs'})
  })

  it('settles our REFER when the call ends, and sends nothing for the peer\'s once the call is gone', async () => {
    const outcome = call.refer('sip:bob@192.0.2.30')
    await answerNext('REFER', 202, 0)
    await send('BYE')
    assert.deepEqual(await outcome, {ok: false, stage: 'ended', status: 481, reason: 'Call Ended'})
  })
})
