// Agents send audio in bursts (TTS renders faster than real time); the caller
// must hear it at 20 ms per frame. The pacer queues µ-law, sends one frame per
// tick, and reports marks when the audio before them has been played.

export const FRAME_BYTES = 160
const FRAME_MS = 20
const ULAW_SILENCE = 0xff

type QueueItem = {readonly frame: Buffer} | {readonly mark: string}

export class AgentPacer {
  private readonly queue: QueueItem[] = []
  private partial: Buffer = Buffer.alloc(0)
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly sendFrame: (frame: Buffer) => void,
    private readonly markReached: (name: string) => void,
  ) {
    this.timer = setInterval(() => this.tick(), FRAME_MS)
  }

  push(ulaw: Buffer): void {
    let data = this.partial.length > 0 ? Buffer.concat([this.partial, ulaw]) : ulaw
    while (data.length >= FRAME_BYTES) {
      this.queue.push({frame: data.subarray(0, FRAME_BYTES)})
      data = data.subarray(FRAME_BYTES)
    }
    this.partial = Buffer.from(data)
  }

  /** A mark is reported once every frame queued before it has been sent. */
  mark(name: string): void {
    this.flushPartial()
    this.queue.push({mark: name})
  }

  /** Drops queued audio (the agent was interrupted); pending marks are reported at once. */
  clear(): void {
    const marks = this.queue.filter((item): item is {mark: string} => 'mark' in item)
    this.queue.length = 0
    this.partial = Buffer.alloc(0)
    for (const item of marks) this.markReached(item.mark)
  }

  get queuedFrames(): number {
    return this.queue.filter((item) => 'frame' in item).length
  }

  stop(): void {
    clearInterval(this.timer)
  }

  private flushPartial(): void {
    if (this.partial.length === 0) return
    const frame = Buffer.alloc(FRAME_BYTES, ULAW_SILENCE)
    this.partial.copy(frame)
    this.queue.push({frame})
    this.partial = Buffer.alloc(0)
  }

  private tick(): void {
    while (this.queue[0] && 'mark' in this.queue[0]) this.markReached((this.queue.shift() as {mark: string}).mark)
    const next = this.queue.shift()
    if (next && 'frame' in next) this.sendFrame(next.frame)
    while (this.queue[0] && 'mark' in this.queue[0]) this.markReached((this.queue.shift() as {mark: string}).mark)
  }
}
