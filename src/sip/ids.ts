// Random identifiers for dialogs and transactions. RFC 3261 asks for at least
// 32 random bits in tags (§19.3) and for globally unique Call-IDs and branches
// (§8.1.1.4, §8.1.1.7); all three come from the CSPRNG (src/random-hex.ts).
import {randomHex} from '../random-hex.js'
import {BRANCH_MAGIC_COOKIE} from './via.js'

/** A From/To tag: 64 random bits as 16 hex digits. */
export const generateTag = (): string => randomHex(8)

/** A Call-ID: 128 random bits, `@host` appended when a host is given. */
export const generateCallId = (host?: string): string => {
  const id = randomHex(16)
  return host === undefined || host === '' ? id : `${id}@${host}`
}

/** A Via branch: the RFC 3261 magic cookie and 96 random bits. */
export const generateBranch = (): string => `${BRANCH_MAGIC_COOKIE}${randomHex(12)}`
