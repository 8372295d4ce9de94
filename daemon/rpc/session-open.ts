// The trace of `session.open` (method id 0): how an SDK client's session
// begins on any transport (the WebRTC offer, the first request of a QUIC
// connection). Its `jwt.validate` is the full signature check; `rpc.parse` is
// reading what the client sent. Published like every RPC's steps (activity.ts):
// one `rpc.begin` (once the steps that ran are known), one `rpc.end`.
import {toCCError} from '../../src/errors.js'
import type {RpcActivity, RpcStep, RpcTransport} from './activity.js'

export class SessionOpenTrace {
  private readonly rpcId: number
  private readonly start = Date.now()
  private readonly steps: {jwt?: RpcStep; parse?: RpcStep} = {}
  private begun = false
  private ended = false
  /** The tenant of the token, once it verified (the span's `tenant.id`). */
  tenant = ''

  constructor(
    private readonly activity: RpcActivity,
    private readonly transport: RpcTransport,
  ) {
    this.rpcId = activity.newRpcId()
  }

  /** Runs one step, timing it and keeping its error. */
  async timed<T>(name: 'jwt' | 'parse', work: () => Promise<T> | T): Promise<T> {
    const stepStart = Date.now()
    try {
      const value = await work()
      this.steps[name] = {start_ms: stepStart, end_ms: Date.now()}
      return value
    } catch (error) {
      this.steps[name] = {start_ms: stepStart, end_ms: Date.now(), error: error instanceof Error ? error.message : String(error)}
      throw error
    }
  }

  /** Publishes the `rpc.begin` with the steps so far (once). */
  begin(): void {
    if (this.begun) return
    this.begun = true
    this.activity.publish({kind: 'rpc.begin', rpc_id: this.rpcId, method_id: 0, method: 'session.open', transport: this.transport, tenant_id: this.tenant, start_ms: this.start, ...this.steps, context: {}})
  }

  succeeded(): void {
    this.begin()
    if (this.ended) return
    this.ended = true
    this.activity.publish({kind: 'rpc.end', rpc_id: this.rpcId, end_ms: Date.now()})
  }

  /** Refused or failed: the trace still shows which step refused it. `code` overrides the error's registry code (`HTTP_415`). */
  failed(error: unknown, code?: string): void {
    this.begin()
    if (this.ended) return
    this.ended = true
    this.activity.publish({kind: 'rpc.end', rpc_id: this.rpcId, end_ms: Date.now(), error_code: code ?? toCCError(error).code, error_message: error instanceof Error ? error.message : String(error)})
  }
}
