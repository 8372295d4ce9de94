// The call registry: the spine that signalling adds calls to and that every
// observer (metrics, CDRs, traces, HEP, the admin stream) subscribes to.
// Call code never calls a telemetry sink; sinks listen here.
import {EventEmitter} from 'node:events'

/** What the registry needs from a live call, whatever its transport. */
export interface RegisteredCall {
  readonly sid: string
  readonly tenant: string
  readonly trunk: string
  /** Ends the call with a Q.850 cause; resolves when the call has ended. */
  hangup(cause: number): Promise<void>
}

export interface CallRegistryEvents {
  added: [call: RegisteredCall]
  removed: [call: RegisteredCall]
}

export class CallRegistry extends EventEmitter<CallRegistryEvents> {
  private readonly calls = new Map<string, RegisteredCall>()

  add(call: RegisteredCall): void {
    this.calls.set(call.sid, call)
    this.emit('added', call)
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

  get activeCount(): number {
    return this.calls.size
  }

  /** Resolves once no call is left, or after timeoutMs; true when the registry emptied. */
  waitUntilEmpty(timeoutMs: number): Promise<boolean> {
    if (this.calls.size === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.off('removed', onRemoved)
        resolve(this.calls.size === 0)
      }, timeoutMs)
      const onRemoved = () => {
        if (this.calls.size > 0) return
        clearTimeout(timer)
        this.off('removed', onRemoved)
        resolve(true)
      }
      this.on('removed', onRemoved)
    })
  }

  /** Hangs up every call with the cause (16, normal clearing, at the end of a drain). */
  async hangupAll(cause: number): Promise<void> {
    await Promise.allSettled([...this.calls.values()].map((call) => call.hangup(cause)))
  }
}
