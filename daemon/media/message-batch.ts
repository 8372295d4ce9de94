// Messages between the main thread and a media shard, coalesced per turn of
// the sender's event loop: every postMessage costs a structured clone and a
// wake-up of the other thread, and a burst of call setups (several requests
// per call) or a busy shard's replies arrive many to a turn. Order is kept:
// everything goes through one queue, flushed whole.
import type {TransferListItem} from 'node:worker_threads'
import {PipedRtpPacker} from './piped-rtp.js'

/** What crosses the port: one message, or several in the order they were sent. */
export type Batched<T> = T | {readonly type: 'batch'; readonly items: readonly T[]}

/** How often, at most, packed piped RTP leaves (see the constructor). */
export const PIPED_INTERVAL_MS = 2

export class MessageBatcher<T> {
  private items: T[] = []
  private transfer: TransferListItem[] = []
  private scheduled = false
  /** Piped streams' RTP of this turn, packed into one item at the place of the first datagram (piped-rtp.ts). */
  private readonly packer = new PipedRtpPacker()
  private pipedSlot = -1
  private lastPipedFlush = -Infinity
  private pipedTimer: NodeJS.Timeout | undefined

  /**
   * `pipedItem`: the message that carries packed piped RTP (only a batcher that sends piped RTP needs it).
   * Piped RTP leaves at most every `pipedIntervalMs`: a busy thread's loop turns are often one datagram
   * each, and every message costs a wake-up of the other thread (the largest single cost of SDK audio on
   * the main thread). Audio waits at most that long, which adds as much to the jitter the shard measures.
   */
  constructor(
    private readonly post: (message: Batched<T>, transfer: readonly TransferListItem[]) => void,
    private readonly pipedItem?: (packed: Uint8Array) => T,
    private readonly pipedIntervalMs = PIPED_INTERVAL_MS,
  ) {}

  /** Queues one RTP datagram of a piped stream (copied into this turn's packed buffer). */
  sendPiped(streamId: number, datagram: Uint8Array): void {
    if (this.pipedItem === undefined) throw new Error('this message batcher carries no piped RTP')
    if (!this.packer.add(streamId, datagram)) return
    if (this.pipedSlot < 0) {
      this.pipedSlot = this.items.length
      // A place holder, replaced by the packed item when the turn's messages leave.
      this.items.push(undefined as T)
      const wait = this.lastPipedFlush + this.pipedIntervalMs - performance.now()
      if (wait <= 0) this.schedule()
      else this.pipedTimer ??= setTimeout(this.flush, wait)
    }
  }

  /** Queues `message` (handing over `transfer`); it leaves after whatever this turn of the event loop does next. */
  send(message: T, transfer?: readonly TransferListItem[]): void {
    this.items.push(message)
    if (transfer !== undefined) for (const item of transfer) this.transfer.push(item)
    this.schedule()
  }

  /** Drops what is queued (the other side is gone). */
  discard(): void {
    this.items = []
    this.transfer = []
    if (this.pipedSlot >= 0) this.packer.take()
    this.pipedSlot = -1
    clearTimeout(this.pipedTimer)
    this.pipedTimer = undefined
  }

  private schedule(): void {
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  private readonly flush = (): void => {
    this.scheduled = false
    clearTimeout(this.pipedTimer)
    this.pipedTimer = undefined
    if (this.pipedSlot >= 0 && this.pipedItem !== undefined) {
      const packed = this.packer.take()
      this.items[this.pipedSlot] = this.pipedItem(packed)
      this.transfer.push(packed.buffer as ArrayBuffer)
      this.pipedSlot = -1
      this.lastPipedFlush = performance.now()
    }
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
