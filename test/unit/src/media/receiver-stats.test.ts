import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {ReceiverStats} from '../../../../src/media/receiver-stats.js'

const FRAME_MS = 20
const FRAME_TS = 160

/** Feeds packets by sequence number; timestamps and arrivals follow the number (20 ms apart). */
const feed = (stats: ReceiverStats, seqs: readonly number[], payloadBytes = 160): string[] =>
  seqs.map((seq) => stats.onPacket(seq & 0xffff, (seq * FRAME_TS) >>> 0, 1000 + seq * FRAME_MS, payloadBytes))

const range = (from: number, to: number): number[] => Array.from({length: to - from + 1}, (_, index) => from + index)

const pcmuStats = (): ReceiverStats => new ReceiverStats({ssrc: 0x1234, clockRate: 8000})

describe('ReceiverStats', () => {
  it('counts an in-order stream with constant spacing: no loss, no jitter', () => {
    const stats = pcmuStats()
    const verdicts = feed(stats, range(1000, 1099))
    assert.deepEqual(verdicts.slice(0, 3), ['probation', 'in-order', 'in-order'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 100)
    assert.equal(snapshot.expected, 100)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.lossRatio, 0)
    assert.equal(snapshot.jitter, 0)
    assert.equal(snapshot.jitterMs, 0)
    assert.equal(snapshot.octets, 100 * 160)
    assert.equal(snapshot.extendedHighestSeq, 1099)
    assert.equal(snapshot.validated, true)
  })

  it('counts exact loss in bursts', () => {
    const stats = pcmuStats()
    const missing = new Set([10, 11, 12, 50, 51, 52, 53, 54])
    feed(stats, range(0, 99).filter((seq) => !missing.has(seq)))
    const snapshot = stats.snapshot()
    assert.equal(snapshot.expected, 100)
    assert.equal(snapshot.received, 92)
    assert.equal(snapshot.lost, 8)
    assert.equal(snapshot.lossRatio, 0.08)
    assert.equal(snapshot.octets, 92 * 160)
  })

  it('counts a late packet as reordered, not lost', () => {
    const stats = pcmuStats()
    const verdicts = feed(stats, [0, 1, 2, 3, 5, 4, 6, 7, 9, 10, 8])
    assert.equal(verdicts[5], 'reordered')
    assert.equal(verdicts[10], 'reordered')
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 11)
    assert.equal(snapshot.expected, 11)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.reordered, 2)
    assert.equal(snapshot.extendedHighestSeq, 10)
  })

  it('counts a packet that arrives after the validating run but was sent before it', () => {
    const stats = pcmuStats()
    // 10 and 11 validate the source; 8 was sent earlier and arrives late (9 is lost).
    assert.deepEqual(feed(stats, [10, 11, 12, 8]), ['probation', 'in-order', 'in-order', 'reordered'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 4)
    assert.equal(snapshot.expected, 5)
    assert.equal(snapshot.lost, 1)
  })

  it('counts first packets that arrive out of order, before the source is validated', () => {
    const stats = pcmuStats()
    // 3 arrives before 1 and 2: it breaks the probation run, then 1, 2 validate the source.
    const verdicts = feed(stats, [3, 1, 2, ...range(4, 50)])
    assert.deepEqual(verdicts.slice(0, 4), ['probation', 'probation', 'in-order', 'in-order'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 50)
    assert.equal(snapshot.expected, 50)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.octets, 50 * 160)
    assert.equal(snapshot.extendedHighestSeq, 50)
    assert.equal(snapshot.jitter, 0, 'reordered arrivals on the sender\'s timing add no jitter')
  })

  it('counts several reordered first packets, behind and ahead of the validating run, each once', () => {
    const stats = pcmuStats()
    // 12 and 10 are late, 15 early; 13 arrives twice; then the stream flows from 16.
    feed(stats, [15, 12, 13, 13, 10, 14, ...range(16, 40), 11])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.expected, 31, '10..40')
    assert.equal(snapshot.received, 31)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.extendedHighestSeq, 40)
    const second = pcmuStats()
    // The same start with a real loss: 11 never comes.
    feed(second, [15, 12, 13, 10, 14, ...range(16, 40)])
    assert.equal(second.snapshot().expected, 31)
    assert.equal(second.snapshot().lost, 1)
  })

  it('counts reordered first packets across the 65535 → 0 wrap', () => {
    const stats = pcmuStats()
    // 65535 arrives first, then 65533, 65534 validate; 0.. follow.
    feed(stats, [65535, 65533, 65534, ...range(65536, 65536 + 20)])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 24)
    assert.equal(snapshot.expected, 24)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.extendedHighestSeq, 65536 + 20)
  })

  it('does not count duplicates twice', () => {
    const stats = pcmuStats()
    const verdicts = feed(stats, [0, 1, 2, 2, 3, 1, 4, 4])
    assert.deepEqual(verdicts, ['probation', 'in-order', 'in-order', 'duplicate', 'in-order', 'duplicate', 'in-order', 'duplicate'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 5)
    assert.equal(snapshot.duplicates, 3)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.octets, 5 * 160)
  })

  it('counts cycles across the 65535 → 0 wrap', () => {
    const stats = pcmuStats()
    feed(stats, range(65530, 65545))
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 16)
    assert.equal(snapshot.expected, 16)
    assert.equal(snapshot.lost, 0)
    // One cycle (65536) plus sequence number 9.
    assert.equal(snapshot.extendedHighestSeq, 65536 + 9)
    assert.equal(stats.reportBlockFields(0).extendedHighestSeq, 0x00010009)
  })

  it('handles probation straddling the wrap and a late packet from before the wrap', () => {
    const stats = pcmuStats()
    feed(stats, [65535, 0, 1, 2, 4])
    assert.deepEqual(feed(stats, [65535, 3]), ['duplicate', 'reordered'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 6)
    assert.equal(snapshot.expected, 6)
    assert.equal(snapshot.duplicates, 1)
  })

  it('treats a packet MAX_MISORDER (100) or more behind as a jump, not a late packet', () => {
    const stats = pcmuStats()
    feed(stats, range(0, 299).filter((seq) => seq !== 200))
    // 99 behind the highest (299): late, then a duplicate of it; 100 and 249 behind: jumps (A.1).
    assert.deepEqual(feed(stats, [200, 200, 199, 50]), ['reordered', 'duplicate', 'jump', 'jump'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.received, 300)
    assert.equal(snapshot.lost, 0)
  })

  it('resyncs after a large jump confirmed by a second sequential packet', () => {
    const stats = pcmuStats()
    feed(stats, range(0, 49))
    // A lone stray far away is held back and not counted.
    assert.deepEqual(feed(stats, [20000]), ['jump'])
    feed(stats, [50, 51])
    // The source restarts at 40000: the first packet is held, the second confirms.
    assert.deepEqual(feed(stats, range(40000, 40009)).slice(0, 3), ['jump', 'in-order', 'in-order'])
    const snapshot = stats.snapshot()
    assert.equal(snapshot.restarts, 1)
    assert.equal(snapshot.received, 52 + 10)
    assert.equal(snapshot.expected, 52 + 10)
    assert.equal(snapshot.lost, 0)
    assert.equal(snapshot.extendedHighestSeq, 40009)
    assert.equal(snapshot.octets, 62 * 160)
  })

  it('starts jitter afresh when a restarted source brings a new timestamp base', () => {
    const stats = pcmuStats()
    for (let index = 0; index < 20; index++) stats.onPacket(index, 1000 + index * FRAME_TS, index * FRAME_MS, 160)
    // Restart: new sequence and timestamp bases, still perfectly paced.
    for (let index = 20; index < 40; index++) stats.onPacket(30000 + index, 0x7fff0000 + index * FRAME_TS, index * FRAME_MS, 160)
    const snapshot = stats.snapshot()
    assert.equal(snapshot.restarts, 1)
    assert.equal(snapshot.jitter, 0)
  })

  it('computes jitter for alternating arrival offsets as the RFC recursion does', () => {
    const stats = pcmuStats()
    const count = 200
    for (let index = 0; index < count; index++) {
      // Every other packet arrives 5 ms late: |D| = 5 ms = 40 timestamp units each time.
      stats.onPacket(index, index * FRAME_TS, index * FRAME_MS + (index % 2 === 1 ? 5 : 0), 160)
    }
    let expected = 0
    for (let update = 1; update < count; update++) expected += (40 - expected) / 16
    const snapshot = stats.snapshot()
    assert.ok(Math.abs(snapshot.jitter - expected) < 1e-9, `jitter ${snapshot.jitter} vs ${expected}`)
    // Closed form of the recursion: 40 · (1 − (15/16)^n).
    assert.ok(Math.abs(snapshot.jitter - 40 * (1 - (15 / 16) ** (count - 1))) < 1e-9)
    assert.ok(Math.abs(snapshot.jitterMs - expected / 8) < 1e-9)
    assert.equal(stats.reportBlockFields(0).jitter, 39)
  })

  it('computes jitter for irregular arrivals by A.8 step by step', () => {
    const stats = new ReceiverStats({ssrc: 1, clockRate: 48000})
    const offsets = [0, 3, 1, 7, 2, 2, 9, 0, 4, 4]
    let jitter = 0
    let previousTransit: number | undefined
    offsets.forEach((offset, index) => {
      // Opus: 960 timestamp units per 20 ms; timestamps start near the 32-bit wrap.
      const timestamp = (0xfffff000 + index * 960) >>> 0
      const arrivalMs = 5000 + index * 20 + offset
      stats.onPacket(100 + index, timestamp, arrivalMs, 80)
      const transit = arrivalMs * 48 - (0xfffff000 + index * 960)
      if (previousTransit !== undefined) jitter += (Math.abs(transit - previousTransit) - jitter) / 16
      previousTransit = transit
    })
    assert.ok(Math.abs(stats.snapshot().jitter - jitter) < 1e-6, `${stats.snapshot().jitter} vs ${jitter}`)
    assert.ok(Math.abs(stats.snapshot().jitterMs - jitter / 48) < 1e-6)
  })

  it('reports the fraction lost over each interval', () => {
    const stats = pcmuStats()
    feed(stats, range(0, 99))
    const first = stats.reportBlockFields(0)
    assert.equal(first.fractionLost, 0)
    assert.equal(first.cumulativeLost, 0)
    // Next interval: 100 expected, 25 lost (every fourth).
    feed(stats, range(100, 199).filter((seq) => seq % 4 !== 0))
    assert.equal(stats.snapshot().fractionLostInterval, 0.25)
    const second = stats.reportBlockFields(0)
    assert.equal(second.fractionLost, 64) // 25 · 256 / 100
    assert.equal(second.cumulativeLost, 25)
    assert.equal(second.extendedHighestSeq, 199)
    assert.equal(second.ssrc, 0x1234)
    // A clean interval after it: fraction back to 0, cumulative stays.
    feed(stats, range(200, 249))
    const third = stats.reportBlockFields(0)
    assert.equal(third.fractionLost, 0)
    assert.equal(third.cumulativeLost, 25)
    assert.equal(stats.snapshot().fractionLostInterval, 0)
  })

  it('clamps cumulative loss to 24 bits in reports but not in the snapshot', () => {
    const stats = pcmuStats()
    // Steps of 2999 (inside MAX_DROPOUT) lose 2998 packets each.
    feed(stats, [0, 1])
    let seq = 1
    for (let step = 0; step < 2900; step++) {
      seq += 2999
      feed(stats, [seq])
    }
    const lost = 2900 * 2998
    assert.equal(stats.snapshot().lost, lost)
    assert.ok(lost > 0x7fffff)
    assert.equal(stats.reportBlockFields(0).cumulativeLost, 0x7fffff)
  })

  it('fills LSR and DLSR from the last SR of the source', () => {
    const stats = pcmuStats()
    feed(stats, range(0, 9))
    assert.equal(stats.reportBlockFields(0).lastSenderReport, 0)
    assert.equal(stats.reportBlockFields(0).delaySinceLastSenderReport, 0)
    stats.onSenderReport(0x12345678, 0x9abcdef0, 10_000)
    const fields = stats.reportBlockFields(10_500)
    assert.equal(fields.lastSenderReport, 0x56789abc)
    // 0.5 s in 1/65536 s.
    assert.equal(fields.delaySinceLastSenderReport, 32768)
  })
})
