import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {Registry} from 'prom-client'
import {LagMonitor, percentile} from '../../../../daemon/media/lag-monitor.js'
import {createMetricFamilies} from '../../../../daemon/telemetry/metrics/families.js'
import {observeShardLag} from '../../../../daemon/media/lag-metrics.js'
import type {MediaEngine} from '../../../../daemon/media/engine.js'
import {EventEmitter} from 'node:events'

describe('percentile', () => {
  it('picks by nearest rank', () => {
    const samples = [50, 10, 40, 20, 30]
    assert.equal(percentile(samples, 50), 30)
    assert.equal(percentile(samples, 100), 50)
    assert.equal(percentile(samples, 1), 10)
    assert.equal(percentile([], 99), 0)
  })
})

describe('LagMonitor', () => {
  it('batches one sample per probe and sees a blocked loop', async () => {
    const batches: Float64Array[] = []
    const monitor = new LagMonitor(5, 100, (samples) => batches.push(samples))
    monitor.start()
    await new Promise((resolve) => setTimeout(resolve, 30))
    // Block the loop for 60 ms: the probe due meanwhile fires about that late.
    const until = Date.now() + 60
    while (Date.now() < until);
    await new Promise((resolve) => setTimeout(resolve, 200))
    monitor.stop()
    const settled = batches.length
    await new Promise((resolve) => setTimeout(resolve, 60))
    assert.equal(batches.length, settled, 'no batch after stop()')
    assert.ok(batches.length >= 2, `${batches.length} batches`)
    const all = batches.flatMap((batch) => [...batch])
    assert.ok(Math.max(...all) >= 40_000, `max lag ${Math.max(...all)} µs after a 60 ms block`)
    assert.ok(percentile(all, 50) < 20_000, 'most probes are on time')
  })

  it('rejects a batch shorter than the probe period', () => {
    assert.throws(() => new LagMonitor(10, 5, () => {}), /probe ≤ batch/)
  })
})

describe('observeShardLag', () => {
  it('feeds every sample into clutchcall_codec_engine_lag_us with the shard label', async () => {
    const registry = new Registry()
    const families = createMetricFamilies(registry)
    const engine = new EventEmitter() as unknown as MediaEngine
    const stop = observeShardLag(engine, families.codecEngineLagUs)
    engine.emit('lag', {shard: 1, samplesUs: Float64Array.from([80, 300, 20_000]), p50Us: 300, p99Us: 20_000, maxUs: 20_000})
    stop()
    engine.emit('lag', {shard: 1, samplesUs: Float64Array.from([80]), p50Us: 80, p99Us: 80, maxUs: 80})
    const text = await registry.metrics()
    assert.match(text, /clutchcall_codec_engine_lag_us_count\{shard="1"\} 3/)
    assert.match(text, /clutchcall_codec_engine_lag_us_bucket\{le="100",shard="1"\} 1/)
    assert.match(text, /clutchcall_codec_engine_lag_us_bucket\{le="500",shard="1"\} 2/)
  })
})
