// Reusable output buffers for one RTP sender. node:dgram may keep a reference
// to the buffer it is given until its send callback runs (after a deferred
// address lookup, or while the kernel's send buffer is full), so a buffer is
// only rewritten once that callback has released it. In steady state two or three slots cycle and
// nothing is allocated per packet; a burst of sends in one tick adds slots.

export class OutputSlot {
  private buffer: Buffer
  private view: Buffer
  private viewLength = -1
  busy = false
  /** Bound once, handed to the transport as the "sent" callback of each send. */
  readonly release = (): void => {
    this.busy = false
  }

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity)
    this.view = this.buffer
  }

  /** The writable buffer, at least `length` octets long. */
  bufferFor(length: number): Buffer {
    if (this.buffer.length < length) {
      this.buffer = Buffer.allocUnsafe(Math.max(length, this.buffer.length * 2))
      this.viewLength = -1
    }
    return this.buffer
  }

  /** The first `length` octets, as a view cached while packet sizes stay the same. */
  packet(length: number): Buffer {
    if (length !== this.viewLength) {
      this.view = this.buffer.subarray(0, length)
      this.viewLength = length
    }
    return this.view
  }
}

export class OutputRing {
  private readonly slots: OutputSlot[] = []
  private cursor = 0

  constructor(private readonly initialCapacity: number) {}

  /** A slot the transport has released; marked busy until its `release` runs. */
  acquire(): OutputSlot {
    const count = this.slots.length
    for (let step = 0; step < count; step++) {
      const index = (this.cursor + step) % count
      const slot = this.slots[index] as OutputSlot
      if (!slot.busy) {
        this.cursor = (index + 1) % count
        slot.busy = true
        return slot
      }
    }
    const slot = new OutputSlot(this.initialCapacity)
    this.slots.push(slot)
    slot.busy = true
    return slot
  }

  /** Slots allocated so far (a bound on the buffers this sender holds). */
  get size(): number {
    return this.slots.length
  }
}
