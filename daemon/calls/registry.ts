// The call registry: the spine that signalling adds calls to and that every
// observer (metrics, CDRs, traces, HEP, the admin stream) subscribes to.
// Call code never calls a telemetry sink; sinks listen here.
import {EventEmitter} from 'node:events'
import type {CallEvent, CallEventType, CallSummary} from '../../src/calls/events.js'
import type {RefusedAttempt} from './refusals.js'
import type {CallStage} from './stage-events.js'

/** What the registry needs from a live call, whatever its transport. */
export interface RegisteredCall {
  readonly sid: string
  summary(): CallSummary
  /** Ends the call with a Q.850 cause; resolves when the call has ended. */
  hangup(cause: number): Promise<void>
}

type EventsByType = {[T in CallEventType]: [Extract<CallEvent, {type: T}>]}
export type CallRegistryEvents = EventsByType & {
  /** Every event, in order, for subscribers that want them all (the admin stream). */
  event: [CallEvent]
  removed: [RegisteredCall]
  /** Internal stages of a call (trunk lookup, SIP and RTP setup, dialplan nodes), for tracing; never streamed. */
  stage: [CallStage]
  /** An INVITE refused before its dialplan ran (refusals.ts); the metrics sink counts it. */
  refused: [RefusedAttempt]
}

export class CallRegistry extends EventEmitter<CallRegistryEvents> {
  private readonly calls = new Map<string, RegisteredCall>()

  constructor() {
    super()
    // Every sink and every `calls tail` connection is a listener; none of them is a leak.
    this.setMaxListeners(0)
  }

  add(call: RegisteredCall): void {
    this.calls.set(call.sid, call)
  }

  /** Publishes an event: typed listeners first, then the catch-all stream. */
  publish(event: CallEvent): void {
    const emit = this.emit as (type: CallEventType | 'event', event: CallEvent) => boolean
    emit.call(this, event.type, event)
    emit.call(this, 'event', event)
  }

  /** Publishes an internal call stage (see stage-events.ts); a no-op when nobody listens. */
  stage(stage: CallStage): void {
    this.emit('stage', stage)
  }

  /** Publishes a refused call attempt (for a known source, after the call recorded for it has been created). */
  refused(attempt: RefusedAttempt): void {
    this.emit('refused', attempt)
  }

  /** True when some sink listens to stages (call code may skip measuring otherwise). */
  get observesStages(): boolean {
    return this.listenerCount('stage') > 0
  }

  remove(sid: string): void {
    const call = this.calls.get(sid)
    if (!call) return
    this.calls.delete(sid)
    this.emit('removed', call)
  }

  get(sid: string): RegisteredCall | undefined {
    return this.calls.get(sid)
  }

  list(): RegisteredCall[] {
    return [...this.calls.values()]
  }

  get activeCount(): number {
    return this.calls.size
  }

  /** Resolves once no call is left, or after timeoutMs; true when the registry emptied. */
  waitUntilEmpty(timeoutMs: number): Promise<boolean> {
    if (this.calls.size === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const onRemoved = () => {
        if (this.calls.size > 0) return
        clearTimeout(timer)
        this.off('removed', onRemoved)
        resolve(true)
      }
      const timer = setTimeout(() => {
        this.off('removed', onRemoved)
        resolve(this.calls.size === 0)
      }, timeoutMs)
      this.on('removed', onRemoved)
    })
  }

  /** Hangs up every call with the cause (16, normal clearing, at the end of a drain). */
  async hangupAll(cause: number): Promise<void> {
    await Promise.allSettled([...this.calls.values()].map((call) => call.hangup(cause)))
  }
}
