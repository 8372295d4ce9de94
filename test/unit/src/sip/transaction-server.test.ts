// Server transactions (RFC 3261 §17.2) on a fake transport with mocked
// timers: 100 Trying, absorbed retransmissions, Timer G/H/I/J/L, ACK for
// non-2xx absorbed, ACK for 2xx passed up, CANCEL matching, RFC 2543 keys.
import assert from 'node:assert/strict'
import {beforeEach, describe, it, type TestContext} from 'node:test'
import {createResponseTo, type SipRequest} from '../../../../src/sip/message.js'
import {SipTransactionLayer} from '../../../../src/sip/transaction/transaction-layer.js'
import type {ServerTransaction} from '../../../../src/sip/transaction/types.js'
import type {SipTransportProtocol} from '../../../../src/sip/transport/types.js'
import {FakeSipTransport, VirtualClock, wire} from './fake-sip-transport.js'

const TIMERS = {t1: 100, t2: 400, t4: 500, trying: 200}

const requestText = (method: string, options: {branch?: string; cseq?: string; toTag?: string; transport?: string} = {}): string =>
  wire([
    `${method} sip:gw@127.0.0.1:5060 SIP/2.0`,
    `Via: SIP/2.0/${options.transport ?? 'UDP'} 192.0.2.20:5062;branch=${options.branch ?? 'z9hG4bKinvite1'};rport`,
    'Max-Forwards: 70',
    'From: <sip:alice@192.0.2.20>;tag=from1',
    `To: <sip:gw@127.0.0.1>${options.toTag === undefined ? '' : `;tag=${options.toTag}`}`,
    'Call-ID: server-tx-1',
    `CSeq: ${options.cseq ?? `1 ${method}`}`,
  ])

interface Harness {
  fake: FakeSipTransport
  clock: VirtualClock
  layer: SipTransactionLayer
  created: ServerTransaction[]
  acks: SipRequest[]
  statusTimes(status: number): number[]
}

const harness = (t: TestContext): Harness => {
  t.mock.timers.enable({apis: ['setTimeout']})
  const fake = new FakeSipTransport()
  const clock = new VirtualClock(t.mock.timers)
  fake.clock = () => clock.now
  const created: ServerTransaction[] = []
  const acks: SipRequest[] = []
  const layer = new SipTransactionLayer(fake, {request: (_request, transaction) => created.push(transaction), ack: (ack) => acks.push(ack), strayInvite2xx: () => {}}, {timers: TIMERS})
  return {fake, clock, layer, created, acks, statusTimes: (status) => fake.sent.filter(({message}) => message.kind === 'response' && message.status === status).map(({at}) => at)}
}

describe('INVITE server transaction (§17.2.1)', () => {
  let h: Harness
  beforeEach((t) => {
    h = harness(t as TestContext)
  })

  it('sends 100 Trying when the TU has not answered within 200 ms', () => {
    h.fake.inject(requestText('INVITE'))
    h.clock.advance(199)
    assert.equal(h.fake.responses().length, 0)
    h.clock.advance(1)
    const trying = h.fake.responses(100)
    assert.equal(trying.length, 1)
    assert.equal(trying[0]?.headers.get('to'), '<sip:gw@127.0.0.1>', '100 Trying carries no To tag')
  })

  it('puts the Server value of the layer (sip.user_agent) on its 100 Trying, and none when it is empty', (t) => {
    t.mock.timers.reset()
    for (const server of ['Acme-SBC/2.1', '']) {
      t.mock.timers.enable({apis: ['setTimeout']})
      const fake = new FakeSipTransport()
      const clock = new VirtualClock(t.mock.timers)
      fake.clock = () => clock.now
      new SipTransactionLayer(fake, {request: () => {}, ack: () => {}, strayInvite2xx: () => {}}, {timers: TIMERS, server})
      fake.inject(requestText('INVITE'))
      clock.advance(200)
      assert.deepEqual(fake.responses(100)[0]?.headers.getAll('server'), server === '' ? [] : [server])
      t.mock.timers.reset()
    }
  })

  it('sends no 100 Trying when the TU rings first, and repeats the last provisional on a retransmitted INVITE', () => {
    h.fake.inject(requestText('INVITE'))
    const transaction = h.created[0] as ServerTransaction
    transaction.respond(createResponseTo(transaction.request, 180, {toTag: 'gw1'}))
    h.clock.advance(1_000)
    assert.equal(h.fake.responses(100).length, 0)
    h.fake.inject(requestText('INVITE'))
    assert.equal(h.created.length, 1, 'the retransmission created no new transaction')
    assert.equal(h.fake.responses(180).length, 2)
    assert.equal(h.layer.counters.retransmissionsAbsorbed, 1)
  })

  it('retransmits a non-2xx final with Timer G (T1 doubling to T2) until the ACK, which it absorbs (Timer I)', () => {
    h.fake.inject(requestText('INVITE'))
    const transaction = h.created[0] as ServerTransaction
    transaction.respond(createResponseTo(transaction.request, 486, {toTag: 'gw2'}))
    h.clock.advance(1_200)
    assert.deepEqual(h.statusTimes(486), [0, 100, 300, 700, 1100])
    h.fake.inject(requestText('ACK', {cseq: '1 ACK', toTag: 'gw2'}))
    assert.equal(transaction.state, 'confirmed')
    assert.equal(h.acks.length, 0, 'the ACK for a non-2xx stays in the transaction')
    h.fake.inject(requestText('ACK', {cseq: '1 ACK', toTag: 'gw2'}))
    assert.equal(h.acks.length, 0, 'a retransmitted ACK is absorbed too')
    h.clock.advance(TIMERS.t4 - 1)
    assert.equal(h.statusTimes(486).length, 5, 'no retransmission after the ACK')
    assert.equal(transaction.state, 'confirmed')
    h.clock.advance(1)
    assert.equal(transaction.state, 'terminated')
    assert.equal(h.layer.counters.serverTransactions, 0)
  })

  it('gives up with Timer H when no ACK comes, and tells the TU', () => {
    h.fake.inject(requestText('INVITE'))
    const transaction = h.created[0] as ServerTransaction
    let ackTimeouts = 0
    transaction.observe({ackTimeout: () => ackTimeouts++})
    transaction.respond(createResponseTo(transaction.request, 603, {toTag: 'gw3'}))
    h.clock.advance(64 * TIMERS.t1)
    assert.equal(ackTimeouts, 1)
    assert.equal(transaction.state, 'terminated')
  })

  it('does not retransmit the final response on TCP and ends at the ACK', () => {
    h.fake.inject(requestText('INVITE', {transport: 'TCP'}), 'tcp')
    const transaction = h.created[0] as ServerTransaction
    transaction.respond(createResponseTo(transaction.request, 480, {toTag: 'gw4'}))
    h.clock.advance(3_000)
    assert.equal(h.fake.responses(480).length, 1)
    h.fake.inject(requestText('ACK', {cseq: '1 ACK', toTag: 'gw4', transport: 'TCP'}), 'tcp')
    assert.equal(transaction.state, 'terminated')
  })

  it('after a 2xx absorbs retransmitted INVITEs without answering (the TU retransmits the 2xx) and ends with Timer L', () => {
    h.fake.inject(requestText('INVITE'))
    const transaction = h.created[0] as ServerTransaction
    transaction.respond(createResponseTo(transaction.request, 200, {toTag: 'gw5'}))
    h.fake.inject(requestText('INVITE'))
    assert.equal(h.fake.responses(200).length, 1)
    assert.equal(transaction.state, 'accepted')
    // The ACK for a 2xx has its own branch: no transaction matches, the TU gets it.
    h.fake.inject(requestText('ACK', {branch: 'z9hG4bKack2xx', cseq: '1 ACK', toTag: 'gw5'}))
    assert.equal(h.acks.length, 1)
    h.clock.advance(64 * TIMERS.t1)
    assert.equal(transaction.state, 'terminated')
  })

  it('finds the INVITE transaction a CANCEL refers to (same branch and sent-by)', () => {
    h.fake.inject(requestText('INVITE'))
    h.fake.inject(requestText('CANCEL', {cseq: '1 CANCEL'}))
    assert.equal(h.created.length, 2)
    const cancel = h.created[1] as ServerTransaction
    assert.equal(cancel.isInvite, false)
    assert.equal(h.layer.findInviteServerTransaction(cancel.request), h.created[0])
    h.fake.inject(requestText('CANCEL', {branch: 'z9hG4bKother', cseq: '1 CANCEL'}))
    assert.equal(h.layer.findInviteServerTransaction((h.created[2] as ServerTransaction).request), undefined)
  })

  it('matches RFC 2543 requests (no magic cookie) by Call-ID, tags, CSeq and Via', () => {
    h.fake.inject(requestText('INVITE', {branch: 'old2543'}))
    h.fake.inject(requestText('INVITE', {branch: 'old2543'}))
    assert.equal(h.created.length, 1)
    const transaction = h.created[0] as ServerTransaction
    transaction.respond(createResponseTo(transaction.request, 486, {toTag: 'gw6'}))
    h.fake.inject(requestText('ACK', {branch: 'old2543', cseq: '1 ACK', toTag: 'gw6'}))
    assert.equal(transaction.state, 'confirmed')
  })
})

describe('non-INVITE server transaction (§17.2.2)', () => {
  let h: Harness
  beforeEach((t) => {
    h = harness(t as TestContext)
  })

  const start = (transport: SipTransportProtocol = 'udp'): ServerTransaction => {
    h.fake.inject(requestText('BYE', {toTag: 'gw', cseq: '2 BYE', branch: 'z9hG4bKbye', transport: transport.toUpperCase()}), transport)
    return h.created[0] as ServerTransaction
  }

  it('absorbs retransmissions while Trying, answers them with the final response afterwards, ends with Timer J', () => {
    const transaction = start()
    h.fake.inject(requestText('BYE', {toTag: 'gw', cseq: '2 BYE', branch: 'z9hG4bKbye'}))
    assert.equal(h.fake.sent.length, 0)
    transaction.respond(createResponseTo(transaction.request, 200))
    h.fake.inject(requestText('BYE', {toTag: 'gw', cseq: '2 BYE', branch: 'z9hG4bKbye'}))
    assert.equal(h.fake.responses(200).length, 2)
    assert.equal(h.created.length, 1)
    h.clock.advance(64 * TIMERS.t1 - 1)
    assert.equal(transaction.state, 'completed')
    h.clock.advance(1)
    assert.equal(transaction.state, 'terminated')
  })

  it('ends at once on TCP (Timer J = 0)', () => {
    const transaction = start('tcp')
    transaction.respond(createResponseTo(transaction.request, 200))
    assert.equal(transaction.state, 'terminated')
  })

  it('ends with a transport error when its response cannot be sent', async () => {
    const transaction = start()
    let errors = 0
    transaction.observe({transportError: () => errors++})
    h.fake.failSends = true
    transaction.respond(createResponseTo(transaction.request, 200))
    await Promise.resolve()
    await Promise.resolve()
    assert.equal(errors, 1)
    assert.equal(transaction.state, 'terminated')
  })
})
