// How fast a piped stream's RTP may cross between the main thread and a media
// shard, each way. Piped RTP travels in messages, and a message queue has no
// kernel buffer that overflows and drops: without a bound, a client (or a far
// end relayed to it) that floods would queue work for the other thread without
// end. Five times 20 ms audio; Opus in 10 ms frames is 100 a second, and DTMF
// rides in between. A burst of 50 is a second of audio delayed by a stall.
export const PIPED_PACKETS_PER_S = 250
export const PIPED_BURST = 50

/** A token bucket over packets: `perSecond` sustained, bursts of `burst`; counts what it refuses. */
export class PacketRate {
  private allowance: number
  private at = performance.now()
  /** Packets refused so far. */
  dropped = 0

  constructor(
    private readonly perSecond = PIPED_PACKETS_PER_S,
    private readonly burst = PIPED_BURST,
  ) {
    this.allowance = burst
  }

  /** Whether one more packet may pass now. */
  admit(now = performance.now()): boolean {
    this.allowance = Math.min(this.burst, this.allowance + ((now - this.at) * this.perSecond) / 1000)
    this.at = now
    if (this.allowance < 1) {
      this.dropped++
      return false
    }
    this.allowance -= 1
    return true
  }
}
