// The UAS core retransmits its 2xx to an INVITE until the ACK arrives
// (RFC 3261 §13.3.1.4): first after T1, the interval doubling up to T2. If
// no ACK came within 64·T1 the dialog is confirmed anyway and then ended
// with a BYE, which `giveUp` does.
import type {SipResponse} from './message.js'
import {serializeSipMessage} from './serializer.js'
import {nextInterval, transactionTimeout, type SipTimerConfig} from './transaction/timers.js'
import type {InboundContext, SipTransportLike} from './transport/types.js'

export class Uas2xxRetransmitter {
  private timer: NodeJS.Timeout | undefined
  private readonly bytes: Buffer
  private readonly startedAt = Date.now()
  private active = true
  /** How many times the 2xx went out again. */
  retransmissions = 0

  constructor(
    private readonly transport: SipTransportLike,
    private readonly response: SipResponse,
    private readonly context: InboundContext,
    private readonly timers: SipTimerConfig,
    private readonly giveUp: () => void,
  ) {
    this.bytes = serializeSipMessage(response)
    this.schedule(timers.t1)
  }

  get waiting(): boolean {
    return this.active
  }

  private schedule(interval: number): void {
    const remaining = transactionTimeout(this.timers) - (Date.now() - this.startedAt)
    if (remaining <= interval) {
      this.timer = setTimeout(() => {
        this.stop()
        this.giveUp()
      }, Math.max(remaining, 0))
      return
    }
    this.timer = setTimeout(() => {
      this.retransmissions++
      this.transport.respond(this.response, this.context, this.bytes).catch(() => {})
      this.schedule(nextInterval(interval, this.timers, true))
    }, interval)
  }

  /** The ACK arrived (or the dialog ended another way). */
  stop(): void {
    this.active = false
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}
