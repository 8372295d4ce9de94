import assert from 'node:assert/strict'
import {test} from 'node:test'
import {PacketRate} from '../../../../daemon/media/packet-rate.js'

test('a burst passes up to its size, then packets pass at the sustained rate, and the refused are counted', () => {
  const rate = new PacketRate(250, 50)
  // Whole milliseconds: (start + 100) - start is exactly 100, not 99.99999999 (which refills 24.99 tokens).
  const start = Math.ceil(performance.now()) + 1
  let passed = 0
  for (let index = 0; index < 200; index++) if (rate.admit(start)) passed++
  assert.equal(passed, 50)
  assert.equal(rate.dropped, 150)
  // 100 ms later: 25 more.
  let later = 0
  for (let index = 0; index < 100; index++) if (rate.admit(start + 100)) later++
  assert.equal(later, 25)
  // A long quiet spell refills to the burst, not beyond.
  let refilled = 0
  for (let index = 0; index < 100; index++) if (rate.admit(start + 60_000)) refilled++
  assert.equal(refilled, 50)
})

test('20 ms audio, and 10 ms Opus frames, always pass', () => {
  const rate = new PacketRate()
  const start = Math.ceil(performance.now()) + 1
  for (let index = 0; index < 3000; index++) assert.equal(rate.admit(start + index * 10), true, `packet ${index}`)
  assert.equal(rate.dropped, 0)
})
