// agent: streams the call's audio both ways over a WebSocket to an AI agent,
// in the manner of Twilio Media Streams (JSON frames, base64 µ-law at 8 kHz,
// start / media / dtmf / mark / stop events). The agent ends its part by
// closing the socket (outcome `completed`); a connection that fails before the
// stream starts gives `failed`. The agent may ask for a transfer (a
// `transfer` message, docs/agent-stream.md): within the tenant's transfer
// destinations, the caller is handed on with a REFER (transfer.ts).
import {randomBytes} from 'node:crypto'
import WebSocket from 'ws'
import type {DialplanCall} from '../call-context.js'
import type {NodeHandler} from '../executor.js'
import {destinationAllowed, transferTarget, type TransferTarget} from '../../calls/transfer-policy.js'
import type {TransferTargetSpec} from '../../calls/leg.js'
import {AgentPacer} from './agent-pacer.js'
import {transferCall} from './transfer.js'

const HANDSHAKE_TIMEOUT_MS = 5000

interface AgentMessage {
  readonly event?: string
  readonly media?: {readonly payload?: string}
  readonly mark?: {readonly name?: string}
  readonly transfer?: {readonly to?: unknown; readonly uri?: unknown}
}

const NUMBER = /^\+?[0-9*#]{1,32}$/

/** The target of an agent's `transfer` message and what the policy matches, or why it is refused. */
export const agentTransferTarget = (request: AgentMessage['transfer']): {spec: TransferTargetSpec; target: TransferTarget} | {refused: string} => {
  const to = request?.to
  const uri = request?.uri
  if ((to === undefined) === (uri === undefined)) return {refused: 'give exactly one of to and uri'}
  if (to !== undefined) {
    if (typeof to !== 'string' || !NUMBER.test(to)) return {refused: 'to must be a number: digits, * and # with an optional leading +'}
    return {spec: {number: to}, target: {uri: to, bare: `tel:${to}`, number: to, kind: 'tel'}}
  }
  const target = typeof uri === 'string' && uri.length <= 1024 ? transferTarget(uri) : undefined
  if (target === undefined) return {refused: 'uri must be a sip:, sips: or tel: URI'}
  return {spec: {uri: target.uri}, target}
}

export const agentNode: NodeHandler<'agent', DialplanCall> = async (node, ctx) => {
  const {call, leg} = ctx
  call.setAgentId(node.agent_id)
  if (!call.isAnswered) await leg.answer()
  const streamSid = `MZ${randomBytes(16).toString('hex')}`
  const startedAt = Date.now()
  let sequenceNumber = 0
  const socket = new WebSocket(node.url, {handshakeTimeout: HANDSHAKE_TIMEOUT_MS})
  const send = (message: Record<string, unknown>) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({...message, sequenceNumber: String((sequenceNumber += 1)), streamSid}))
  }

  return new Promise<string>((resolve) => {
    let opened = false
    let pacer: AgentPacer | undefined
    const finish = (outcome: string) => {
      pacer?.stop()
      leg.media.silence()
      if (socket.readyState === WebSocket.OPEN) {
        send({event: 'stop', stop: {callSid: call.sid}})
        socket.close(1000)
      } else if (socket.readyState === WebSocket.CONNECTING) socket.terminate()
      resolve(outcome)
    }
    void call.ended.then(() => finish('completed'))

    socket.on('open', () => {
      opened = true
      ctx.log.info({agent_id: node.agent_id, url: node.url}, 'agent stream started')
      send({event: 'connected', protocol: 'Call', version: '1.0.0'})
      send({
        event: 'start',
        start: {
          streamSid,
          callSid: call.sid,
          accountSid: call.init.tenant,
          tracks: ['inbound'],
          customParameters: {agent_id: node.agent_id, from: call.init.from, to: call.init.to, tenant: call.init.tenant},
          mediaFormat: {encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1},
        },
      })
      const sendToCaller = leg.media.tap((ulaw) =>
        send({event: 'media', media: {track: 'inbound', chunk: String(sequenceNumber), timestamp: String(Date.now() - startedAt), payload: ulaw.toString('base64')}}),
      )
      pacer = new AgentPacer(sendToCaller, (name) => send({event: 'mark', mark: {name}}))
      leg.media.onDtmf((digit) => send({event: 'dtmf', dtmf: {track: 'inbound_track', digit}}))
    })
    socket.on('message', (data) => {
      let message: AgentMessage
      try {
        message = JSON.parse(data.toString()) as AgentMessage
      } catch {
        ctx.log.warn('agent sent a frame that is not JSON; ignored')
        return
      }
      if (message.event === 'media' && typeof message.media?.payload === 'string') pacer?.push(Buffer.from(message.media.payload, 'base64'))
      else if (message.event === 'mark' && typeof message.mark?.name === 'string') pacer?.mark(message.mark.name)
      else if (message.event === 'clear') pacer?.clear()
      else if (message.event === 'transfer') void transfer(message.transfer)
    })

    // One transfer at a time; the tenant's destinations bound where an agent (and whoever talks it round) may send the call.
    let transferring = false
    const transfer = async (request: AgentMessage['transfer']): Promise<void> => {
      const reply = (body: Record<string, unknown>): void => send({event: 'transfer', transfer: body})
      const parsed = agentTransferTarget(request)
      if ('refused' in parsed) return reply({status: 'refused', reason: parsed.refused})
      if (transferring) return reply({status: 'refused', reason: 'a transfer is already in progress', target: parsed.target.uri})
      if (!destinationAllowed(ctx.transferPolicy?.destinations ?? [], parsed.target)) {
        call.transferEvent({refer: 'sent', leg: 'a', target: parsed.target.uri, result: 'refused', sip_status: 403, reason: 'Transfer Target Not Allowed'})
        return reply({status: 'refused', reason: 'the tenant\'s transfer destinations do not include this target', target: parsed.target.uri})
      }
      transferring = true
      reply({status: 'started', target: parsed.target.uri})
      ctx.log.info({agent_id: node.agent_id, target: parsed.target.uri}, 'agent asked for a transfer')
      const result = await transferCall(ctx, parsed.spec, ctx.transferPolicy?.timeout_s ?? 30, (outcome) =>
        reply({status: outcome.ok ? 'completed' : 'failed', target: outcome.target, sipStatus: outcome.status, reason: outcome.reason}),
      )
      transferring = false
      if (result.ok) finish('transferred')
    }
    socket.on('close', () => finish(opened ? 'completed' : 'failed'))
    socket.on('error', (error) => {
      ctx.log.warn({err: error, url: node.url}, 'agent connection failed')
      finish(opened ? 'completed' : 'failed')
    })
  })
}
