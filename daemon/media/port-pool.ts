// RTP port pairs: the configured range split between shards, and each
// shard's pool of even/odd pairs (RTP on the even port, RTCP on the next,
// RFC 3550 §11). Pairs are handed out round-robin so a port just freed is
// reused last: late packets of an ended call do not land in a new one. A
// pair whose ports another process holds is skipped, not fatal.
import type {Socket} from 'node:dgram'
import {bindUdpSocket} from '../../src/media/udp-socket.js'

export interface PortShare {
  readonly firstPort: number
  readonly pairCount: number
}

/** Splits the even/odd pairs of [portMin, portMax] into `shards` contiguous shares of nearly equal size. */
export const splitPortRange = (portMin: number, portMax: number, shards: number): PortShare[] => {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shard count must be a positive integer, got ${shards}`)
  const firstEven = portMin % 2 === 0 ? portMin : portMin + 1
  const pairs = firstEven + 1 <= portMax ? Math.floor((portMax - firstEven - 1) / 2) + 1 : 0
  if (pairs < shards) throw new RangeError(`RTP ports ${portMin}-${portMax} hold ${pairs} even/odd pair(s), fewer than the ${shards} media shard(s)`)
  return Array.from({length: shards}, (_, shard) => {
    const from = Math.floor((shard * pairs) / shards)
    const to = Math.floor(((shard + 1) * pairs) / shards)
    return {firstPort: firstEven + from * 2, pairCount: to - from}
  })
}

export class PortsExhaustedError extends Error {
  constructor(share: PortShare, inUse: number) {
    super(`no free RTP port pair in ${share.firstPort}-${share.firstPort + share.pairCount * 2 - 1} (${inUse} of ${share.pairCount} pairs in use, the others could not be bound)`)
    this.name = 'PortsExhaustedError'
  }
}

export interface BoundPair {
  readonly port: number
  readonly rtp: Socket
  readonly rtcp: Socket
}

export class PortPairPool {
  private readonly inUse: Uint8Array
  private cursor = 0
  private used = 0

  constructor(
    private readonly address: string,
    private readonly share: PortShare,
  ) {
    this.inUse = new Uint8Array(share.pairCount)
  }

  get pairsInUse(): number {
    return this.used
  }

  /** Binds the next free pair; rejects with PortsExhaustedError when no pair can be bound. */
  async bind(): Promise<BoundPair> {
    const count = this.share.pairCount
    for (let step = 0; step < count && this.used < count; step++) {
      const index = (this.cursor + step) % count
      if (this.inUse[index]) continue
      // Reserved before the awaits, so concurrent binds never pick the same pair.
      this.inUse[index] = 1
      this.used++
      const port = this.share.firstPort + index * 2
      try {
        const rtp = await bindUdpSocket(this.address, port)
        try {
          const rtcp = await bindUdpSocket(this.address, port + 1)
          this.cursor = (index + 1) % count
          return {port, rtp, rtcp}
        } catch (error) {
          rtp.close()
          throw error
        }
      } catch {
        // Held by someone else (EADDRINUSE) or refused: skip the pair.
        this.inUse[index] = 0
        this.used--
      }
    }
    throw new PortsExhaustedError(this.share, this.used)
  }

  /** Returns a pair whose sockets have been closed. */
  release(port: number): void {
    const index = (port - this.share.firstPort) / 2
    if (!Number.isInteger(index) || index < 0 || index >= this.share.pairCount || !this.inUse[index]) return
    this.inUse[index] = 0
    this.used--
  }
}
