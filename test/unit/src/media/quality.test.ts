import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {estimateMos, mosFromR} from '../../../../src/media/quality.js'

const near = (actual: number, expected: number, tolerance: number, label = ''): void => {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${label} ${actual} is not within ${tolerance} of ${expected}`)
}

// Written out from G.107 independently of the module: R at the Table 3
// defaults is 93.2 (G.107 §7.7), Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl/BurstR + Bpl)
// with G.711 + PLC from G.113 Appendix I (Ie 0, Bpl 25.1), and Annex B's MOS.
const DEFAULT_R = 93.2
const expectedR = (ppl: number, burstR = 1): number => DEFAULT_R - (95 * ppl) / (ppl / burstR + 25.1)
const expectedMos = (r: number): number => 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6

describe('estimateMos (ITU-T G.107 E-model)', () => {
  it('gives R 93.2 and MOS 4.41 without impairment', () => {
    const {rFactor, mos} = estimateMos({codec: 'PCMU', packetLossPercent: 0})
    near(rFactor, 93.2, 0.01, 'R')
    near(mos, 4.41, 0.005, 'MOS')
  })

  it('matches hand-computed values at 1 % loss', () => {
    // Ie,eff = 95 · 1 / (1 + 25.1) = 3.640; R = 93.2 − 3.640 = 89.56;
    // MOS = 1 + 3.1346 + 89.56 · 29.56 · 10.44 · 7e-6 (0.1935) = 4.328.
    const {rFactor, mos} = estimateMos({codec: 'PCMU', packetLossPercent: 1})
    near(rFactor, 89.56, 0.01, 'R')
    near(mos, 4.328, 0.001, 'MOS')
  })

  it('matches hand-computed values at 5 % loss', () => {
    // Ie,eff = 475 / 30.1 = 15.781; R = 77.42; MOS = 1 + 2.7097 + 77.42 · 17.42 · 22.58 · 7e-6 (0.2132) = 3.923.
    const {rFactor, mos} = estimateMos({codec: 'PCMA', packetLossPercent: 5})
    near(rFactor, 77.42, 0.01, 'R')
    near(mos, 3.923, 0.001, 'MOS')
  })

  it('follows the Ie,eff formula at 1, 2, 5 and 10 % loss', () => {
    for (const ppl of [1, 2, 5, 10]) {
      const {rFactor, mos} = estimateMos({codec: 'PCMU', packetLossPercent: ppl})
      const r = expectedR(ppl)
      near(rFactor, r, 0.01, `R at ${ppl} %`)
      near(mos, expectedMos(r), 0.002, `MOS at ${ppl} %`)
    }
  })

  it('rates bursty loss worse than random loss', () => {
    const random = estimateMos({codec: 'PCMU', packetLossPercent: 5})
    const bursty = estimateMos({codec: 'PCMU', packetLossPercent: 5, burstRatio: 2})
    near(bursty.rFactor, expectedR(5, 2), 0.01, 'R with BurstR 2')
    assert.ok(bursty.rFactor < random.rFactor)
  })

  it('lowers R monotonically with delay', () => {
    const at = (oneWayDelayMs: number): number => estimateMos({codec: 'PCMU', packetLossPercent: 0, oneWayDelayMs}).rFactor
    const none = at(0)
    const r150 = at(150)
    const r300 = at(300)
    assert.ok(r150 < none, `${r150} < ${none}`)
    assert.ok(r300 < r150, `${r300} < ${r150}`)
    // By hand at 150 ms (T = Ta = 150, Tr = 300): Ro = 94.769, Is = 1.414,
    // Idte = 2.812 (TERV 28.88, Re 117.19, Roe 94.77), Idle = 0.841 (Rle 294.9),
    // Idd = 0.164 (X = log2 1.5), so R = 89.539.
    near(r150, 89.539, 0.005, 'R at 150 ms')
    // By hand at 300 ms (T = Ta = 300, Tr = 600): Idte ≈ 4.83, Idle ≈ 1.09,
    // Idd = 25·((1 + X⁶)^⅙ − 3(1 + (X/3)⁶)^⅙ + 2) with X = log2(3) ≈ 14.74,
    // so R ≈ 94.77 − 1.41 − 20.66 ≈ 72.7.
    near(r300, 72.7, 0.15, 'R at 300 ms')
    let previous = none
    for (let delay = 100; delay <= 600; delay += 50) {
      const r = at(delay)
      assert.ok(r < previous, `R at ${delay} ms`)
      previous = r
    }
  })

  it('clamps inputs and MOS to their ranges', () => {
    const total = estimateMos({codec: 'PCMU', packetLossPercent: 100})
    near(total.rFactor, expectedR(100), 0.01, 'R at 100 %')
    assert.deepEqual(estimateMos({codec: 'PCMU', packetLossPercent: 250}), total)
    assert.deepEqual(estimateMos({codec: 'PCMU', packetLossPercent: -3}), estimateMos({codec: 'PCMU', packetLossPercent: 0}))
    const worst = estimateMos({codec: 'PCMU', packetLossPercent: 100, oneWayDelayMs: 2000})
    assert.ok(worst.rFactor < 0)
    assert.equal(worst.mos, 1)
    assert.equal(mosFromR(-5), 1)
    assert.equal(mosFromR(5), 1) // the polynomial gives 0.992 here
    assert.equal(mosFromR(100), 4.5)
    assert.equal(mosFromR(120), 4.5)
    near(mosFromR(50), 1 + 1.75 + 50 * -10 * 50 * 7e-6, 1e-12)
    assert.throws(() => estimateMos({codec: 'PCMU', packetLossPercent: Number.NaN}), RangeError)
  })

  it('never rates opus above G.711 under the same conditions', () => {
    for (const packetLossPercent of [0, 1, 3, 10]) {
      for (const oneWayDelayMs of [0, 200]) {
        const opus = estimateMos({codec: 'opus', packetLossPercent, oneWayDelayMs})
        const pcmu = estimateMos({codec: 'PCMU', packetLossPercent, oneWayDelayMs})
        assert.ok(opus.rFactor <= pcmu.rFactor)
      }
    }
  })

  it('rates G.722 with the G.107.1 wideband model, on the narrowband scale (R_wb / 1.29)', () => {
    // By hand: Ro,wb 129, Ie,wb 13 (G.113 Appendix IV), Bpl 25.1; Id at 0 ms is Idle 0.149 (× 1.29 on the
    // wideband scale). 0 % loss: R = (129 − 0.192 − 13) / 1.29 = 89.77, MOS 4.333.
    const clean = estimateMos({codec: 'G722', packetLossPercent: 0})
    near(clean.rFactor, 89.77, 0.01, 'R')
    near(clean.mos, expectedMos(89.77), 0.002, 'MOS')
    // 2 % loss: Ie,eff,wb = 13 + 116 · 2 / (2 + 25.1) = 21.561; R = (129 − 0.192 − 21.561) / 1.29 = 83.14.
    near(estimateMos({codec: 'G722', packetLossPercent: 2}).rFactor, 83.14, 0.01, 'R at 2 %')
    // Opus has no G.113 values: rated as G.722.
    assert.deepEqual(estimateMos({codec: 'opus', packetLossPercent: 3, oneWayDelayMs: 120}), estimateMos({codec: 'G722', packetLossPercent: 3, oneWayDelayMs: 120}))
    // Delay impairs it as G.107 delay impairs a narrowband call (Id × 1.29 on the wideband scale).
    const at = (oneWayDelayMs: number): number => estimateMos({codec: 'G722', packetLossPercent: 0, oneWayDelayMs}).rFactor
    assert.ok(at(300) < at(150) && at(150) < clean.rFactor)
  })
})
