// Random hex identifiers from the CSPRNG, drawn from a pooled buffer: one
// randomBytes call per 4 KiB instead of one per identifier, which showed up
// as several percent of the signalling CPU at a few hundred call setups per
// second. Used for SIP tags, Call-IDs and branches (src/sip/ids.ts) and call
// sids (daemon/calls/call.ts).
import {randomBytes} from 'node:crypto'

const POOL_BYTES = 4096
let pool = randomBytes(POOL_BYTES)
let offset = 0

/** `bytes` random octets (at most 4096) as lowercase hex. */
export const randomHex = (bytes: number): string => {
  if (offset + bytes > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES)
    offset = 0
  }
  const hex = pool.toString('hex', offset, offset + bytes)
  offset += bytes
  return hex
}
