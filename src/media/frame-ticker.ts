// The 20 ms frame clock that paces generated audio. One timer per thread
// drives every playing stream (a shard with a thousand calls arms one timer,
// not a thousand), and it schedules against absolute due times so the rate
// stays at 50 frames/s on average although Node timers fire late by up to a
// millisecond or more. After a stall it catches up a few frames, then skips.
import {performance} from 'node:perf_hooks'

export const FRAME_MS = 20
/** Frames delivered back to back after a stall before the ticker gives up on the missed ones. */
const MAX_CATCH_UP_FRAMES = 3

/** Unix time in ms with sub-millisecond precision (arrival times, NTP timestamps). */
export const wallClockMs = (): number => performance.timeOrigin + performance.now()

export type FrameListener = (nowMs: number) => void

export interface FrameTicker {
  /** Calls `listener` once per frame from the next frame on; returns the unsubscribe function. */
  subscribe(listener: FrameListener): () => void
}

export class TimerFrameTicker implements FrameTicker {
  private readonly listeners = new Set<FrameListener>()
  private timer: NodeJS.Timeout | undefined
  private nextDue = 0
  private ticking = false

  constructor(private readonly frameMs: number = FRAME_MS) {}

  subscribe(listener: FrameListener): () => void {
    this.listeners.add(listener)
    if (this.timer === undefined && !this.ticking) {
      this.nextDue = performance.now() + this.frameMs
      this.arm()
    }
    return () => {
      this.listeners.delete(listener)
      if (this.listeners.size === 0 && this.timer !== undefined) {
        clearTimeout(this.timer)
        this.timer = undefined
      }
    }
  }

  get activeListeners(): number {
    return this.listeners.size
  }

  private arm(): void {
    this.timer = setTimeout(this.tick, Math.max(0, this.nextDue - performance.now()))
  }

  private readonly tick = (): void => {
    this.timer = undefined
    this.ticking = true
    let frames = 0
    try {
      while (this.nextDue <= performance.now() && frames < MAX_CATCH_UP_FRAMES && this.listeners.size > 0) {
        const nowMs = wallClockMs()
        // A Set iterates safely while listeners subscribe and unsubscribe.
        for (const listener of this.listeners) listener(nowMs)
        this.nextDue += this.frameMs
        frames++
      }
    } finally {
      this.ticking = false
    }
    if (this.listeners.size === 0) return
    const now = performance.now()
    if (this.nextDue <= now) this.nextDue = now + this.frameMs
    this.arm()
  }
}

let shared: TimerFrameTicker | undefined

/** The thread's shared ticker. */
export const sharedFrameTicker = (): TimerFrameTicker => (shared ??= new TimerFrameTicker())
