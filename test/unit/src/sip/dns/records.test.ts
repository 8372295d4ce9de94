// The pure rules of RFC 3263 §4.1 (which NAPTR records a SIP client follows)
// and RFC 2782 (SRV order: priority, then weighted random).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {orderSrv, selectNaptr, srvPrefix, type NaptrRecord, type SrvRecord} from '../../../../../src/sip/dns/records.js'

const naptr = (order: number, preference: number, service: string, replacement: string, extra: Partial<NaptrRecord> = {}): NaptrRecord => ({order, preference, flags: 's', service, regexp: '', replacement, ...extra})
const srv = (priority: number, weight: number, name: string, port = 5060): SrvRecord => ({priority, weight, name, port})
const all = () => true

/** A random source that returns the given values in turn (then the last one). */
const sequence = (...values: number[]) => {
  let index = 0
  return () => values[Math.min(index++, values.length - 1)] ?? 0
}

describe('NAPTR selection (RFC 3263 §4.1)', () => {
  it('orders by order, then preference, and maps each service to its transport', () => {
    const choices = selectNaptr([naptr(20, 10, 'SIP+D2U', '_sip._udp.x'), naptr(10, 20, 'SIP+D2T', '_sip._tcp.x'), naptr(10, 5, 'SIPS+D2T', '_sips._tcp.x')], {sips: false, available: all})
    assert.deepEqual(choices, [
      {transport: 'tls', srvName: '_sips._tcp.x'},
      {transport: 'tcp', srvName: '_sip._tcp.x'},
      {transport: 'udp', srvName: '_sip._udp.x'},
    ])
  })

  it('keeps only the transports we have listeners for', () => {
    const records = [naptr(10, 10, 'SIPS+D2T', '_sips._tcp.x'), naptr(10, 20, 'SIP+D2T', '_sip._tcp.x'), naptr(10, 30, 'SIP+D2U', '_sip._udp.x')]
    assert.deepEqual(selectNaptr(records, {sips: false, available: (transport) => transport !== 'tls'}).map((choice) => choice.transport), ['tcp', 'udp'])
  })

  it('a sips: URI follows SIPS+D2T only', () => {
    const records = [naptr(10, 10, 'SIP+D2U', '_sip._udp.x'), naptr(10, 20, 'SIPS+D2T', '_sips._tcp.x')]
    assert.deepEqual(selectNaptr(records, {sips: true, available: all}), [{transport: 'tls', srvName: '_sips._tcp.x'}])
  })

  it('ignores services we do not speak, flags other than s, regexp rewriting, empty replacements, and repeats', () => {
    const records = [
      naptr(10, 10, 'SIP+D2S', '_sip._sctp.x'),
      naptr(10, 10, 'SIP+D2W', '_sip._ws.x'),
      naptr(10, 10, 'E2U+sip', '_sip._udp.x'),
      naptr(10, 10, 'SIP+D2U', '_sip._udp.x', {flags: 'u'}),
      naptr(10, 10, 'SIP+D2U', '', {regexp: '!^.*$!sip:a@b!'}),
      naptr(10, 10, 'SIP+D2T', '.'),
      naptr(10, 30, 'sip+d2u', '_SIP._UDP.x', {flags: 'S'}),
      naptr(10, 40, 'SIP+D2U', '_sip._udp.x'),
    ]
    assert.deepEqual(selectNaptr(records, {sips: false, available: all}), [{transport: 'udp', srvName: '_SIP._UDP.x'}])
  })
})

describe('SRV order (RFC 2782)', () => {
  it('tries lower priorities first, whatever the weights', () => {
    const ordered = orderSrv([srv(20, 100, 'c'), srv(10, 0, 'a'), srv(30, 1000, 'd'), srv(10, 0, 'b')], sequence(0))
    assert.deepEqual(ordered.map((record) => record.name), ['a', 'b', 'c', 'd'])
  })

  it('picks within a priority by weight: the running sum that first reaches the random number', () => {
    // Weights 10 (a) and 90 (b): sum 100; a draw of 0.5 → 50 > 10, so b first.
    assert.deepEqual(orderSrv([srv(1, 10, 'a'), srv(1, 90, 'b')], sequence(0.5, 0)).map((record) => record.name), ['b', 'a'])
    // A draw of 0.05 → 5 ≤ 10: a first.
    assert.deepEqual(orderSrv([srv(1, 10, 'a'), srv(1, 90, 'b')], sequence(0.05, 0)).map((record) => record.name), ['a', 'b'])
  })

  it('spreads first picks in proportion to the weights', () => {
    const counts = {a: 0, b: 0, c: 0}
    let seed = 42
    // A fixed linear congruential sequence: the same spread on every run.
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648)
    for (let i = 0; i < 10_000; i++) {
      const first = orderSrv([srv(1, 60, 'a'), srv(1, 30, 'b'), srv(1, 10, 'c')], random)[0]?.name as 'a' | 'b' | 'c'
      counts[first]++
    }
    assert.ok(counts.a > 5500 && counts.a < 6500, JSON.stringify(counts))
    assert.ok(counts.b > 2500 && counts.b < 3500, JSON.stringify(counts))
    assert.ok(counts.c > 700 && counts.c < 1300, JSON.stringify(counts))
  })

  it('puts weight-0 records first in the running sum, so they come last unless drawn on 0', () => {
    assert.deepEqual(orderSrv([srv(1, 50, 'heavy'), srv(1, 0, 'zero')], sequence(0.9, 0)).map((record) => record.name), ['heavy', 'zero'])
    assert.deepEqual(orderSrv([srv(1, 50, 'heavy'), srv(1, 0, 'zero')], sequence(0, 0)).map((record) => record.name), ['zero', 'heavy'])
  })

  it('leaves out records with port 0', () => {
    assert.deepEqual(orderSrv([srv(0, 0, 'zero', 0), srv(1, 0, 'real')]).map((record) => record.name), ['real'])
  })

  it('a lone "." target means the service is not offered', () => {
    assert.deepEqual(orderSrv([srv(0, 0, '.')]), [])
    assert.deepEqual(orderSrv([srv(0, 0, '.'), srv(1, 0, 'real')]).map((record) => record.name), ['real'])
  })

  it('names the SRV service of each transport', () => {
    assert.equal(srvPrefix('udp'), '_sip._udp')
    assert.equal(srvPrefix('tcp'), '_sip._tcp')
    assert.equal(srvPrefix('tls'), '_sips._tcp')
  })
})
