// Call transfer (RFC 3515 REFER, NOTIFY with message/sipfrag) through a real
// daemon, SIPp on both sides: a caller's REFER carried out under its
// tenant's policy (the gateway calls the target, NOTIFYs 100, 180 and the
// final status, releases the transferor, and the call goes on with the
// target), a target that is busy, REFERs the policy or the parser refuses
// (603, 403, 400, 416, a REFER flood bounded, a NOTIFY for no subscription,
// REFER and NOTIFY outside a dialog); the `transfer` node's REFER to the
// caller (success and failure) and an AI agent's `transfer` message.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {WebSocketServer, type WebSocket} from 'ws'
import type {CallEvent, ChannelTransfer} from '../../../../src/calls/events.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp} from '../../../helpers/peers.js'
import {UdpSipPeer} from '../../../helpers/sip-udp.js'
import {uacReferred, uacReferRefused, uacReferring, uasTransferTarget} from '../../src/sip/scenarios.js'

const gw = new TestGateway()
let agent: WebSocketServer | undefined
const agentFrames: Array<{event: string; transfer?: {status: string; reason?: string; sipStatus?: number; target?: string}}> = []

const config = (agentPort: number) => `tenants:
  - id: acme
    dialplan: echo
    transfer: { accept_refer: true, destinations: ["sip:*@127.0.0.1:*", "+1415555*"], timeout_s: 10 }
  - { id: closed, dialplan: echo }
  - { id: handoff, dialplan: hand-off }
  - id: assisted
    dialplan: to-agent
    transfer: { destinations: ["+1415555*"], timeout_s: 10 }
trunks:
  - { id: acme-in, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1100*"] } }
  - { id: closed-in, tenant: closed, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1200*"] } }
  - { id: handoff-in, tenant: handoff, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1300*"] } }
  - { id: assisted-in, tenant: assisted, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1400*"] } }
dialplans:
  echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 6, next: bye }
      bye: { type: hangup, cause: 16 }
  hand-off:
    start: xfer
    nodes:
      xfer: { type: transfer, to: "+14155550100", timeout_s: 5, next: { transferred: bye, failed: fallback } }
      fallback: { type: hangup, cause: 21 }
      bye: { type: hangup, cause: 16 }
  to-agent:
    start: agent
    nodes:
      agent: { type: agent, url: "ws://127.0.0.1:${agentPort}/voice", agent_id: concierge, next: { completed: bye, failed: bye } }
      bye: { type: hangup, cause: 16 }
`

const transfersOf = (sid: string): ChannelTransfer[] => gw.events.filter((event: CallEvent): event is ChannelTransfer => event.type === 'CHANNEL_TRANSFER' && event.call_sid === sid)

before(async () => {
  const agentPort = await freePort()
  agent = new WebSocketServer({host: '127.0.0.1', port: agentPort})
  // The agent asks for a transfer the tenant does not allow, then for one it does, once the stream has started.
  agent.on('connection', (socket: WebSocket) => {
    socket.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as (typeof agentFrames)[number]
      agentFrames.push(frame)
      if (frame.event === 'start') {
        socket.send(JSON.stringify({event: 'transfer', transfer: {to: '+19005550100'}}))
        socket.send(JSON.stringify({event: 'transfer', transfer: {uri: 'mailto:boss@example.com'}}))
        socket.send(JSON.stringify({event: 'transfer', transfer: {to: '+14155550100'}}))
      }
    })
  })
  await gw.start(config(agentPort))
})

after(async () => {
  agent?.close()
  await gw.stop()
})

describe('a REFER the gateway receives', () => {
  it('calls the target, NOTIFYs 100/180/200, releases the transferor with a BYE, and keeps the call going with the target', async () => {
    const targetPort = await freePort()
    const target = await runSipp({scenarioXml: uasTransferTarget('200 OK'), port: targetPort})
    const caller = await runSipp({scenarioXml: uacReferring(`<sip:desk@127.0.0.1:${targetPort}>`, '200 OK', true), target: gw.sip, service: '+11005550001'})
    const callerDone = await caller.done
    assert.equal(callerDone.code, 0, callerDone.output)
    // The call went on with the target until the echo node's end: the gateway's BYE reached the target's dialog.
    const targetDone = await target.done
    assert.equal(targetDone.code, 0, targetDone.output)
    const end = await gw.hangupOf('+11005550001')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.ok(end.duration_seconds >= 5, `the call lasted to the echo's end: ${end.duration_seconds} s`)
    const transfers = transfersOf(end.call_sid)
    assert.deepEqual(transfers.map(({refer, leg, target: to, result, sip_status}) => ({refer, leg, to, result, sip_status})), [{refer: 'received', leg: 'a', to: `sip:desk@127.0.0.1:${targetPort}`, result: 'completed', sip_status: 200}])
    const types = gw.typesOf(end.call_sid).filter((type) => type !== 'CHANNEL_QUALITY')
    assert.deepEqual(types, ['CHANNEL_CREATE', 'CHANNEL_ANSWER', 'CHANNEL_TRANSFER', 'CHANNEL_HANGUP_COMPLETE'])
  })

  it('reports a busy target in the final NOTIFY and leaves the call with the transferor', async () => {
    const targetPort = await freePort()
    const target = await runSipp({scenarioXml: uasTransferTarget('486 Busy Here'), port: targetPort})
    const caller = await runSipp({scenarioXml: uacReferring(`<sip:desk@127.0.0.1:${targetPort}>`, '486 Busy Here', false), target: gw.sip, service: '+11005550002'})
    const callerDone = await caller.done
    assert.equal(callerDone.code, 0, callerDone.output)
    assert.equal((await target.done).code, 0)
    const end = await gw.hangupOf('+11005550002')
    assert.equal(end.status, 'completed')
    assert.deepEqual(transfersOf(end.call_sid).map(({result, sip_status, reason}) => ({result, sip_status, reason})), [{result: 'failed', sip_status: 486, reason: 'Busy Here'}])
  })

  it('refuses with 603 when the tenant takes no transfers', async () => {
    const caller = await runSipp({scenarioXml: uacReferRefused([{referTo: '<sip:desk@127.0.0.1:5999>', status: 603, reason: 'Transfers Not Accepted'}]), target: gw.sip, service: '+12005550001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+12005550001')
    assert.deepEqual(transfersOf(end.call_sid).map(({result, sip_status}) => ({result, sip_status})), [{result: 'refused', sip_status: 603}])
  })

  it('answers bad REFERs clearly and bounds them per call; a NOTIFY for no subscription gets 481', async () => {
    const steps = [
      {status: 400, reason: 'Missing Refer-To'},
      {referTo: '<http://evil.example/x>', status: 416, reason: 'Unsupported Refer-To Scheme'},
      {referTo: '<sip:desk@127.0.0.1:5999;method=BYE>', status: 400, reason: 'Refer-To Method Not INVITE'},
      {referTo: '<sip:premium@198.51.100.7>', status: 403, reason: 'Transfer Target Not Allowed'},
      {referTo: '<tel:+14155550100>', status: 403, reason: 'No Route For Transfer Target'},
      {referTo: '<sip:desk@127.0.0.1:5999>', status: 403, reason: 'Too Many Transfer Requests'},
    ]
    const caller = await runSipp({scenarioXml: uacReferRefused(steps, true), target: gw.sip, service: '+11005550003'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+11005550003')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16, 'the call itself is unharmed')
    assert.deepEqual(transfersOf(end.call_sid).map(({sip_status, reason}) => `${sip_status} ${reason}`), ['403 Transfer Target Not Allowed', '403 No Route For Transfer Target'])
  })

  it('answers REFER and NOTIFY outside a dialog with 481', async () => {
    const peer = await UdpSipPeer.open()
    try {
      for (const method of ['REFER', 'NOTIFY']) {
        const callId = `stray-${method}-${Date.now()}`
        peer.send(gw.sip, [
          `${method} sip:gw@${gw.sip} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${method}${Date.now()}`,
          'Max-Forwards: 70',
          `From: <sip:stranger@127.0.0.1:${peer.port}>;tag=s1`,
          `To: <sip:gw@${gw.sip}>${method === 'NOTIFY' ? ';tag=unknown' : ''}`,
          `Call-ID: ${callId}`,
          `CSeq: 1 ${method}`,
          `Contact: <sip:stranger@127.0.0.1:${peer.port}>`,
          method === 'REFER' ? 'Refer-To: <sip:desk@127.0.0.1:5999>' : 'Event: refer;id=1\nSubscription-State: active',
          'Content-Length: 0',
          '',
          '',
        ].join('\n'))
        const answer = await peer.next(`the answer to the stray ${method}`, (message) => message.status !== undefined && message.header('Call-ID')[0] === callId)
        assert.equal(answer.status, 481, answer.text)
      }
    } finally {
      peer.close()
    }
  })
})

describe('a REFER the gateway sends', () => {
  it('the transfer node REFERs the caller to the number at its host; a 2xx sipfrag ends the call with a BYE', async () => {
    const caller = await runSipp({scenarioXml: uacReferred('^ *<sip:\\+14155550100@127\\.0\\.0\\.1:[0-9]+(;transport=UDP)?>', '200 OK'), target: gw.sip, service: '+13005550001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+13005550001')
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.deepEqual(transfersOf(end.call_sid).map(({refer, leg, result, sip_status}) => ({refer, leg, result, sip_status})), [{refer: 'sent', leg: 'a', result: 'completed', sip_status: 200}])
  })

  it('takes a failed transfer (486 sipfrag) to the node\'s `failed` edge', async () => {
    const caller = await runSipp({scenarioXml: uacReferred('sip:\\+14155550100@', '486 Busy Here'), target: gw.sip, service: '+13005550002'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+13005550002')
    assert.equal(end.q850_cause, 21, 'the fallback hangup ended it')
    assert.deepEqual(transfersOf(end.call_sid).map(({result, sip_status}) => ({result, sip_status})), [{result: 'failed', sip_status: 486}])
  })

  it('carries out an AI agent\'s transfer message within the tenant\'s destinations and tells the agent how it went', async () => {
    const caller = await runSipp({scenarioXml: uacReferred('^ *<sip:\\+14155550100@127\\.0\\.0\\.1:[0-9]+(;transport=UDP)?>', '200 OK'), target: gw.sip, service: '+14005550001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await gw.hangupOf('+14005550001')
    assert.equal(end.agent_id, 'concierge')
    assert.equal(end.q850_cause, 16)
    const replies = await waitFor('the agent\'s stop', () => (agentFrames.some((frame) => frame.event === 'stop') ? agentFrames.filter((frame) => frame.event === 'transfer').map((frame) => frame.transfer) : undefined))
    assert.deepEqual(replies.map((reply) => reply?.status), ['refused', 'refused', 'started', 'completed'])
    assert.match(replies[0]?.reason ?? '', /destinations/)
    assert.match(replies[1]?.reason ?? '', /sip:, sips: or tel:/)
    assert.equal(replies[3]?.sipStatus, 200)
    assert.match(replies[3]?.target ?? '', /^sip:\+14155550100@127\.0\.0\.1:\d+(;transport=UDP)?$/)
    assert.deepEqual(transfersOf(end.call_sid).map(({result, sip_status}) => ({result, sip_status})), [{result: 'refused', sip_status: 403}, {result: 'completed', sip_status: 200}])
  })
})
