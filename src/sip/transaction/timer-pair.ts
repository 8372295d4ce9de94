// A transaction never runs more than two timers at once: one that repeats
// a message (A, E, G, or the one-shot 100 Trying delay) and one that ends a
// state (B, D, F, H, I, J, K, L, M). Two fields keep per-transaction state
// small; termination clears both.
export class TimerPair {
  private repeatHandle: NodeJS.Timeout | undefined
  private deadlineHandle: NodeJS.Timeout | undefined

  /** (Re)starts the repeating-message timer. */
  repeat(delayMs: number, fire: () => void): void {
    this.stopRepeat()
    this.repeatHandle = setTimeout(() => {
      this.repeatHandle = undefined
      fire()
    }, delayMs)
  }

  /** (Re)starts the state-ending timer. */
  deadline(delayMs: number, fire: () => void): void {
    this.stopDeadline()
    this.deadlineHandle = setTimeout(() => {
      this.deadlineHandle = undefined
      fire()
    }, delayMs)
  }

  stopRepeat(): void {
    if (this.repeatHandle !== undefined) clearTimeout(this.repeatHandle)
    this.repeatHandle = undefined
  }

  stopDeadline(): void {
    if (this.deadlineHandle !== undefined) clearTimeout(this.deadlineHandle)
    this.deadlineHandle = undefined
  }

  clear(): void {
    this.stopRepeat()
    this.stopDeadline()
  }

  get running(): number {
    return (this.repeatHandle === undefined ? 0 : 1) + (this.deadlineHandle === undefined ? 0 : 1)
  }
}
