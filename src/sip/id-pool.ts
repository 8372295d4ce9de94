// The identifiers of ids.ts (tags, Call-IDs, branches), drawn from a pooled
// CSPRNG buffer. One randomBytes call per 4 KiB instead of one per
// identifier: at a few hundred call setups per second the per-call system
// call showed up as several percent of the signalling CPU. Same entropy per
// identifier as ids.ts (64-bit tags, 128-bit Call-IDs, 96-bit branches).
import {randomBytes} from 'node:crypto'
import {BRANCH_MAGIC_COOKIE} from './via.js'

const POOL_BYTES = 4096
let pool = randomBytes(POOL_BYTES)
let offset = 0

const randomHex = (bytes: number): string => {
  if (offset + bytes > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES)
    offset = 0
  }
  const hex = pool.toString('hex', offset, offset + bytes)
  offset += bytes
  return hex
}

/** A From/To tag: 64 random bits as 16 hex digits (RFC 3261 §19.3 asks for at least 32). */
export const newTag = (): string => randomHex(8)

/** A Call-ID: 128 random bits (§8.1.1.4). */
export const newCallId = (): string => randomHex(16)

/** A Via branch: the magic cookie and 96 random bits (§8.1.1.7). */
export const newBranch = (): string => `${BRANCH_MAGIC_COOKIE}${randomHex(12)}`
