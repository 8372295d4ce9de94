// What SDK RPCs went through, published for sinks (tracing) the way calls
// publish their stages: the RPC code never calls a sink. One `rpc.begin` when
// a request has been parsed and its token checked, one `rpc.end` when it has
// been answered.
import {EventEmitter} from 'node:events'
import type {HeaderCarrier} from '../calls/stage-events.js'

/** The SDK transports of DESIGN §7: `webrtc` (docs/sdk-rpc.md) and `quic` (docs/quic.md) exist; `webtransport` is named for traces to come. */
export type RpcTransport = 'webrtc' | 'quic' | 'webtransport'

export interface RpcStep {
  readonly start_ms: number
  readonly end_ms: number
  /** Why the step failed, when it did. */
  readonly error?: string
}

export interface RpcBegin {
  readonly kind: 'rpc.begin'
  readonly rpc_id: number
  /** Undefined when the frame was too broken to carry one. */
  readonly method_id: number | undefined
  readonly method: string
  readonly transport: RpcTransport
  readonly tenant_id: string
  /** When the request arrived. */
  readonly start_ms: number
  /** Absent when the request was refused before that step. */
  readonly parse?: RpcStep
  readonly jwt?: RpcStep
  /** Filled in (synchronously) by a subscriber that traces RPCs: the RPC's `traceparent`, which a call it creates continues. */
  readonly context: HeaderCarrier
}

export interface RpcEnd {
  readonly kind: 'rpc.end'
  readonly rpc_id: number
  readonly end_ms: number
  readonly call_sid?: string
  /** The CC_ERR_* code the client was answered with, when it failed. */
  readonly error_code?: string
  readonly error_message?: string
}

export type RpcStage = RpcBegin | RpcEnd

export class RpcActivity extends EventEmitter<{rpc: [RpcStage]}> {
  private nextId = 1

  /** A process-wide id tying an `rpc.begin` to its `rpc.end`. */
  newRpcId(): number {
    return this.nextId++
  }

  publish(stage: RpcStage): void {
    this.emit('rpc', stage)
  }
}
