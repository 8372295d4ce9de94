import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import pino from 'pino'
import {WebSocketServer, type WebSocket} from 'ws'
import {Call} from '../../../../../daemon/calls/call.js'
import type {DialRequest, DialResult, Dialer} from '../../../../../daemon/calls/leg.js'
import {CallRegistry} from '../../../../../daemon/calls/registry.js'
import {dialplanCall, type DialplanCall} from '../../../../../daemon/dialplan/call-context.js'
import {agentNode} from '../../../../../daemon/dialplan/nodes/agent.js'
import {recordNode} from '../../../../../daemon/dialplan/nodes/basic.js'
import {bridgeNode} from '../../../../../daemon/dialplan/nodes/bridge.js'
import {FakeLeg} from '../../../../helpers/fake-leg.js'

const silent = pino({level: 'silent'})

const setup = (dialer: Dialer = {dial: async () => ({outcome: 'failed', cause: 41})}) => {
  const registry = new CallRegistry()
  const call = new Call({tenant: 'acme', trunk: 'none', direction: 'inbound', from: '+1555', to: '+1666', sipCallId: 'c@h'}, registry, silent)
  const leg = new FakeLeg(() => call.answered('PCMU'))
  call.onHangupRequest(async (cause) => {
    await leg.hangup(cause)
    call.finish({cause, status: 'completed'})
  })
  const recordingsDir = mkdtempSync(join(tmpdir(), 'cc-rec-'))
  const ctx: DialplanCall = dialplanCall(call, leg, {dialer, recordingsDir})
  return {call, leg, ctx, cleanup: () => rmSync(recordingsDir, {recursive: true, force: true})}
}

describe('bridge node', () => {
  it('returns the dial outcome when the B-leg is not answered', async () => {
    const {ctx, cleanup} = setup({dial: async () => ({outcome: 'busy', cause: 17})})
    assert.equal(await bridgeNode({type: 'bridge', trunk: 't', timeout_s: 5}, ctx, 'b'), 'busy')
    cleanup()
  })

  it('answers the caller, relays media, and hangs up the B-leg when the caller leaves', async () => {
    const bLeg = new FakeLeg()
    let request: DialRequest | undefined
    const {ctx, leg, call, cleanup} = setup({dial: async (r): Promise<DialResult> => ((request = r), {outcome: 'answered', leg: bLeg, cause: 16})})
    const running = bridgeNode({type: 'bridge', uri: 'sip:b@127.0.0.1', to: '+1777', timeout_s: 5}, ctx, 'b')
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(request?.to, '+1777')
    assert.equal(request?.callSid, call.sid)
    assert.equal(leg.answers, 1)
    assert.equal(leg.media.relayedWith, bLeg.media)
    leg.end(16)
    assert.equal(await running, 'answered')
    assert.equal(bLeg.hangupCause, 16)
    cleanup()
  })

  it('when the B-leg hangs up first, the caller stays for the next node', async () => {
    const bLeg = new FakeLeg()
    const {ctx, leg, cleanup} = setup({dial: async () => ({outcome: 'answered', leg: bLeg, cause: 16})})
    const running = bridgeNode({type: 'bridge', trunk: 't', timeout_s: 5}, ctx, 'b')
    await new Promise((resolve) => setImmediate(resolve))
    bLeg.end(16)
    assert.equal(await running, 'answered')
    assert.equal(leg.hangupCause, undefined)
    assert.equal(leg.media.mode, 'silence')
    cleanup()
  })
})

describe('record node', () => {
  it('records to a WAV named after the call and sets recording_url', async () => {
    const {ctx, call, leg, cleanup} = setup()
    assert.equal(await recordNode({type: 'record', max_duration_s: 0.05}, ctx, 'r'), 'completed')
    assert.equal(leg.media.recordedTo, join(ctx.recordingsDir, `${call.sid}.wav`))
    call.finish({cause: 16, status: 'completed'})
    assert.equal((await call.ended).recording_url, `file://${join(ctx.recordingsDir, `${call.sid}.wav`)}`)
    cleanup()
  })
})

describe('agent node', () => {
  const agentServer = async (onConnection: (socket: WebSocket, messages: any[]) => void) => {
    const server = new WebSocketServer({host: '127.0.0.1', port: 0})
    await new Promise((resolve) => server.once('listening', resolve))
    server.on('connection', (socket) => {
      const messages: any[] = []
      socket.on('message', (data) => messages.push(JSON.parse(data.toString())))
      onConnection(socket, messages)
    })
    return {server, url: `ws://127.0.0.1:${(server.address() as {port: number}).port}/voice`}
  }

  it('streams caller audio and DTMF to the agent, paces agent audio to the caller, returns marks, ends when the agent closes', async () => {
    let agentMessages: any[] = []
    let agentSocket: WebSocket | undefined
    const {server, url} = await agentServer((socket, messages) => {
      agentSocket = socket
      agentMessages = messages
    })
    const {ctx, call, leg, cleanup} = setup()
    const running = agentNode({type: 'agent', url, agent_id: 'support-bot'}, ctx, 'a')
    while (!agentSocket || agentMessages.length < 2) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.deepEqual(agentMessages.map((message) => message.event), ['connected', 'start'])
    const start = agentMessages[1]
    assert.equal(start.start.callSid, call.sid)
    assert.deepEqual(start.start.mediaFormat, {encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1})
    assert.equal(start.start.customParameters.agent_id, 'support-bot')

    leg.media.receive(Buffer.alloc(160, 0x55))
    leg.media.pressKey('7')
    // 3.5 frames of agent audio in one burst, then a mark after it.
    agentSocket.send(JSON.stringify({event: 'media', media: {payload: Buffer.alloc(560, 0x11).toString('base64')}}))
    agentSocket.send(JSON.stringify({event: 'mark', mark: {name: 'greeting-done'}}))
    while (!agentMessages.some((message) => message.event === 'mark')) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.equal(leg.media.sentFrames.length, 4, '560 bytes become 4 frames of 160, the last padded with silence')
    assert.equal(leg.media.sentFrames[3]?.[79], 0x11)
    assert.equal(leg.media.sentFrames[3]?.[80], 0xff)
    assert.equal(leg.media.sentFrames[3]?.[159], 0xff)
    const media = agentMessages.find((message) => message.event === 'media')
    assert.equal(Buffer.from(media.media.payload, 'base64').length, 160)
    assert.equal(agentMessages.find((message) => message.event === 'dtmf')?.dtmf.digit, '7')
    assert.equal(agentMessages.find((message) => message.event === 'mark')?.mark.name, 'greeting-done')

    agentSocket.close()
    assert.equal(await running, 'completed')
    call.finish({cause: 16, status: 'completed'})
    assert.equal((await call.ended).agent_id, 'support-bot')
    server.close()
    cleanup()
  })

  it('an agent that cannot be reached gives the failed outcome', async () => {
    const {server, url} = await agentServer(() => {})
    server.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const {ctx, cleanup} = setup()
    assert.equal(await agentNode({type: 'agent', url, agent_id: 'bot'}, ctx, 'a'), 'failed')
    cleanup()
  })
})
