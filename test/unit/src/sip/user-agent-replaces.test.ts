import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {SipResponse} from '../../../../src/sip/message.js'
import {UserAgent} from '../../../../src/sip/user-agent.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import {FakeSipTransport} from './fake-sip-transport.js'
import {ANSWER, OFFER, TIMERS, request} from './user-agent-fixtures.js'

/** A UA (Replaces on or off) holding one confirmed call the peer placed: the call and our tag. */
const withConfirmedCall = async (replaces: boolean) => {
  const fake = new FakeSipTransport()
  const ua = new UserAgent({transport: fake, timers: TIMERS, replaces})
  const first = new Promise<IncomingInvite>((resolve) => ua.once('invite', resolve))
  fake.inject(request('INVITE', {body: OFFER}))
  const invite = await first
  const answered = invite.answer(ANSWER)
  fake.inject(request('ACK', {toTag: invite.localTag, branch: 'z9hG4bKack1'}))
  const call = await answered
  const invites: IncomingInvite[] = []
  ua.on('invite', (incoming) => invites.push(incoming))
  const replacing = (value: string, extra: string[] = []): SipResponse | undefined => {
    const before = fake.responses().length
    fake.inject(request('INVITE', {callId: 'replacer', branch: `z9hG4bKr${before}`, extra: [`Replaces: ${value}`, ...extra], body: OFFER}))
    return fake.responses().slice(before).find((response) => response.status >= 200)
  }
  return {fake, ua, call, tag: invite.localTag, invites, replacing}
}

describe('UserAgent: INVITE with Replaces (RFC 3891)', () => {
  it('hands an INVITE naming a confirmed dialog to the application, with that call; Supported lists replaces', async () => {
    const {call, tag, invites, replacing, fake} = await withConfirmedCall(true)
    assert.equal(replacing(`uas-test;to-tag=${tag};from-tag=alice1`, ['Require: replaces']), undefined, 'no final response: the application decides')
    assert.equal(invites.length, 1)
    assert.equal(invites[0]?.replaces, call)
    invites[0]?.ring()
    assert.match(fake.responses().at(-1)?.headers.get('supported') ?? '', /\breplaces\b/)
  })

  it('refuses what it cannot replace: no such dialog or the tags the wrong way round (481), early-only (486), malformed or doubled (400)', async () => {
    const {tag, invites, replacing} = await withConfirmedCall(true)
    assert.equal(replacing(`other;to-tag=${tag};from-tag=alice1`)?.status, 481)
    assert.equal(replacing(`uas-test;to-tag=alice1;from-tag=${tag}`)?.status, 481)
    assert.equal(replacing(`uas-test;to-tag=${tag};from-tag=alice1;early-only`)?.status, 486)
    assert.equal(replacing(`uas-test;to-tag=${tag}`)?.status, 400)
    assert.equal(replacing(`uas-test;to-tag=${tag};from-tag=alice1`, [`Replaces: uas-test;to-tag=${tag};from-tag=alice1`])?.reason, 'Multiple Replaces')
    assert.equal(invites.length, 0)
  })

  it('refuses a dialog that has ended with 481', async () => {
    const {call, tag, invites, replacing} = await withConfirmedCall(true)
    void call.bye()
    assert.equal(replacing(`uas-test;to-tag=${tag};from-tag=alice1`)?.status, 481)
    assert.equal(invites.length, 0)
  })

  it('without the option: Require: replaces gets 420, and a Replaces header alone is a new call', async () => {
    const {tag, invites, replacing} = await withConfirmedCall(false)
    const required = replacing(`uas-test;to-tag=${tag};from-tag=alice1`, ['Require: replaces'])
    assert.equal(required?.status, 420)
    assert.equal(required?.headers.get('unsupported'), 'replaces')
    assert.equal(replacing(`uas-test;to-tag=${tag};from-tag=alice1`), undefined)
    assert.equal(invites.length, 1)
    assert.equal(invites[0]?.replaces, undefined)
  })
})
