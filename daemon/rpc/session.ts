// One SDK client's RPC session, whatever carries its frames (a WebRTC
// DataChannel, QUIC streams): parse each frame, re-check the client's token,
// route by method_id, answer with a response or error frame carrying the
// request id, and publish each RPC's steps for tracing.
import type {Logger} from 'pino'
import {CCError, toCCError} from '../../src/errors.js'
import {decodeFrame, encodeFrame, knownMethodIds, parseRpcParams, rpcMethodName, RpcFrameError, type RpcErrorPayload, type RpcFrame, type RpcMethodName, type RpcParams} from '../../src/rpc/protocol.js'
import type {HeaderCarrier} from '../calls/stage-events.js'
import type {RpcActivity, RpcStep, RpcTransport} from './activity.js'
import type {JwtVerifier, RpcPrincipal} from './jwt.js'

/** What a method handler gets besides its params. */
export interface RpcContext {
  readonly principal: RpcPrincipal
  readonly requestId: number
  /** The RPC's trace context (filled when tracing is on): a call the RPC creates continues its trace. */
  readonly carrier: HeaderCarrier
  /** Names the call the RPC concerns (the span attribute `call.sid`). */
  concerns(callSid: string): void
  /** Sends an `event` frame for this request (events.subscribe); false once the client can no longer get it. */
  sendEvent(payload: Record<string, unknown>): boolean
  /** Resolves when this request's channel ends before the session does (a QUIC stream closed): what it subscribed to ends then. */
  readonly replyClosed: Promise<void> | undefined
}

/** Where one request's answer and events go. */
export interface RpcReplyChannel {
  /** Sends one frame; false when the channel is gone. */
  send(frame: Buffer): boolean
  /** Resolves when nothing more can be sent on it (a QUIC stream that ended); absent when it lives as long as the session. */
  readonly closed?: Promise<void>
}

export type RpcHandlers = {
  readonly [M in Exclude<RpcMethodName, 'session.open'>]: (params: RpcParams<M>, context: RpcContext) => Promise<object>
}

export interface RpcSessionOptions {
  readonly principal: RpcPrincipal
  readonly transport: RpcTransport
  readonly verifier: JwtVerifier
  readonly activity: RpcActivity
  readonly handlers: RpcHandlers
  /** Sends one frame to the client; false when the channel is gone. A transport that answers each request on its own stream passes that stream's sender to `receive` instead. */
  readonly send: (frame: Buffer) => boolean
  readonly log: Logger
}

const step = (start: number, error?: unknown): RpcStep => ({start_ms: start, end_ms: Date.now(), ...(error === undefined ? {} : {error: error instanceof Error ? error.message : String(error)})})

export class RpcSession {
  constructor(private readonly options: RpcSessionOptions) {}

  /**
   * Handles one received frame; never throws (a bad frame is answered, not fatal to the session).
   * `channel` carries this request's answer and events (the QUIC stream it came on); the session's `send` when absent.
   */
  async receive(data: Uint8Array, channel?: RpcReplyChannel): Promise<void> {
    const {activity, principal, verifier, transport} = this.options
    const reply = channel ? (frame: Buffer) => channel.send(frame) : this.options.send
    const start = Date.now()
    const rpcId = activity.newRpcId()
    let frame: RpcFrame | undefined
    let parseError: CCError | undefined
    try {
      frame = decodeFrame(data)
      if (frame.kind !== 'request') throw new RpcFrameError(`a client sends request frames, not ${frame.kind}`, frame.methodId, frame.requestId)
    } catch (error) {
      parseError = toCCError(error)
    }
    const parse = step(start, parseError)
    const methodId = frame?.methodId ?? (parseError instanceof RpcFrameError ? parseError.methodId : undefined)
    const requestId = frame?.requestId ?? (parseError instanceof RpcFrameError ? parseError.requestId : 0)
    const method = methodId === undefined ? undefined : rpcMethodName(methodId)
    const jwtStart = Date.now()
    let authError: CCError | undefined
    try {
      verifier.assertStillValid(principal)
    } catch (error) {
      authError = toCCError(error)
    }
    const carrier: HeaderCarrier = {}
    activity.publish({kind: 'rpc.begin', rpc_id: rpcId, method_id: methodId, method: method ?? 'unknown', transport, tenant_id: principal.tenant, start_ms: start, parse, jwt: step(jwtStart, authError), context: carrier})
    let callSid: string | undefined
    try {
      if (parseError) throw parseError
      if (authError) throw authError
      if (!frame || method === undefined || method === 'session.open') throw new CCError('CC_ERR_RPC_UNKNOWN_METHOD', {method_id: methodId ?? 'none', known: knownMethodIds()})
      const context: RpcContext = {
        principal,
        requestId,
        carrier,
        concerns: (sid) => (callSid = sid),
        sendEvent: (payload) => reply(encodeFrame({kind: 'event', methodId: frame?.methodId ?? 0, requestId, payload})),
        replyClosed: channel?.closed,
      }
      const result = await this.dispatch(method, frame.payload, context)
      reply(encodeFrame({kind: 'response', methodId: frame.methodId, requestId, payload: result as Record<string, unknown>}))
      activity.publish({kind: 'rpc.end', rpc_id: rpcId, end_ms: Date.now(), ...(callSid === undefined ? {} : {call_sid: callSid})})
    } catch (error) {
      const failure = toCCError(error)
      if (failure.code === 'CC_ERR_INTERNAL') this.options.log.error({err: error, method}, 'SDK request failed')
      const payload: RpcErrorPayload = {code: failure.code, message: failure.message, hint: failure.hint}
      reply(encodeFrame({kind: 'error', methodId: methodId ?? 0, requestId, payload: {...payload}}))
      activity.publish({kind: 'rpc.end', rpc_id: rpcId, end_ms: Date.now(), error_code: failure.code, error_message: failure.message, ...(callSid === undefined ? {} : {call_sid: callSid})})
    }
  }

  private dispatch(method: Exclude<RpcMethodName, 'session.open'>, payload: unknown, context: RpcContext): Promise<object> {
    // parseRpcParams checked the payload against this method's own schema, so its handler takes the result.
    const handler = this.options.handlers[method] as (params: unknown, context: RpcContext) => Promise<object>
    return handler(parseRpcParams(method, payload), context)
  }
}
