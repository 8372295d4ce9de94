// Which call a SIP Call-ID belongs to, seen from the wire: a B-leg placed by
// a bridge has its own Call-ID, but capture (HEP correlation id, DESIGN §9)
// groups both legs under the A-leg's. The dialer links a B-leg's Call-ID to
// the A-leg's before its INVITE leaves and releases it when the leg ends; the
// link outlives the leg by LINGER_MS, because retransmissions and the last
// responses of a dialog still cross the wire after it ended (64·T1).
// Read-only for everyone else: `correlationIdOf`.

/** 64·T1: the longest a transaction of an ended leg can still put messages on the wire. */
export const LINGER_MS = 32_000
const SWEEP_MS = 10_000

interface Link {
  readonly aLegCallId: string
  /** Set once the leg has ended: the link is forgotten after this time. */
  forgetAt: number | undefined
}

export class LegCorrelation {
  private readonly links = new Map<string, Link>()
  private sweeper: NodeJS.Timeout | undefined

  constructor(
    private readonly lingerMs = LINGER_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Links a B-leg's Call-ID to the A-leg's; returns the release to call when the B-leg has ended. */
  link(bLegCallId: string, aLegCallId: string): () => void {
    const link: Link = {aLegCallId, forgetAt: undefined}
    this.links.set(bLegCallId, link)
    this.ensureSweeper()
    return () => {
      link.forgetAt ??= this.now() + this.lingerMs
    }
  }

  /** The A-leg Call-ID for a B-leg's Call-ID; any other Call-ID (an A-leg's, or one of no call) is its own. */
  correlationIdOf(sipCallId: string): string {
    return this.links.get(sipCallId)?.aLegCallId ?? sipCallId
  }

  get size(): number {
    return this.links.size
  }

  /** Forgets every link whose linger is over. */
  sweep(): void {
    const now = this.now()
    for (const [callId, link] of this.links) if (link.forgetAt !== undefined && link.forgetAt <= now) this.links.delete(callId)
    if (this.links.size === 0) this.stop()
  }

  stop(): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private ensureSweeper(): void {
    if (this.sweeper !== undefined) return
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS)
    this.sweeper.unref()
  }
}
