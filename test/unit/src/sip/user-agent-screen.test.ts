// The user agent's request screen (UserAgentOptions.screen): what it turns
// away leaves no transaction, `reject` is a stateless 403, and what belongs
// to a transaction or dialog we hold is flagged so.
import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'
import type {SipResponse} from '../../../../src/sip/message.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {RequestScreen} from '../../../../src/sip/user-agent-types.js'
import {FakeSipTransport} from './fake-sip-transport.js'
import {OFFER, request, TIMERS} from './user-agent-fixtures.js'

describe('UserAgent: the request screen', () => {
  let ua: UserAgent | undefined
  afterEach(() => ua?.close())

  const setUp = (screen: RequestScreen) => {
    const fake = new FakeSipTransport()
    ua = new UserAgent({transport: fake, timers: TIMERS, screen})
    return {fake, ua}
  }

  it('a dropped request gets no answer and creates no transaction', () => {
    const {fake, ua} = setUp(() => 'drop')
    fake.inject(request('OPTIONS'))
    fake.inject(request('REGISTER'))
    fake.inject(request('INVITE', {body: OFFER}))
    assert.equal(fake.responses().length, 0)
    assert.equal(ua.transactions.counters.serverTransactions, 0)
    assert.equal(ua.transactions.counters.screenedOut, 3)
  })

  it('a rejected request gets a stateless 403, never an ACK', () => {
    const {fake, ua} = setUp(() => 'reject')
    fake.inject(request('OPTIONS'))
    fake.inject(request('ACK'))
    const responses = fake.responses() as SipResponse[]
    assert.deepEqual(responses.map((response) => response.status), [403])
    assert.equal(ua.transactions.counters.serverTransactions, 0)
  })

  it('flags retransmissions and CANCELs of a pending INVITE as belonging', () => {
    const seen: Array<[string, boolean]> = []
    const {fake, ua} = setUp((req, _context, belongs) => {
      seen.push([req.method, belongs])
      return 'admit'
    })
    ua.on('invite', () => {})
    fake.inject(request('INVITE', {body: OFFER}))
    fake.inject(request('INVITE', {body: OFFER}))
    fake.inject(request('CANCEL', {branch: 'z9hG4bKINVITE1'}))
    fake.inject(request('BYE', {toTag: 'unknown-dialog'}))
    assert.deepEqual(seen, [['INVITE', false], ['INVITE', true], ['CANCEL', true], ['BYE', false]])
  })
})
