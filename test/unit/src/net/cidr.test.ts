// CIDR lists as trunk admission and abuse control use them: membership for
// IPv4 and IPv6, bare addresses, an empty list, and the memo of answers
// staying right when it fills up and is emptied.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {cidrBlockList, plainAddress} from '../../../../src/net/cidr.js'

describe('cidrBlockList', () => {
  it('matches subnets and bare addresses of both families, and nothing else', () => {
    const set = cidrBlockList(['203.0.113.0/24', '198.51.100.7', '2001:db8::/32'])
    assert.ok(set)
    for (const inside of ['203.0.113.1', '203.0.113.255', '198.51.100.7', '2001:db8::1', '2001:db8:ffff::9']) assert.equal(set.check(inside), true, inside)
    for (const outside of ['203.0.114.1', '198.51.100.8', '2001:db9::1', '::1', '127.0.0.1']) assert.equal(set.check(outside), false, outside)
    // Asked again: the remembered answers are the same.
    assert.equal(set.check('203.0.113.1'), true)
    assert.equal(set.check('203.0.114.1'), false)
  })

  it('answers false for what is not an address, where BlockList would throw', () => {
    const set = cidrBlockList(['0.0.0.0/0'])
    assert.ok(set)
    assert.equal(set.check('not-an-address'), false)
    assert.equal(set.check(''), false)
  })

  it('stays right for every address when more addresses are asked than it remembers', () => {
    const set = cidrBlockList(['10.0.0.0/16'])
    assert.ok(set)
    // 3 × 4096 different sources (a scanner's spread), inside and outside the subnet in turn.
    for (let index = 0; index < 3 * 4096; index++) {
      const inside = index % 2 === 0
      const address = inside ? `10.0.${(index >> 8) & 0xff}.${index & 0xff}` : `10.1.${(index >> 8) & 0xff}.${index & 0xff}`
      assert.equal(set.check(address), inside, address)
    }
    assert.equal(set.check('10.0.0.0'), true)
  })

  it('is undefined for an empty list', () => {
    assert.equal(cidrBlockList([]), undefined)
  })
})

describe('plainAddress', () => {
  it('unwraps an IPv4-mapped IPv6 address and leaves others alone', () => {
    assert.equal(plainAddress('::ffff:192.0.2.1'), '192.0.2.1')
    assert.equal(plainAddress('2001:db8::1'), '2001:db8::1')
    assert.equal(plainAddress('192.0.2.1'), '192.0.2.1')
  })
})
