// The pooled CSPRNG hex of SIP identifiers and call sids: the length asked
// for, hex only, and no value repeated across refills of the pool.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {randomHex} from '../../../src/random-hex.js'

describe('randomHex', () => {
  it('gives the number of octets asked for as lowercase hex', () => {
    for (const bytes of [1, 8, 12, 16, 4096]) assert.match(randomHex(bytes), new RegExp(`^[0-9a-f]{${2 * bytes}}$`))
  })

  it('never repeats a value across many refills of its pool', () => {
    // 20,000 × 16 octets: about 80 refills of the 4 KiB pool, and a request that does not fit the rest of it each time.
    const seen = new Set<string>()
    for (let index = 0; index < 20_000; index++) seen.add(randomHex(index % 7 === 0 ? 15 : 16))
    assert.equal(seen.size, 20_000)
  })
})
