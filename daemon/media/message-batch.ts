// Messages between the main thread and a media shard, coalesced per turn of
// the sender's event loop: every postMessage costs a structured clone and a
// wake-up of the other thread, and a burst of call setups (several requests
// per call) or a busy shard's replies arrive many to a turn. Order is kept:
// everything goes through one queue, flushed whole.
import type {TransferListItem} from 'node:worker_threads'

/** What crosses the port: one message, or several in the order they were sent. */
export type Batched<T> = T | {readonly type: 'batch'; readonly items: readonly T[]}

export class MessageBatcher<T> {
  private items: T[] = []
  private transfer: TransferListItem[] = []
  private scheduled = false

  constructor(private readonly post: (message: Batched<T>, transfer: readonly TransferListItem[]) => void) {}

  /** Queues `message` (handing over `transfer`); it leaves after whatever this turn of the event loop does next. */
  send(message: T, transfer?: readonly TransferListItem[]): void {
    this.items.push(message)
    if (transfer !== undefined) for (const item of transfer) this.transfer.push(item)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  /** Drops what is queued (the other side is gone). */
  discard(): void {
    this.items = []
    this.transfer = []
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const {items, transfer} = this
    if (items.length === 0) return
    this.items = []
    this.transfer = []
    this.post(items.length === 1 ? (items[0] as T) : {type: 'batch', items}, transfer)
  }
}

/** Calls `each` for every message of what arrived, in order. */
export const unbatch = <T extends {readonly type: string}>(message: Batched<T>, each: (item: T) => void): void => {
  if (message.type === 'batch' && 'items' in message) for (const item of message.items) each(item)
  else each(message as T)
}
