// An ended call is not held on the heap by the transactions that linger after
// it (up to 64·T1 to absorb retransmissions): the INVITE client transaction
// in Accepted, the INVITE server transaction after its 2xx, the BYE's. Each
// test checks with a WeakRef and a full collection while those transactions
// still exist; the transactions' own behaviour is tested beside them
// (transaction-client.test.ts, transaction-server.test.ts).
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import {createResponseTo, cseqOf, type SipRequest} from '../../../../src/sip/message.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import {FakeSipTransport} from './fake-sip-transport.js'
import {ANSWER, OFFER, answeredIncomingCall, request} from './user-agent-fixtures.js'

// A context created after the flag gets the `gc` function (the daemon itself runs with --expose-gc).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

// Long timers: every transaction is still lingering when the test looks.
const TIMERS = {t1: 500, t2: 4_000, t4: 5_000, trying: 200}

/** Collects until the WeakRef is cleared (a WeakRef stays alive to the end of the job that read it), or gives up. */
const collected = async (ref: WeakRef<object>): Promise<boolean> => {
  for (let attempt = 0; attempt < 5; attempt++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    if (ref.deref() === undefined) return true
  }
  return false
}

const sentRequest = async (fake: FakeSipTransport, method: string): Promise<SipRequest> =>
  (await fake.next(({message}) => message.kind === 'request' && message.method === method)).message as SipRequest

describe('UserAgent: an ended call is not held by its lingering transactions', () => {
  let fake: FakeSipTransport
  let ua: UserAgent
  beforeEach(() => {
    fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS})
  })
  afterEach(() => ua.close())

  it('a call we placed and hung up', async () => {
    // In a function of its own, so that no local of the test holds the call.
    const placeAndHangUp = async (): Promise<WeakRef<SipCall>> => {
      const outgoing = ua.invite({requestUri: 'sip:bob@192.0.2.20:5062', from: '<sip:alice@example.com>', to: 'sip:bob@example.com', sdp: Buffer.from(OFFER)})
      const invite = await sentRequest(fake, 'INVITE')
      const ok = createResponseTo(invite, 200, {toTag: 'bob1'})
      ok.headers.append('Contact', '<sip:bob@192.0.2.20:5062>')
      ok.headers.append('Content-Type', 'application/sdp')
      ok.body = Buffer.from(ANSWER)
      fake.inject(ok)
      const result = await outgoing.result
      assert.ok(result.ok)
      const hungUp = result.call.bye()
      const bye = await sentRequest(fake, 'BYE')
      fake.inject(createResponseTo(bye, 200))
      assert.equal((await hungUp).status, 200)
      return new WeakRef(result.call)
    }
    const call = await placeAndHangUp()
    const {clientTransactions} = ua.transactions.counters
    assert.equal(clientTransactions, 2, 'the INVITE (Accepted, Timer M) and the BYE (Completed, Timer K) linger')
    assert.ok(await collected(call), 'the ended call was collected while its transactions linger')
  })

  it('a call placed to us that the caller hung up', async () => {
    // A user agent of its own, with the same long timers, answering one call from the shared fixture.
    const answered = await answeredIncomingCall(TIMERS)
    try {
      const endByCaller = async (): Promise<WeakRef<SipCall>> => {
        answered.fake.inject(request('BYE', {toTag: answered.tag, cseq: 2}))
        await answered.call.ended
        const ok = await answered.fake.next(({message}) => message.kind === 'response' && message.status === 200 && cseqOf(message).method === 'BYE')
        assert.ok(ok)
        const call = new WeakRef(answered.call)
        Reflect.deleteProperty(answered, 'call')
        return call
      }
      const call = await endByCaller()
      const {serverTransactions} = answered.ua.transactions.counters
      assert.equal(serverTransactions, 2, 'the INVITE (Accepted, Timer L) and the BYE (Completed, Timer J) linger')
      assert.ok(await collected(call), 'the ended call was collected while its transactions linger')
    } finally {
      answered.ua.close()
    }
  })
})
