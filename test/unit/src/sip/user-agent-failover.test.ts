// An outgoing INVITE tried at the targets its resolver gives, one after the
// other (RFC 3263 §4.3), against a fake transport: 503 and silence move on
// (a new transaction, same CSeq), other finals end the attempt, the last
// target waits for Timer B, a CANCEL stops the failover, and a URI that
// resolves to nothing fails with the resolver's error.
import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'
import {SipDnsError} from '../../../../src/sip/dns/errors.js'
import {createResponseTo, cseqOf, topViaOf, type SipRequest} from '../../../../src/sip/message.js'
import type {SipTargetResolver} from '../../../../src/sip/transport/target-resolver.js'
import type {SipTarget} from '../../../../src/sip/transport/types.js'
import type {FailoverEvent} from '../../../../src/sip/user-agent-failover.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import {viaBranch} from '../../../../src/sip/via.js'
import {FakeSipTransport} from './fake-sip-transport.js'

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n'
const TIMERS = {t1: 20, t2: 80, t4: 100, trying: 20}

const A: SipTarget = {transport: 'udp', address: '192.0.2.1', port: 5060, hostname: 'carrier.example'}
const B: SipTarget = {transport: 'tcp', address: '192.0.2.2', port: 5070, hostname: 'carrier.example'}
const C: SipTarget = {transport: 'udp', address: '192.0.2.3', port: 5080, hostname: 'carrier.example'}

/** A resolver with a fixed list; counts how many targets were asked for. */
const listResolver = (targets: SipTarget[]) => {
  const state = {pulled: 0}
  const resolver: SipTargetResolver = {
    async *targets() {
      for (const target of targets) {
        state.pulled++
        yield target
      }
    },
  }
  return {resolver, state}
}

describe('UserAgent: INVITE failover across targets', () => {
  let fake: FakeSipTransport
  let ua: UserAgent | undefined
  afterEach(() => ua?.close())

  const start = (resolver: SipTargetResolver, targetTimeoutMs = 0) => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, resolver, targetTimeoutMs})
    return ua.invite({requestUri: 'sip:+15550100@carrier.example', from: '<sip:alice@example.com>', to: '<sip:+15550100@carrier.example>', sdp: SDP})
  }

  /** The INVITE that went to `target`, once it has. */
  const inviteTo = async (target: SipTarget): Promise<SipRequest> =>
    (await fake.next(({message, target: to}) => message.kind === 'request' && message.method === 'INVITE' && to?.address === target.address)).message as SipRequest

  it('a 503 moves to the next target: a new branch, the same CSeq, a Contact of its transport; a 200 there answers', async () => {
    const {resolver} = listResolver([A, B])
    const outgoing = start(resolver)
    const events: FailoverEvent[] = []
    outgoing.on('failover', (event) => events.push(event))
    const first = await inviteTo(A)
    fake.inject(createResponseTo(first, 503, {toTag: 'a1'}))
    const second = await inviteTo(B)
    assert.notEqual(viaBranch(topViaOf(second)), viaBranch(topViaOf(first)))
    assert.equal(cseqOf(second).seq, cseqOf(first).seq)
    assert.equal(second.headers.get('call-id'), first.headers.get('call-id'))
    assert.match(second.headers.get('contact') ?? '', /;transport=tcp>$/)
    assert.doesNotMatch(first.headers.get('contact') ?? '', /transport=/)
    assert.deepEqual(events.map((event) => [event.from.address, event.next.address, event.reason]), [['192.0.2.1', '192.0.2.2', '503']])
    const ok = createResponseTo(second, 200, {toTag: 'b1'})
    ok.headers.append('Contact', '<sip:callee@192.0.2.2:5070;transport=tcp>')
    ok.headers.append('Content-Type', 'application/sdp')
    ok.body = Buffer.from(SDP)
    fake.inject(ok, 'tcp')
    const result = await outgoing.result
    assert.ok(result.ok)
    assert.equal(outgoing.targetsTried, 2)
    assert.equal(outgoing.transport, 'tcp')
    // The 503 was ACKed at the first target (its transaction), the 200 at the answering target's Contact, over TCP.
    const acks = await Promise.all([A, B].map((target) => fake.next(({message, target: to}) => message.kind === 'request' && message.method === 'ACK' && to?.address === target.address)))
    assert.deepEqual(acks.map((ack) => ack.target?.transport), ['udp', 'tcp'])
  })

  it('a target silent for targetTimeoutMs is left for the next one', async () => {
    const {resolver} = listResolver([A, B])
    const outgoing = start(resolver, 100)
    await inviteTo(A)
    const second = await inviteTo(B)
    fake.inject(createResponseTo(second, 486, {toTag: 'b1'}), 'tcp')
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 486)
    assert.equal(outgoing.targetsTried, 2)
  })

  it('a final response other than 503 ends the attempt: the next target is never looked up', async () => {
    const {resolver, state} = listResolver([A, B, C])
    const outgoing = start(resolver, 1000)
    fake.inject(createResponseTo(await inviteTo(A), 404, {toTag: 'a1'}))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 404)
    assert.equal(state.pulled, 1)
    assert.equal(fake.requests('INVITE').length, 1)
  })

  it('a target that answered 100 Trying keeps the attempt past targetTimeoutMs', async () => {
    const {resolver} = listResolver([A, B])
    const outgoing = start(resolver, 60)
    const first = await inviteTo(A)
    fake.inject(createResponseTo(first, 100))
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.ok(!fake.sent.some(({target}) => target?.address === B.address), 'nothing went to the second target')
    fake.inject(createResponseTo(first, 486, {toTag: 'a1'}))
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 486)
  })

  it('every target 503: the last 503 is the outcome, after each was tried once', async () => {
    const {resolver} = listResolver([A, B, C])
    const outgoing = start(resolver)
    for (const target of [A, B, C]) fake.inject(createResponseTo(await inviteTo(target), 503, {toTag: 't'}), target.transport)
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 503)
    assert.equal(result.failure.source, 'response')
    assert.equal(outgoing.targetsTried, 3)
  })

  it('the last target is not cut short: it waits for Timer B (64·T1) and fails with 408', async () => {
    const {resolver} = listResolver([A])
    const started = Date.now()
    const outgoing = start(resolver, 50)
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.status, 408)
    assert.equal(result.failure.source, 'timeout')
    // Timer B with T1 = 20 ms is 1.28 s: far beyond the 50 ms per-target timeout.
    assert.ok(Date.now() - started >= 1200, `gave up after ${Date.now() - started} ms`)
  })

  it('a transport error moves on at once', async () => {
    const {resolver} = listResolver([A, B])
    const outgoing = start(resolver)
    fake.failSends = true
    const events: FailoverEvent[] = []
    outgoing.on('failover', (event) => {
      events.push(event)
      fake.failSends = false
    })
    const second = await inviteTo(B)
    assert.equal(events[0]?.reason, 'transport-error')
    fake.inject(createResponseTo(second, 486, {toTag: 'b1'}), 'tcp')
    assert.equal((await outgoing.result).ok, false)
  })

  it('a cancel while a target is silent stops the failover: 487, canceled', async () => {
    const {resolver, state} = listResolver([A, B])
    const outgoing = start(resolver, 80)
    await inviteTo(A)
    outgoing.cancel()
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.canceled, true)
    assert.ok(!fake.sent.some(({target}) => target?.address === B.address))
    assert.ok(state.pulled <= 2)
  })

  it('a URI that resolves to nothing fails as a transport error carrying the resolver\'s error', async () => {
    const resolver: SipTargetResolver = {
      // eslint-disable-next-line require-yield
      async *targets() {
        throw new SipDnsError('nxdomain', 'carrier.example', 'cannot resolve carrier.example: no such domain (NXDOMAIN)')
      },
    }
    const outgoing = start(resolver)
    const result = await outgoing.result
    assert.ok(!result.ok)
    assert.equal(result.failure.source, 'transport-error')
    assert.equal(result.failure.status, 503)
    assert.ok(result.failure.error instanceof SipDnsError)
    assert.equal(fake.sent.length, 0)
  })
})
