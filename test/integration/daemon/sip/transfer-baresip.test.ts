// Blind transfer with baresip (Debian's 1.0.0) as an independent SIP stack,
// driven headless over ctrl_tcp: its `transfer` command sends REFER, and it
// carries out a REFER it receives (placing the new call, NOTIFYing sipfrag).
// 1. The callee of a bridge hands the caller on: baresip B REFERs the
//    gateway to baresip C; the gateway calls C, relays the caller to C and
//    releases B. The caller hears C's tone, not B's.
// 2. The gateway's transfer node REFERs the caller (baresip A) to baresip C:
//    A calls C itself, tells the gateway it worked, and the gateway hangs up.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {CallEvent, ChannelTransfer} from '../../../../src/calls/events.js'
import {Baresip, freeSipPort, goertzel} from '../../../helpers/baresip.js'
import {sleep, TestGateway, waitFor} from '../../../helpers/gateway.js'

const gw = new TestGateway()
const ports = {b: 0, c: 0}

const config = () => `tenants:
  - id: desk
    dialplan: to-b
    transfer: { accept_refer: true, destinations: ["sip:*@127.0.0.1:*"], timeout_s: 10 }
  - { id: handoff, dialplan: to-c }
trunks:
  - { id: desk-in, tenant: desk, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1500*"] } }
  - { id: handoff-in, tenant: handoff, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1600*"] } }
dialplans:
  to-b:
    start: bridge
    nodes:
      bridge: { type: bridge, uri: "sip:b@127.0.0.1:${ports.b}", to: b, timeout_s: 10, next: bye }
      bye: { type: hangup, cause: 16 }
  to-c:
    start: answer
    nodes:
      answer: { type: answer, next: xfer }
      xfer: { type: transfer, uri: "sip:c@127.0.0.1:${ports.c}", timeout_s: 10, next: { transferred: bye, failed: fallback } }
      fallback: { type: hangup, cause: 21 }
      bye: { type: hangup, cause: 16 }
`

const transfersOf = (sid: string): ChannelTransfer[] => gw.events.filter((event: CallEvent): event is ChannelTransfer => event.type === 'CHANNEL_TRANSFER' && event.call_sid === sid)

before(async () => {
  ports.b = await freeSipPort()
  ports.c = await freeSipPort()
  await gw.start(config())
})

after(async () => {
  await Baresip.disposeAll()
  await gw.stop()
})

describe('blind transfer with baresip', () => {
  it('a bridged callee (B) REFERs the gateway to C: the caller ends up talking to C, B is released', async () => {
    const b = await Baresip.start({user: 'b', autoAnswer: true, sipPort: ports.b, toneHz: 600})
    const c = await Baresip.start({user: 'c', autoAnswer: true, sipPort: ports.c, toneHz: 1000})
    const a = await Baresip.start({toneHz: 440})
    await a.dial(`sip:+15005550001@${gw.sip}`)
    await b.waitForEvent('CALL_ESTABLISHED', 10_000)
    await a.waitForEvent('CALL_ESTABLISHED', 10_000)
    await sleep(1000)
    await b.command('transfer', `sip:c@127.0.0.1:${ports.c}`)
    const atC = await c.waitForEvent('CALL_ESTABLISHED', 10_000)
    assert.equal(atC.direction, 'incoming', c.tail())
    // B is released: by its own BYE once it hears of the success, or by the gateway's after the grace.
    await b.waitForEvent('CALL_CLOSED', 10_000)
    const create = await gw.created('+15005550001')
    const transfers = await waitFor('the transfer event', () => (transfersOf(create.call_sid).length > 0 ? transfersOf(create.call_sid) : undefined))
    assert.deepEqual(transfers.map(({refer, leg, target, result, sip_status}) => ({refer, leg, target, result, sip_status})), [{refer: 'received', leg: 'b', target: `sip:c@127.0.0.1:${ports.c}`, result: 'completed', sip_status: 200}])
    assert.equal(a.events.some((event) => event.type === 'CALL_CLOSED'), false, `the caller stayed on\n${a.tail()}`)
    await sleep(3000)
    await a.hangup()
    await a.waitForEvent('CALL_CLOSED', 5_000)
    await c.waitForEvent('CALL_CLOSED', 10_000)
    const end = await gw.hangupOf('+15005550001')
    assert.equal(end.status, 'completed')
    // The last two seconds the caller heard are C's tone, relayed through the B-leg's stream.
    const heard = await a.heardAudio()
    const tail = heard.subarray(Math.max(0, heard.length - 2 * 8000))
    assert.ok(tail.length >= 8000, `${tail.length} samples`)
    assert.ok(goertzel(tail, 1000) > 20 * goertzel(tail, 600), `C's 1000 Hz over B's 600 Hz: ${goertzel(tail, 1000).toExponential(2)} vs ${goertzel(tail, 600).toExponential(2)}`)
    // C's port is the next test's too.
    await Promise.all([a, b, c].map((phone) => phone.dispose()))
  })

  it('the transfer node REFERs the caller (A) to C: A calls C, NOTIFYs success, and the gateway hangs up', async () => {
    const c = await Baresip.start({user: 'c', autoAnswer: true, sipPort: ports.c, toneHz: 1000})
    const a = await Baresip.start({toneHz: 440})
    await a.dial(`sip:+16005550001@${gw.sip}`)
    const atC = await c.waitForEvent('CALL_ESTABLISHED', 15_000)
    assert.equal(atC.direction, 'incoming', c.tail())
    const end = await gw.hangupOf('+16005550001')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.deepEqual(transfersOf(end.call_sid).map(({refer, result, sip_status}) => ({refer, result, sip_status})), [{refer: 'sent', result: 'completed', sip_status: 200}])
    // A's first call (to the gateway) is over; its call to C stands.
    await waitFor('A\'s call to C', () => (a.events.filter((event) => event.type === 'CALL_ESTABLISHED').length >= 2 ? true : undefined), 10_000)
    await a.hangup()
  })
})
