import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  compactNtp,
  compactNtpToMs,
  msToCompactNtp,
  ntpToUnixMs,
  roundTripTimeMs,
  roundTripTimeUnits,
  unixMsToCompactNtp,
  unixMsToNtp,
} from '../../../../src/media/ntp.js'

describe('NTP timestamps', () => {
  it('converts known instants', () => {
    // 1970-01-01 is 2,208,988,800 s after 1900-01-01; 2000-01-01 is 3,155,673,600.
    assert.deepEqual(unixMsToNtp(0), {seconds: 2208988800, fraction: 0})
    assert.deepEqual(unixMsToNtp(946684800000), {seconds: 3155673600, fraction: 0})
    // Half a second is half of 2^32; a quarter is 2^30.
    assert.deepEqual(unixMsToNtp(946684800500), {seconds: 3155673600, fraction: 0x80000000})
    assert.equal(unixMsToNtp(250).fraction, 0x40000000)
    assert.equal(ntpToUnixMs(3155673600, 0x80000000), 946684800500)
  })

  it('wraps into era 1 on 2036-02-07T06:28:16Z and back', () => {
    const eraStartMs = Date.UTC(2036, 1, 7, 6, 28, 16)
    assert.deepEqual(unixMsToNtp(eraStartMs), {seconds: 0, fraction: 0})
    assert.equal(ntpToUnixMs(0, 0), eraStartMs)
    assert.equal(ntpToUnixMs(10, 0), eraStartMs + 10000)
  })

  it('round-trips Unix ms within the fraction resolution', () => {
    for (const ms of [1, 999, 1700000000123, 1712345678901.5]) {
      const ntp = unixMsToNtp(ms)
      assert.ok(Math.abs(ntpToUnixMs(ntp.seconds, ntp.fraction) - ms) < 0.001, `${ms}`)
    }
  })

  it('takes the middle 32 bits as the compact form', () => {
    assert.equal(compactNtp(0x12345678, 0x9abcdef0), 0x56789abc)
    assert.equal(compactNtp(0xffffffff, 0xffffffff), 0xffffffff)
    // 2000-01-01 + 0.5 s: low 16 bits of 3155673600 (0xBC17C200) are 0xC200, fraction 0x8000.
    assert.equal(unixMsToCompactNtp(946684800500), 0xc2008000)
  })

  it('converts compact durations', () => {
    assert.equal(compactNtpToMs(0x00010000), 1000)
    assert.equal(compactNtpToMs(0x00054000), 5250)
    assert.equal(msToCompactNtp(5250), 0x00054000)
    assert.equal(msToCompactNtp(-5), 0)
  })
})

describe('round-trip time (RFC 3550 §6.4.1)', () => {
  it('reproduces the worked example of the RFC', () => {
    // A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s), DLSR = 0x0005:4000 (5.250 s).
    const units = roundTripTimeUnits(0xb7108000, 0xb7052000, 0x00054000)
    assert.equal(units, 0x00062000)
    assert.equal(compactNtpToMs(units ?? 0), 6125)
  })

  it('survives the 16-bit seconds wrap of the compact clock', () => {
    // LSR just before the wrap, arrival just after: 2 s elapsed, 0.5 s held by the peer.
    assert.equal(roundTripTimeUnits(0x00018000, 0xffff8000, 0x00008000), 0x00018000)
  })

  it('has no answer before the peer saw an SR, or when the clocks disagree', () => {
    assert.equal(roundTripTimeUnits(0xb7108000, 0, 0), undefined)
    assert.equal(roundTripTimeUnits(0x00010000, 0x00020000, 0), undefined)
    // A unit or two below zero is truncation, not clock trouble.
    assert.equal(roundTripTimeUnits(0x00010000, 0x00010001, 1), 0)
  })

  it('computes ms from a report block and its arrival time', () => {
    const sentMs = 1712345678000
    const block = {lastSenderReport: unixMsToCompactNtp(sentMs), delaySinceLastSenderReport: msToCompactNtp(250)}
    const rtt = roundTripTimeMs(sentMs + 400, block) ?? Number.NaN
    // 400 ms from SR to report, 250 ms of it at the peer; each compact value is within 1/65536 s.
    assert.ok(Math.abs(rtt - 150) < 0.05, `rtt ${rtt}`)
  })
})
