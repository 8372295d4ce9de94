import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {
  dtmfDigitToEvent,
  eventToDtmfDigit,
  parseTelephoneEvent,
  planTelephoneEvent,
  serializeTelephoneEvent,
  writeTelephoneEvent,
} from '../../../../src/media/telephone-event.js'

describe('RFC 4733 telephone-event', () => {
  it('parses a hand-built end packet', () => {
    // Event 5, E=1 R=0 volume 10 (0x8A), duration 800 (0x0320).
    assert.deepEqual(parseTelephoneEvent(Buffer.from([0x05, 0x8a, 0x03, 0x20])), {ok: true, event: 5, end: true, volume: 10, duration: 800})
    // Start of '#': E=0, volume 63, duration 160.
    assert.deepEqual(parseTelephoneEvent(Buffer.from([0x0b, 0x3f, 0x00, 0xa0])), {ok: true, event: 11, end: false, volume: 63, duration: 160})
  })

  it('ignores the reserved bit', () => {
    assert.deepEqual(parseTelephoneEvent(Buffer.from([0x05, 0xca, 0x03, 0x20])), {ok: true, event: 5, end: true, volume: 10, duration: 800})
  })

  it('reports a truncated payload', () => {
    assert.deepEqual(parseTelephoneEvent(Buffer.from([0x05, 0x8a, 0x03])), {ok: false, reason: 'truncated'})
  })

  it('serializes byte for byte and round-trips', () => {
    assert.deepEqual([...serializeTelephoneEvent({event: 5, end: true, volume: 10, duration: 800})], [0x05, 0x8a, 0x03, 0x20])
    assert.deepEqual([...serializeTelephoneEvent({event: 16, end: false, volume: 0, duration: 65535})], [0x10, 0x00, 0xff, 0xff])
    const target = Buffer.alloc(6)
    assert.equal(writeTelephoneEvent(target, 2, {event: 12, end: false, volume: 7, duration: 320}), 4)
    assert.deepEqual(parseTelephoneEvent(target.subarray(2)), {ok: true, event: 12, end: false, volume: 7, duration: 320})
    assert.throws(() => serializeTelephoneEvent({event: 1, end: false, volume: 64, duration: 0}), RangeError)
    assert.throws(() => serializeTelephoneEvent({event: 1, end: false, volume: 0, duration: 65536}), RangeError)
  })

  it('maps DTMF digits to event codes (§3.2)', () => {
    const table: [string, number][] = [
      ['0', 0], ['1', 1], ['5', 5], ['9', 9], ['*', 10], ['#', 11], ['A', 12], ['B', 13], ['C', 14], ['D', 15],
    ]
    for (const [digit, code] of table) {
      assert.equal(dtmfDigitToEvent(digit), code, digit)
      assert.equal(eventToDtmfDigit(code), digit, `${code}`)
    }
    assert.equal(dtmfDigitToEvent('a'), 12)
    assert.equal(dtmfDigitToEvent('E'), undefined)
    assert.equal(dtmfDigitToEvent('12'), undefined)
    assert.equal(dtmfDigitToEvent(''), undefined)
    assert.equal(eventToDtmfDigit(16), undefined)
    assert.equal(eventToDtmfDigit(-1), undefined)
  })

  it('plans the packets of one event (§2.5.1)', () => {
    // 200 ms at 8 kHz = 1600 units; updates every 50 ms (400 units); the end packet three times.
    const plan = planTelephoneEvent({event: 1, durationMs: 200})
    assert.deepEqual(
      plan.map(({marker, payload}) => [marker, payload.end, payload.duration]),
      [
        [true, false, 400],
        [false, false, 800],
        [false, false, 1200],
        [false, true, 1600],
        [false, true, 1600],
        [false, true, 1600],
      ],
    )
    assert.ok(plan.every(({payload}) => payload.event === 1 && payload.volume === 10))
    // A 40 ms event at 50 ms updates is only the end packets; the first carries the marker.
    assert.deepEqual(
      planTelephoneEvent({event: 2, durationMs: 40, volume: 5}).map(({marker, payload}) => [marker, payload.end, payload.duration, payload.volume]),
      [
        [true, true, 320, 5],
        [false, true, 320, 5],
        [false, true, 320, 5],
      ],
    )
    // 9 s at 8 kHz (72,000 units) does not fit the 16-bit duration.
    assert.throws(() => planTelephoneEvent({event: 1, durationMs: 9000}), RangeError)
  })
})
