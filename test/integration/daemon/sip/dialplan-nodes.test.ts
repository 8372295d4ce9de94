// The media nodes of the dialplan on real calls: play a tone, record the
// caller to a WAV, and stream the call to an AI agent over a WebSocket. SIPp
// is the caller; the agent is a WebSocket server in the test.
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'
import {WebSocketServer} from 'ws'
import {readWavFile} from '../../../../src/media/wav.js'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway} from '../../../helpers/gateway.js'
import {runSipp, uacAwaitingBye} from '../../../helpers/peers.js'

const gw = new TestGateway()
let agent: WebSocketServer | undefined
const agentFrames: Array<{event: string; [key: string]: unknown}> = []

const config = (agentPort: number) => `tenants:
  - { id: recorder, dialplan: tone-then-record }
  - { id: assistant, dialplan: to-agent }
trunks:
  - id: rec
    tenant: recorder
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1200*"] }
  - id: bot
    tenant: assistant
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1300*"] }
dialplans:
  tone-then-record:
    start: answer
    nodes:
      answer: { type: answer, next: tone }
      tone: { type: play, tone: { frequency_hz: 1000, duration_ms: 1000 }, next: record }
      record: { type: record, max_duration_s: 3, next: bye }
      bye: { type: hangup, cause: 16 }
  to-agent:
    start: agent
    nodes:
      agent: { type: agent, url: "ws://127.0.0.1:${agentPort}/voice", agent_id: support-bot, next: { completed: bye, failed: bye } }
      bye: { type: hangup, cause: 16 }
`

const hangupOf = (to: string) => gw.hangupOf(to)

before(async () => {
  const agentPort = await freePort()
  agent = new WebSocketServer({host: '127.0.0.1', port: agentPort})
  // The agent listens for two seconds, answers with one second of audio, then ends its part.
  agent.on('connection', (socket) => {
    socket.on('message', (data) => agentFrames.push(JSON.parse(data.toString()) as {event: string}))
    setTimeout(() => socket.send(JSON.stringify({event: 'media', media: {payload: Buffer.alloc(8000, 0x7f).toString('base64')}})), 2000)
    setTimeout(() => socket.close(), 3500)
  })
  await gw.start(config(agentPort))
})

after(async () => {
  agent?.close()
  await gw.stop()
})

describe('media nodes on real calls', () => {
  it('plays a tone, records the caller to a WAV under the home, and hangs up', async () => {
    const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gw.sip, service: '+12000000001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await hangupOf('+12000000001')
    assert.equal(end.status, 'completed')
    assert.ok(end.packets_sent >= 45 && end.packets_sent <= 60, `one second of tone: ${end.packets_sent} packets sent`)
    assert.match(end.recording_url, /^file:\/\/.*\/recordings\/CA[0-9a-f]{32}\.wav$/)
    const file = fileURLToPath(end.recording_url)
    assert.ok(file.startsWith(gw.home.dir), 'recordings live under the home directory')
    assert.ok(existsSync(file))
    const wav = readWavFile(file)
    const seconds = wav.samples.length / 8000
    assert.ok(seconds >= 2.5 && seconds <= 3.3, `about 3 s recorded, got ${seconds}`)
    assert.ok(end.duration_seconds >= 4 && end.duration_seconds <= 6, `tone + record: ${end.duration_seconds} s`)
  })

  it('streams the call to an AI agent: start, caller audio, agent audio to the caller, agent_id in the CDR', async () => {
    const caller = await runSipp({scenarioXml: uacAwaitingBye(), target: gw.sip, service: '+13000000001'})
    const {code, output} = await caller.done
    assert.equal(code, 0, output)
    const end = await hangupOf('+13000000001')
    assert.equal(end.agent_id, 'support-bot')
    assert.equal(end.status, 'completed')
    const start = agentFrames.find((frame) => frame.event === 'start') as {start: {callSid: string; mediaFormat: {encoding: string}}} | undefined
    assert.equal(start?.start.callSid, end.call_sid)
    assert.equal(start?.start.mediaFormat.encoding, 'audio/x-mulaw')
    const media = agentFrames.filter((frame) => frame.event === 'media')
    assert.ok(media.length >= 100, `caller audio reached the agent: ${media.length} frames`)
    assert.ok(end.packets_sent >= 45 && end.packets_sent <= 60, `the agent's second of audio was paced to the caller: ${end.packets_sent}`)
  })
})
