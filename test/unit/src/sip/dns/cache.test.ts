// The DNS answer cache: TTLs, negative answers, one query for concurrent
// lookups, the bound on entries, and stale answers while the servers fail.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {DnsCache} from '../../../../../src/sip/dns/cache.js'
import {DnsLookupError} from '../../../../../src/sip/dns/errors.js'

const clock = () => {
  const state = {now: 1_000_000}
  return {state, now: () => state.now}
}

describe('DnsCache', () => {
  it('keeps an answer for its TTL, then asks again', async () => {
    const time = clock()
    const cache = new DnsCache({maxEntries: 10, negativeTtlS: 5, staleS: 0, now: time.now})
    let queries = 0
    const fetch = async () => ({value: ++queries, ttlS: 30})
    assert.equal(await cache.get('A x', fetch), 1)
    time.state.now += 29_000
    assert.equal(await cache.get('A x', fetch), 1)
    time.state.now += 1_001
    assert.equal(await cache.get('A x', fetch), 2)
    assert.deepEqual(cache.counts, {hits: 1, misses: 2, stale: 0})
  })

  it('keeps NXDOMAIN for the negative TTL and rethrows it meanwhile', async () => {
    const time = clock()
    const cache = new DnsCache({maxEntries: 10, negativeTtlS: 5, staleS: 0, now: time.now})
    let queries = 0
    const fetch = async (): Promise<{value: number; ttlS: number}> => {
      queries++
      throw new DnsLookupError('nxdomain', 'A', 'gone.example')
    }
    await assert.rejects(cache.get('A gone', fetch), {kind: 'nxdomain'})
    await assert.rejects(cache.get('A gone', fetch), {kind: 'nxdomain'})
    assert.equal(queries, 1)
    time.state.now += 5_001
    await assert.rejects(cache.get('A gone', fetch), {kind: 'nxdomain'})
    assert.equal(queries, 2)
  })

  it('sends one query for concurrent lookups of one name', async () => {
    const cache = new DnsCache({maxEntries: 10, negativeTtlS: 5, staleS: 0})
    let queries = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const fetch = async () => {
      queries++
      await gate
      return {value: 'answer', ttlS: 60}
    }
    const lookups = Array.from({length: 50}, () => cache.get('SRV x', fetch))
    release()
    assert.deepEqual(new Set(await Promise.all(lookups)), new Set(['answer']))
    assert.equal(queries, 1)
  })

  it('holds at most maxEntries answers, dropping the oldest', async () => {
    const cache = new DnsCache({maxEntries: 16, negativeTtlS: 5, staleS: 0})
    let queries = 0
    for (let i = 0; i < 100; i++) await cache.get(`A host${i}`, async () => ({value: ++queries, ttlS: 60}))
    assert.equal(cache.size, 16)
    // host99 is still there; host0 was dropped and is asked again.
    await cache.get('A host99', async () => ({value: ++queries, ttlS: 60}))
    assert.equal(queries, 100)
    await cache.get('A host0', async () => ({value: ++queries, ttlS: 60}))
    assert.equal(queries, 101)
  })

  it('serves an expired answer while the servers time out, within staleS, and not after', async () => {
    const time = clock()
    const cache = new DnsCache({maxEntries: 10, negativeTtlS: 5, staleS: 60, now: time.now})
    await cache.get('A x', async () => ({value: '192.0.2.1', ttlS: 10}))
    const down = async (): Promise<{value: string; ttlS: number}> => {
      throw new DnsLookupError('timeout', 'A', 'x')
    }
    time.state.now += 30_000
    assert.equal(await cache.get('A x', down), '192.0.2.1')
    assert.equal(cache.counts.stale, 1)
    time.state.now += 41_000
    await assert.rejects(cache.get('A x', down), {kind: 'timeout'})
  })

  it('does not serve a stale answer once the name is gone (NXDOMAIN is an answer)', async () => {
    const time = clock()
    const cache = new DnsCache({maxEntries: 10, negativeTtlS: 5, staleS: 600, now: time.now})
    await cache.get('A x', async () => ({value: '192.0.2.1', ttlS: 10}))
    time.state.now += 11_000
    await assert.rejects(
      cache.get('A x', async () => {
        throw new DnsLookupError('nxdomain', 'A', 'x')
      }),
      {kind: 'nxdomain'},
    )
  })

  it('does not cache a timeout: the next lookup asks again', async () => {
    const cache = new DnsCache({maxEntries: 10, negativeTtlS: 5, staleS: 0})
    let queries = 0
    const fetch = async (): Promise<{value: number; ttlS: number}> => {
      queries++
      throw new DnsLookupError('timeout', 'A', 'x')
    }
    await assert.rejects(cache.get('A x', fetch))
    await assert.rejects(cache.get('A x', fetch))
    assert.equal(queries, 2)
  })
})
