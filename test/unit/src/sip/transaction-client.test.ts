// Client transactions (RFC 3261 §17.1) on a fake transport with mocked
// timers: retransmission schedules on UDP and none on TCP, Timer B/F, the
// ACK for a non-2xx, RFC 6026 Accepted, transport errors.
import assert from 'node:assert/strict'
import {beforeEach, describe, it, type TestContext} from 'node:test'
import {createRequest, createResponseTo, cseqOf, topViaOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {SipTransactionLayer} from '../../../../src/sip/transaction/transaction-layer.js'
import type {ClientTransactionFailure, TransactionUser} from '../../../../src/sip/transaction/types.js'
import type {SipTransportProtocol} from '../../../../src/sip/transport/types.js'
import {viaBranch} from '../../../../src/sip/via.js'
import {FakeSipTransport, PEER, VirtualClock} from './fake-sip-transport.js'

const TIMERS = {t1: 100, t2: 400, t4: 500, trying: 200}

const request = (method: string): SipRequest =>
  createRequest(method, 'sip:bob@192.0.2.20:5062', [
    ['Route', '<sip:proxy.example;lr>'],
    ['Max-Forwards', '70'],
    ['From', '<sip:alice@127.0.0.1>;tag=a1'],
    ['To', '<sip:bob@192.0.2.20>'],
    ['Call-ID', `call-${method}`],
    ['CSeq', `7 ${method}`],
  ])

interface Harness {
  fake: FakeSipTransport
  clock: VirtualClock
  layer: SipTransactionLayer
  responses: SipResponse[]
  failures: ClientTransactionFailure[]
  /** 2xx responses the layer passed to the TU's strayInvite2xx. */
  strays: SipResponse[]
  start(method: string, transport?: SipTransportProtocol): SipRequest
  sendTimes(method: string): number[]
  reply(to: SipRequest, status: number, toTag?: string): void
}

const harness = (t: TestContext): Harness => {
  t.mock.timers.enable({apis: ['setTimeout']})
  const fake = new FakeSipTransport()
  const clock = new VirtualClock(t.mock.timers)
  fake.clock = () => clock.now
  const strays: SipResponse[] = []
  const tu: TransactionUser = {request: () => {}, ack: () => {}, strayInvite2xx: (response) => strays.push(response)}
  const layer = new SipTransactionLayer(fake, tu, {timers: TIMERS})
  const responses: SipResponse[] = []
  const failures: ClientTransactionFailure[] = []
  return {
    fake, clock, layer, responses, failures, strays,
    start(method, transport = 'udp') {
      const sent = request(method)
      layer.sendRequest(sent, {transport, ...PEER}, {response: (response) => responses.push(response), failure: (failure) => failures.push(failure)})
      return sent
    },
    sendTimes: (method) => fake.sent.filter(({message}) => message.kind === 'request' && message.method === method).map(({at}) => at),
    reply(to, status, toTag) {
      fake.inject(createResponseTo(to, status, toTag === undefined ? {} : {toTag}))
    },
  }
}

describe('INVITE client transaction (§17.1.1)', () => {
  let h: Harness
  beforeEach((t) => {
    h = harness(t as TestContext)
  })

  it('retransmits on UDP at T1, 2·T1, 4·T1... (Timer A, no T2 cap) and times out with Timer B at 64·T1', () => {
    h.start('INVITE')
    h.clock.advance(64 * TIMERS.t1 + 1)
    // 0, then +100, +200, +400, +800, +1600, +3200 (= 6300), the next would be at 12 700 > 6400.
    assert.deepEqual(h.sendTimes('INVITE'), [0, 100, 300, 700, 1500, 3100, 6300])
    assert.deepEqual(h.failures, [{kind: 'timeout'}])
    assert.equal(h.layer.counters.clientTransactions, 0)
  })

  it('never retransmits on TCP, and Timer B still ends it', () => {
    h.start('INVITE', 'tcp')
    h.clock.advance(64 * TIMERS.t1 - 1)
    assert.equal(h.sendTimes('INVITE').length, 1)
    assert.equal(h.failures.length, 0)
    h.clock.advance(1)
    assert.deepEqual(h.failures, [{kind: 'timeout'}])
  })

  it('stops retransmitting and disarms Timer B on a provisional response', () => {
    const invite = h.start('INVITE')
    h.clock.advance(150)
    h.reply(h.fake.requests('INVITE')[0] ?? invite, 180, 'b1')
    h.clock.advance(10_000)
    assert.equal(h.sendTimes('INVITE').length, 2)
    assert.deepEqual(h.responses.map(({status}) => status), [180])
    assert.equal(h.failures.length, 0)
  })

  it('ACKs a non-2xx itself (§17.1.1.3) and absorbs its retransmissions, re-sending the ACK', () => {
    h.start('INVITE')
    const sent = h.fake.requests('INVITE')[0] as SipRequest
    h.reply(sent, 486, 'b2')
    h.reply(sent, 486, 'b2')
    const acks = h.fake.requests('ACK')
    assert.equal(acks.length, 2)
    const ack = acks[0] as SipRequest
    assert.equal(ack.uri, sent.uri)
    assert.equal(viaBranch(topViaOf(ack)), viaBranch(topViaOf(sent)))
    assert.equal(ack.headers.getAll('via').length, 1)
    assert.deepEqual(cseqOf(ack), {seq: 7, method: 'ACK'})
    assert.match(ack.headers.get('to') ?? '', /;tag=b2$/)
    assert.equal(ack.headers.get('from'), sent.headers.get('from'))
    assert.deepEqual(ack.headers.getAll('route'), ['<sip:proxy.example;lr>'])
    assert.equal(ack.body.length, 0)
    assert.deepEqual(h.responses.map(({status}) => status), [486])
    // Timer D (64·T1 on UDP) keeps it to absorb retransmissions, then it goes.
    assert.equal(h.layer.counters.clientTransactions, 1)
    h.clock.advance(64 * TIMERS.t1)
    assert.equal(h.layer.counters.clientTransactions, 0)
  })

  it('passes the first 2xx to the handler and later ones to the TU\'s stray-2xx path while Accepted (RFC 6026), and ends after Timer M', () => {
    h.start('INVITE')
    const sent = h.fake.requests('INVITE')[0] as SipRequest
    h.reply(sent, 200, 'b3')
    h.reply(sent, 200, 'b3')
    h.reply(sent, 200, 'fork')
    const tagOfTo = (response: SipResponse): string => `${response.status} ${response.headers.get('to')?.split('tag=')[1]}`
    assert.deepEqual(h.responses.map(tagOfTo), ['200 b3'])
    assert.deepEqual(h.strays.map(tagOfTo), ['200 b3', '200 fork'])
    assert.equal(h.layer.counters.clientTransactions, 1, 'Accepted keeps the transaction')
    assert.equal(h.fake.requests('ACK').length, 0, 'the ACK for a 2xx is the TU\'s')
    h.clock.advance(64 * TIMERS.t1)
    assert.equal(h.layer.counters.clientTransactions, 0)
  })

  it('ends with a transport error when the INVITE cannot be sent', async () => {
    h.fake.failSends = true
    h.start('INVITE')
    await Promise.resolve()
    await Promise.resolve()
    assert.equal(h.failures[0]?.kind, 'transport-error')
    assert.equal(h.layer.counters.clientTransactions, 0)
  })
})

describe('non-INVITE client transaction (§17.1.2)', () => {
  let h: Harness
  beforeEach((t) => {
    h = harness(t as TestContext)
  })

  it('retransmits on UDP with Timer E doubling up to T2, and times out with Timer F', () => {
    h.start('BYE')
    h.clock.advance(64 * TIMERS.t1 + 1)
    const times = h.sendTimes('BYE')
    assert.deepEqual(times.slice(0, 5), [0, 100, 300, 700, 1100])
    const gaps = times.slice(1).map((time, index) => time - (times[index] as number))
    assert.ok(gaps.slice(3).every((gap) => gap === TIMERS.t2), `gaps after the cap: ${gaps.join(',')}`)
    assert.deepEqual(h.failures, [{kind: 'timeout'}])
  })

  it('retransmits every T2 once a provisional response arrived', () => {
    const bye = h.start('BYE')
    h.clock.advance(50)
    h.reply(h.fake.requests('BYE')[0] ?? bye, 100)
    h.clock.advance(1_000)
    assert.deepEqual(h.sendTimes('BYE'), [0, 100, 500, 900])
  })

  it('does not retransmit on TCP and ends at once after the final response (Timer K = 0)', () => {
    h.start('OPTIONS', 'tcp')
    h.clock.advance(3_000)
    assert.equal(h.sendTimes('OPTIONS').length, 1)
    h.reply(h.fake.requests('OPTIONS')[0] as SipRequest, 200)
    assert.deepEqual(h.responses.map(({status}) => status), [200])
    assert.equal(h.layer.counters.clientTransactions, 0)
  })

  it('keeps absorbing retransmitted finals for T4 on UDP (Timer K)', () => {
    h.start('BYE')
    const sent = h.fake.requests('BYE')[0] as SipRequest
    h.reply(sent, 200)
    h.reply(sent, 200)
    assert.equal(h.responses.length, 1)
    h.clock.advance(TIMERS.t4 - 1)
    assert.equal(h.layer.counters.clientTransactions, 1)
    h.clock.advance(1)
    assert.equal(h.layer.counters.clientTransactions, 0)
    h.reply(sent, 200)
    assert.equal(h.responses.length, 1)
    assert.equal(h.layer.counters.strayResponses, 1)
  })

  it('matches responses by branch and method: a CANCEL sharing the INVITE branch is its own transaction', () => {
    h.start('INVITE')
    const invite = h.fake.requests('INVITE')[0] as SipRequest
    const cancel = createRequest('CANCEL', invite.uri, [['Via', invite.headers.get('via') ?? ''], ['From', invite.headers.get('from') ?? ''], ['To', invite.headers.get('to') ?? ''], ['Call-ID', invite.headers.get('call-id') ?? ''], ['CSeq', '7 CANCEL']])
    const cancelResponses: number[] = []
    h.layer.sendRequest(cancel, {transport: 'udp', ...PEER}, {response: (response) => cancelResponses.push(response.status), failure: () => {}})
    h.fake.inject(createResponseTo(cancel, 200))
    h.reply(invite, 487, 'b4')
    assert.deepEqual(cancelResponses, [200])
    assert.deepEqual(h.responses.map(({status}) => status), [487])
  })
})
