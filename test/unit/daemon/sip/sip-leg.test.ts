import assert from 'node:assert/strict'
import {EventEmitter} from 'node:events'
import {describe, it} from 'node:test'
import pino from 'pino'
import type {SipRequest} from '../../../../src/sip/message.js'
import type {LocalAudioSdp} from '../../../../src/sip/sdp.js'
import type {IncomingInvite} from '../../../../src/sip/user-agent-incoming.js'
import type {StreamMediaEndpoint} from '../../../../daemon/sip/media-endpoint.js'
import {SipLeg} from '../../../../daemon/sip/sip-leg.js'

const silent = pino({level: 'silent'})
const media = {} as StreamMediaEndpoint
const local = {} as LocalAudioSdp

/** An incoming INVITE whose answer() behaves as `answer` says. */
const incomingWith = (answer: () => Promise<unknown>): IncomingInvite => Object.assign(new EventEmitter(), {answer}) as unknown as IncomingInvite

describe('SIP leg (inbound)', () => {
  it('ends as a failed call, cause 102, when its 200 OK is never acknowledged', async () => {
    let answering = 0
    const incoming = incomingWith(() => Promise.reject(new Error('no ACK for the 2xx within 32000 ms')))
    const leg = SipLeg.inbound(incoming, media, silent, local, 'v=0', () => answering++)
    await leg.answer()
    assert.equal(answering, 1, 'the answer was journaled before the 200 OK')
    assert.equal(leg.isAnswered, false)
    assert.deepEqual(await leg.ended, {cause: 102, status: 'failed'})
  })

  it('keeps the ending of a CANCEL that came before the answer failed', async () => {
    let fail: (error: Error) => void = () => {}
    const incoming = incomingWith(() => new Promise((_resolve, reject) => (fail = reject)))
    const leg = SipLeg.inbound(incoming, media, silent, local, 'v=0')
    const answered = leg.answer()
    await new Promise((resolve) => setImmediate(resolve))
    incoming.emit('cancelled', {} as SipRequest, undefined)
    fail(new Error('cannot answer: the call is cancelled'))
    await answered
    assert.deepEqual(await leg.ended, {cause: 16, status: 'canceled', sipStatus: 487})
  })
})
