import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {IDLE_SAMPLE_MS, IdleCollectionPolicy, type LoadSample} from '../../../../daemon/memory/idle-collection.js'

const MB = 1_000_000

/** Feeds the samples one interval apart; returns the indexes at which the policy collected. */
const run = (policy: IdleCollectionPolicy, samples: Array<[load: number, rssMb: number]>, startMs = 0): number[] => {
  const collected: number[] = []
  samples.forEach(([load, rssMb], index) => {
    const sample: LoadSample = {load, rssBytes: rssMb * MB, atMs: startMs + index * IDLE_SAMPLE_MS}
    if (policy.next(sample)) collected.push(index)
  })
  return collected
}

describe('IdleCollectionPolicy: a full collection once a load is over', () => {
  it('collects once, after two quiet samples, when a burst grew the RSS and fell away', () => {
    const policy = new IdleCollectionPolicy()
    // Idle at 100 MB, a burst to 800 of load and 250 MB, then quiet.
    assert.deepEqual(run(policy, [[0, 100], [400, 180], [800, 250], [50, 250], [10, 250], [0, 250], [0, 250], [0, 250]]), [4])
  })

  it('never collects while the load holds up, however large the RSS', () => {
    const policy = new IdleCollectionPolicy()
    assert.deepEqual(run(policy, [[0, 100], [1000, 300], [900, 320], [950, 330], [1000, 330], [800, 330]]), [])
  })

  it('does not take a lull of one sample for the end of the load', () => {
    const policy = new IdleCollectionPolicy()
    assert.deepEqual(run(policy, [[0, 100], [500, 200], [20, 200], [500, 210], [20, 210], [500, 210]]), [])
  })

  it('leaves a load too small to matter, and one that grew no memory, alone', () => {
    assert.deepEqual(run(new IdleCollectionPolicy(), [[0, 100], [15, 150], [0, 150], [0, 150], [0, 150]]), [], 'peak under the minimum')
    assert.deepEqual(run(new IdleCollectionPolicy(), [[0, 100], [800, 109], [0, 109], [0, 109], [0, 109]]), [], 'RSS within 10 % of the baseline')
  })

  it('collects again once the load left at the first collection (transactions still held) is gone, then stops', () => {
    const policy = new IdleCollectionPolicy()
    // A flood ends at index 2; the first collection (index 3) finds 200 transactions still held and leaves 140 MB.
    // They expire, the load is quiet again, and 30 s after the first comes a second; with no new load, no third.
    const samples: Array<[number, number]> = [[0, 100], [1000, 250], [200, 250], [200, 250], [200, 140], [100, 140], [0, 140], [0, 140], [0, 140], [0, 140], [0, 105], [0, 105], [0, 105], [0, 105], [0, 105], [0, 105], [0, 105]]
    assert.deepEqual(run(policy, samples), [3, 9])
  })

  it('does not collect again after a collection that came back within 10 % of the idle RSS', () => {
    const policy = new IdleCollectionPolicy()
    assert.deepEqual(run(policy, [[0, 100], [1000, 250], [200, 250], [200, 250], [200, 108], [100, 108], [0, 108], [0, 108], [0, 108], [0, 108], [0, 108]]), [3])
  })

  it('waits 30 s between collections, and a collection that gave nothing back is not repeated without a new load', () => {
    const policy = new IdleCollectionPolicy()
    // The first burst ends and is collected at index 3 (back to 120 MB); a second burst is quiet again at index 7, 20 s later: too soon.
    const collected = run(policy, [[0, 100], [800, 250], [0, 250], [0, 250], [0, 120], [800, 260], [0, 260], [0, 260], [0, 260], [0, 260]])
    assert.deepEqual(collected, [3, 9], 'the second no sooner than 30 s after the first')
    // After that, the RSS stays where it is with no load: nothing more.
    assert.deepEqual(run(policy, [[0, 260], [0, 260], [0, 260], [0, 260], [0, 260], [0, 260], [0, 260], [0, 260]], 10 * IDLE_SAMPLE_MS), [])
  })
})
