import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {Dialplan} from '../../../../src/config/schema.js'
import {MAX_NODES_PER_CALL, nextNodeId, runDialplan, type ExecutableCall, type NodeHandlers} from '../../../../daemon/dialplan/executor.js'

class FakeCall implements ExecutableCall {
  hangupCause: number | undefined
  private endCall: () => void = () => {}
  readonly ended = new Promise<void>((resolve) => (this.endCall = resolve))
  isEnded(): boolean {
    return this.hangupCause !== undefined
  }
  async hangup(cause: number): Promise<void> {
    this.hangupCause ??= cause
    this.endCall()
  }
}

/** Handlers that return scripted outcomes and record what ran. */
const scripted = (outcomes: Record<string, string>, ran: string[]): NodeHandlers<FakeCall> => {
  const run = (type: string) => async (_node: unknown, call: FakeCall, nodeId: string) => {
    ran.push(nodeId)
    if (type === 'hangup') await call.hangup((_node as {cause: number}).cause)
    return outcomes[nodeId] ?? 'completed'
  }
  return {answer: run('answer'), echo: run('echo'), play: run('play'), record: run('record'), bridge: run('bridge'), agent: run('agent'), transfer: run('transfer'), hangup: run('hangup')}
}

const PLAN: Dialplan = {
  start: 'answer',
  nodes: {
    answer: {type: 'answer', next: 'agent'},
    agent: {type: 'agent', url: 'wss://a.example/', agent_id: 'bot', next: {completed: 'bye', failed: 'fallback'}},
    fallback: {type: 'bridge', trunk: 't', timeout_s: 30, next: {answered: 'bye', busy: 'busy-tone', default: 'bye'}},
    'busy-tone': {type: 'play', tone: {frequency_hz: 480, duration_ms: 500}},
    bye: {type: 'hangup', cause: 16},
  },
}

describe('runDialplan', () => {
  it('follows string edges and outcome edges to a hangup node', async () => {
    const ran: string[] = []
    const call = new FakeCall()
    const result = await runDialplan(PLAN, call, scripted({agent: 'completed'}, ran))
    assert.deepEqual(ran, ['answer', 'agent', 'bye'])
    assert.deepEqual(result.path, ['answer', 'agent', 'bye'])
    assert.equal(call.hangupCause, 16)
  })

  it('takes the outcome edge, then the default edge for an outcome it does not name', async () => {
    const ran: string[] = []
    await runDialplan(PLAN, new FakeCall(), scripted({agent: 'failed', fallback: 'no-answer'}, ran))
    assert.deepEqual(ran, ['answer', 'agent', 'fallback', 'bye'])
  })

  it('hangs up with cause 16 when the plan runs out of edges', async () => {
    const ran: string[] = []
    const call = new FakeCall()
    await runDialplan(PLAN, call, scripted({agent: 'failed', fallback: 'busy'}, ran))
    assert.deepEqual(ran, ['answer', 'agent', 'fallback', 'busy-tone'])
    assert.equal(call.hangupCause, 16)
  })

  it('stops walking when the call ends during a node', async () => {
    const call = new FakeCall()
    const ran: string[] = []
    const handlers = scripted({}, ran)
    handlers.agent = async () => {
      ran.push('agent')
      setTimeout(() => void call.hangup(31), 5)
      return new Promise<string>(() => {})
    }
    const finished: string[] = []
    const result = await runDialplan(PLAN, call, handlers, {nodeFinished: (id, _node, outcome) => finished.push(`${id}:${outcome}`)})
    assert.deepEqual(result.path, ['answer', 'agent'])
    assert.deepEqual(finished, ['answer:completed', 'agent:hangup'])
    assert.equal(call.hangupCause, 31)
  })

  it('a plan that loops ends after MAX_NODES_PER_CALL nodes', async () => {
    const loop: Dialplan = {start: 'a', nodes: {a: {type: 'echo', next: 'b'}, b: {type: 'echo', next: 'a'}}}
    const ran: string[] = []
    const call = new FakeCall()
    await runDialplan(loop, call, scripted({}, ran))
    assert.equal(ran.length, MAX_NODES_PER_CALL)
    assert.equal(call.hangupCause, 16)
  })

  it('nextNodeId', () => {
    assert.equal(nextNodeId({type: 'answer', next: 'x'}, 'whatever'), 'x')
    assert.equal(nextNodeId({type: 'answer'}, 'completed'), undefined)
    assert.equal(nextNodeId({type: 'echo', next: {completed: 'y'}}, 'failed'), undefined)
  })
})
