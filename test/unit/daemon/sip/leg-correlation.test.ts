import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {LegCorrelation} from '../../../../daemon/sip/leg-correlation.js'

describe('leg correlation (HEP correlation id)', () => {
  it('maps a B-leg Call-ID to its A-leg, any other Call-ID to itself, and forgets a released link after the linger', () => {
    let now = 1000
    const legs = new LegCorrelation(32_000, () => now)
    const release = legs.link('b-leg@gw', 'a-leg@caller')
    assert.equal(legs.correlationIdOf('b-leg@gw'), 'a-leg@caller')
    assert.equal(legs.correlationIdOf('a-leg@caller'), 'a-leg@caller')
    assert.equal(legs.correlationIdOf('unknown'), 'unknown')
    release()
    now += 31_999
    legs.sweep()
    assert.equal(legs.correlationIdOf('b-leg@gw'), 'a-leg@caller', 'late retransmissions still correlate')
    now += 2
    legs.sweep()
    assert.equal(legs.correlationIdOf('b-leg@gw'), 'b-leg@gw')
    assert.equal(legs.size, 0)
    legs.stop()
  })

  it('keeps links of legs still up, however old', () => {
    let now = 0
    const legs = new LegCorrelation(10, () => now)
    legs.link('b', 'a')
    now = 10_000_000
    legs.sweep()
    assert.equal(legs.correlationIdOf('b'), 'a')
    legs.stop()
  })
})
