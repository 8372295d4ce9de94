// The main thread's side of one media shard: the worker thread, requests
// matched to their replies, and the detection of a shard that died (an
// uncaught exception or an exit nobody asked for). Everything a shard sends
// besides replies goes out as 'event' for the engine to route.
import {EventEmitter} from 'node:events'
import {Worker} from 'node:worker_threads'
import {type Batched, MessageBatcher, unbatch} from './message-batch.js'
import type {ReplyResults, RequestType, ShardCommand, ShardErrorCode, ShardEvent, ShardInit} from './protocol.js'

/** A request failed in the shard (the shard itself is fine). */
export class ShardReplyError extends Error {
  constructor(
    readonly code: ShardErrorCode,
    message: string,
  ) {
    super(message)
    this.name = 'ShardReplyError'
  }
}

/** The shard died, did not start, or did not answer in time. */
export class ShardFailedError extends Error {
  constructor(
    readonly shard: number,
    message: string,
    options?: {cause?: unknown},
  ) {
    super(`media shard ${shard}: ${message}`, options)
    this.name = 'ShardFailedError'
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
export type ShardRequest = DistributiveOmit<Extract<ShardCommand, {requestId: number}>, 'requestId'>

interface Pending {
  readonly resolve: (result: never) => void
  readonly reject: (error: Error) => void
  readonly timer: NodeJS.Timeout
}

export interface ShardClientEvents {
  event: [event: ShardEvent]
  /** The worker died unexpectedly; pending requests have been rejected. */
  failed: [error: ShardFailedError]
}

export const REQUEST_TIMEOUT_MS = 10_000
const START_TIMEOUT_MS = 10_000

export class ShardClient extends EventEmitter<ShardClientEvents> {
  private readonly worker: Worker
  private readonly outbox: MessageBatcher<ShardCommand>
  private readonly pending = new Map<number, Pending>()
  private nextRequestId = 1
  private state: 'starting' | 'ready' | 'stopping' | 'gone' = 'starting'

  private constructor(
    readonly index: number,
    init: ShardInit,
    workerUrl: URL,
  ) {
    super()
    this.worker = new Worker(workerUrl, {workerData: init, name: `clutchcall-media-shard-${index}`})
    this.outbox = new MessageBatcher<ShardCommand>(
      (message, transfer) => this.worker.postMessage(message, transfer),
      (packed) => ({type: 'piped-rtp', packed}),
    )
  }

  /** Spawns the worker and resolves once it is ready to take streams. */
  static start(index: number, init: ShardInit, workerUrl: URL): Promise<ShardClient> {
    const client = new ShardClient(index, init, workerUrl)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        void client.worker.terminate()
        reject(new ShardFailedError(index, `not ready within ${START_TIMEOUT_MS} ms`))
      }, START_TIMEOUT_MS)
      let lastError: Error | undefined
      client.worker.on('error', (error) => {
        lastError = error
        client.fail(new ShardFailedError(index, `uncaught ${error.name}: ${error.message}`, {cause: error}))
      })
      client.worker.on('exit', (code) => {
        clearTimeout(timer)
        if (client.state === 'starting') reject(new ShardFailedError(index, `exited with code ${code} before it was ready`, {cause: lastError}))
        client.fail(new ShardFailedError(index, `worker exited with code ${code}`, {cause: lastError}))
      })
      const onMessage = (event: ShardEvent): void => {
        if (event.type === 'ready' && client.state === 'starting') {
          clearTimeout(timer)
          client.state = 'ready'
          resolve(client)
          return
        }
        client.onEvent(event)
      }
      client.worker.on('message', (message: Batched<ShardEvent>) => unbatch(message, onMessage))
    })
  }

  get ready(): boolean {
    return this.state === 'ready'
  }

  get threadId(): number {
    return this.worker.threadId
  }

  /** Sends a request and resolves with the shard's answer; rejects with ShardReplyError or ShardFailedError. */
  request<R extends ShardRequest>(command: R, requestId: number = this.allocateRequestId(), timeoutMs = REQUEST_TIMEOUT_MS): Promise<ReplyResults[R['type'] & RequestType]> {
    if (this.state !== 'ready' && !(this.state === 'stopping' && command.type === 'shutdown')) {
      return Promise.reject(new ShardFailedError(this.index, 'not running'))
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId)
        reject(new ShardFailedError(this.index, `no answer to ${command.type} within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(requestId, {resolve: resolve as (result: never) => void, reject, timer})
      this.outbox.send({...command, requestId} as ShardCommand)
    })
  }

  allocateRequestId(): number {
    return this.nextRequestId++
  }

  /** Sends a frame for a stream in tap mode, handing its buffer over to the shard. */
  inject(streamId: number, payload: Uint8Array): void {
    if (this.state !== 'ready') return
    const copy = new Uint8Array(payload)
    this.outbox.send({type: 'inject', streamId, payload: copy}, [copy.buffer])
  }

  /** One RTP datagram for a piped stream from its remote (copied: the caller keeps its buffer). */
  pipedRtp(streamId: number, datagram: Uint8Array): void {
    if (this.state !== 'ready') return
    this.outbox.sendPiped(streamId, datagram)
  }

  /** Switches the forwarding of RTCP reports ('rtcp' events) on or off. */
  setRtcpCapture(enabled: boolean): void {
    if (this.state !== 'ready') return
    this.outbox.send({type: 'rtcp-capture', enabled})
  }

  /** Asks the shard for a full garbage collection (once a load is over). */
  collectGarbage(): void {
    if (this.state !== 'ready') return
    this.outbox.send({type: 'collect-garbage'})
  }

  /** Closes every stream (their final quality is the answer) and ends the thread. */
  async stop(timeoutMs: number): Promise<ReplyResults['shutdown']> {
    if (this.state === 'gone') return {finals: []}
    this.state = 'stopping'
    try {
      return await this.request({type: 'shutdown'}, this.allocateRequestId(), timeoutMs)
    } catch {
      return {finals: []}
    } finally {
      this.state = 'gone'
      await this.worker.terminate()
    }
  }

  private onEvent(event: ShardEvent): void {
    if (event.type !== 'reply') {
      this.emit('event', event)
      return
    }
    const pending = this.pending.get(event.requestId)
    if (pending === undefined) return
    this.pending.delete(event.requestId)
    clearTimeout(pending.timer)
    if (event.ok) pending.resolve(event.result as never)
    else pending.reject(new ShardReplyError(event.code, event.message))
  }

  private fail(error: ShardFailedError): void {
    const wasRunning = this.state === 'ready'
    if (this.state === 'gone') return
    this.state = 'gone'
    this.outbox.discard()
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer)
      pending.reject(error)
    }
    this.pending.clear()
    if (wasRunning) this.emit('failed', error)
  }
}
