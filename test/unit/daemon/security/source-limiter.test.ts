import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {SourceLimiter, type Ban} from '../../../../daemon/security/source-limiter.js'

const limiter = (options: {capacity?: number; requests?: number; failures?: number} = {}) => {
  const bans: Ban[] = []
  const instance = new SourceLimiter({
    capacity: options.capacity ?? 1000,
    requests: {max: options.requests ?? 3, windowMs: 1000, banMs: 10_000},
    authFailures: {max: options.failures ?? 2, windowMs: 60_000, banMs: 30_000},
    banned: (ban) => bans.push(ban),
  })
  return {instance, bans}
}

describe('SourceLimiter', () => {
  it('lets `max` requests per window through, bans on the next, and counts each window afresh', () => {
    const {instance, bans} = limiter()
    for (let i = 0; i < 3; i++) assert.equal(instance.request('192.0.2.1', 1000 + i, true), 'pass')
    // A new window: three more are fine.
    for (let i = 0; i < 3; i++) assert.equal(instance.request('192.0.2.1', 2000 + i, true), 'pass')
    assert.equal(instance.request('192.0.2.1', 2500, true), 'rate_limit')
    assert.equal(bans.length, 1)
    assert.deepEqual({address: bans[0]?.address, reason: bans[0]?.reason, since: bans[0]?.since, until: bans[0]?.until}, {address: '192.0.2.1', reason: 'rate_limit', since: 2500, until: 12_500})
    // Other sources are not affected.
    assert.equal(instance.request('192.0.2.2', 2500, true), 'pass')
  })

  it('drops every request of a banned source, counting hits, and lets it back when the ban expires', () => {
    const {instance, bans} = limiter({requests: 1})
    instance.request('192.0.2.1', 0, true)
    assert.equal(instance.request('192.0.2.1', 1, true), 'rate_limit')
    // Even an unlimited (trunk) request is dropped while banned.
    assert.equal(instance.request('192.0.2.1', 2, false), 'banned')
    assert.equal(instance.request('192.0.2.1', 9999, true), 'banned')
    assert.equal(instance.list(9999)[0]?.hits, 3)
    assert.equal(bans.length, 1, 'one ban event, not one per dropped request')
    assert.equal(instance.request('192.0.2.1', 10_001, true), 'pass', 'expired: counts start again')
    assert.equal(instance.bannedCount, 0)
  })

  it('never rate-limits an unlimited (exempt) source', () => {
    const {instance} = limiter({requests: 1})
    for (let i = 0; i < 1000; i++) assert.equal(instance.request('192.0.2.9', i, false), 'pass')
    assert.equal(instance.bannedCount, 0)
  })

  it('bans on the max-th digest failure within the window, and not on failures spread over windows', () => {
    const {instance, bans} = limiter({failures: 3})
    assert.equal(instance.authFailed('198.51.100.1', 0), false)
    assert.equal(instance.authFailed('198.51.100.1', 70_000), false, 'a new window')
    assert.equal(instance.authFailed('198.51.100.1', 71_000), false)
    assert.equal(instance.authFailed('198.51.100.1', 72_000), true)
    assert.equal(bans[0]?.reason, 'auth_failures')
    assert.equal(bans[0]?.until, 72_000 + 30_000)
    assert.equal(instance.request('198.51.100.1', 73_000, false), 'banned')
  })

  it('unban lifts one ban, unbanAll every ban', () => {
    const {instance} = limiter({requests: 1})
    for (const address of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      instance.request(address, 0, true)
      instance.request(address, 0, true)
    }
    assert.equal(instance.bannedCount, 3)
    assert.equal(instance.unban('192.0.2.2'), true)
    assert.equal(instance.unban('192.0.2.2'), false)
    assert.equal(instance.request('192.0.2.2', 1, true), 'pass')
    assert.equal(instance.unbanAll(), 2)
    assert.deepEqual(instance.list(1), [])
  })

  it('holds at most `capacity` counting windows and bans: memory stays bounded under a spoofed flood', () => {
    const {instance} = limiter({capacity: 100, requests: 1})
    for (let i = 0; i < 10_000; i++) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
      instance.request(address, 0, true)
      instance.request(address, 0, true)
    }
    assert.ok(instance.trackedSources <= 200, `tracked ${instance.trackedSources}`)
    assert.equal(instance.bannedCount, 100)
    // The newest bans are kept, the oldest lifted early.
    assert.equal(instance.isBanned('10.0.39.15', 1), true)
    assert.equal(instance.isBanned('10.0.0.0', 1), false)
  })

  it('the sweep removes expired bans and returns them', () => {
    const {instance} = limiter({requests: 1})
    instance.request('192.0.2.1', 0, true)
    instance.request('192.0.2.1', 0, true)
    assert.deepEqual(instance.sweep(5000), [])
    const expired = instance.sweep(10_000)
    assert.equal(expired.length, 1)
    assert.equal(expired[0]?.address, '192.0.2.1')
    assert.equal(instance.bannedCount, 0)
  })
})
