import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pino from 'pino'
import {RpcActivity, type RpcBegin, type RpcEnd, type RpcStage} from '../../../../daemon/rpc/activity.js'
import type {JwtVerifier, RpcPrincipal} from '../../../../daemon/rpc/jwt.js'
import {RpcSession, type RpcHandlers} from '../../../../daemon/rpc/session.js'
import {CCError} from '../../../../src/errors.js'
import {decodeFrame, encodeFrame, type RpcFrame} from '../../../../src/rpc/protocol.js'

const SID = `CA${'b'.repeat(32)}`
const principal: RpcPrincipal = {tenant: 'acme', subject: 'client', expiresAtMs: undefined, notBeforeMs: undefined}

/** A session over fake handlers and a verifier whose token is valid until `expired` is set. */
const harness = (overrides: Partial<RpcHandlers> = {}) => {
  const sent: RpcFrame[] = []
  const stages: RpcStage[] = []
  const activity = new RpcActivity()
  activity.on('rpc', (stage) => {
    stages.push(stage)
    // A tracing subscriber fills the carrier synchronously.
    if (stage.kind === 'rpc.begin') stage.context.traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`
  })
  const state = {expired: false, seenCarrier: undefined as Record<string, string> | undefined}
  const verifier = {
    assertStillValid: () => {
      if (state.expired) throw new CCError('CC_ERR_RPC_UNAUTHENTICATED', {reason: 'token expired at 2026-01-01T00:00:00.000Z'})
    },
  } as unknown as JwtVerifier
  const handlers: RpcHandlers = {
    'call.create': async (_params, context) => {
      state.seenCarrier = {...context.carrier}
      context.concerns(SID)
      context.sendEvent({type: 'CHANNEL_CREATE', call_sid: SID})
      return {call_sid: SID}
    },
    'call.hangup': async (params) => {
      throw new CCError('CC_ERR_CALL_NOT_FOUND', {call_sid: params.call_sid})
    },
    'call.dtmf': async () => ({}),
    'events.subscribe': async () => ({subscribed: true}),
    ...overrides,
  }
  const session = new RpcSession({principal, transport: 'webrtc', verifier, activity, handlers, send: (frame) => sent.push(decodeFrame(frame)) > 0, log: pino({level: 'silent'})})
  return {session, sent, stages, state}
}

const request = (methodId: number, requestId: number, payload: Record<string, unknown>) => encodeFrame({kind: 'request', methodId, requestId, payload})

describe('RpcSession', () => {
  it('answers a request with its request id, sends its events first, and publishes its steps with the call it concerns', async () => {
    const {session, sent, stages, state} = harness()
    await session.receive(request(1, 77, {to: 'sip:bob@example.test'}))
    assert.deepEqual(
      sent.map((frame) => [frame.kind, frame.methodId, frame.requestId]),
      [
        ['event', 1, 77],
        ['response', 1, 77],
      ],
    )
    assert.deepEqual(sent[1]?.payload, {call_sid: SID})
    const begin = stages[0] as RpcBegin
    const end = stages[1] as RpcEnd
    assert.equal(begin.kind, 'rpc.begin')
    assert.equal(begin.method, 'call.create')
    assert.equal(begin.method_id, 1)
    assert.equal(begin.tenant_id, 'acme')
    assert.equal(begin.transport, 'webrtc')
    assert.equal(begin.parse?.error, undefined)
    assert.equal(begin.jwt?.error, undefined)
    assert.ok((begin.parse?.start_ms ?? 0) <= (begin.parse?.end_ms ?? -1))
    assert.equal(end.rpc_id, begin.rpc_id)
    assert.equal(end.call_sid, SID)
    assert.equal(end.error_code, undefined)
    // The handler got the trace context the subscriber put in the carrier: a call it creates continues the RPC's trace.
    assert.match(state.seenCarrier?.traceparent ?? '', /^00-1{32}-2{16}-01$/)
  })

  it('answers a handler error with an error frame carrying the registry code', async () => {
    const {session, sent, stages} = harness()
    await session.receive(request(2, 5, {call_sid: SID}))
    assert.equal(sent[0]?.kind, 'error')
    assert.equal(sent[0]?.requestId, 5)
    assert.equal(sent[0]?.payload.code, 'CC_ERR_CALL_NOT_FOUND')
    assert.match(String(sent[0]?.payload.message), new RegExp(SID))
    assert.equal((stages[1] as RpcEnd).error_code, 'CC_ERR_CALL_NOT_FOUND')
  })

  it('answers a bad payload with the request id it carried, and a short frame with request id 0; the parse step fails', async () => {
    const {session, sent, stages} = harness()
    const bad = Buffer.concat([request(1, 9, {}).subarray(0, 10), Buffer.from('{oops')])
    await session.receive(bad)
    await session.receive(Buffer.from([1]))
    assert.deepEqual(
      sent.map((frame) => [frame.kind, frame.requestId, frame.payload.code]),
      [
        ['error', 9, 'CC_ERR_RPC_BAD_FRAME'],
        ['error', 0, 'CC_ERR_RPC_BAD_FRAME'],
      ],
    )
    const begins = stages.filter((stage): stage is RpcBegin => stage.kind === 'rpc.begin')
    assert.match(begins[0]?.parse?.error ?? '', /not JSON/)
    assert.equal(begins[0]?.method_id, 1)
    assert.equal(begins[1]?.method_id, undefined)
  })

  it('refuses unknown methods, responses sent as requests, and bad params without calling a handler', async () => {
    let called = 0
    const {session, sent} = harness({'call.dtmf': async () => ({called: ++called})})
    await session.receive(request(42, 1, {}))
    await session.receive(request(0, 2, {}))
    await session.receive(encodeFrame({kind: 'response', methodId: 3, requestId: 3, payload: {}}))
    await session.receive(request(3, 4, {call_sid: SID, digits: 'x'}))
    assert.deepEqual(
      sent.map((frame) => frame.payload.code),
      ['CC_ERR_RPC_UNKNOWN_METHOD', 'CC_ERR_RPC_UNKNOWN_METHOD', 'CC_ERR_RPC_BAD_FRAME', 'CC_ERR_RPC_INVALID_PARAMS'],
    )
    assert.match(String(sent[0]?.payload.message), /42/)
    assert.equal(called, 0)
  })

  it('refuses every request once the session token has expired, and records the failed jwt step', async () => {
    const {session, sent, stages, state} = harness()
    state.expired = true
    await session.receive(request(4, 1, {}))
    assert.equal(sent[0]?.payload.code, 'CC_ERR_RPC_UNAUTHENTICATED')
    assert.match(String(sent[0]?.payload.message), /token expired/)
    assert.match((stages[0] as RpcBegin).jwt?.error ?? '', /token expired/)
  })

  it('answers on the channel a request came with (a QUIC stream), hands the handler its end, and sendEvent says when the client can no longer get events', async () => {
    let seen: {closed: Promise<void> | undefined; delivered: boolean[]} = {closed: undefined, delivered: []}
    let sendEvent: ((payload: Record<string, unknown>) => boolean) | undefined
    const {session, sent} = harness({
      'events.subscribe': async (_params, context) => {
        seen = {closed: context.replyClosed, delivered: [context.sendEvent({n: 1})]}
        sendEvent = (payload) => context.sendEvent(payload)
        return {subscribed: true}
      },
    })
    const onStream: RpcFrame[] = []
    let open = true
    const closed = Promise.resolve()
    await session.receive(request(4, 8, {}), {send: (frame) => open && onStream.push(decodeFrame(frame)) > 0, closed})
    assert.equal(sent.length, 0, 'nothing on the session channel')
    assert.deepEqual(onStream.map((frame) => [frame.kind, frame.requestId]), [['event', 8], ['response', 8]])
    assert.equal(seen.closed, closed)
    assert.deepEqual(seen.delivered, [true])
    open = false
    assert.equal(sendEvent?.({n: 2}), false)
  })
})
