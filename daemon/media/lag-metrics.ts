// Feeds each media shard's event-loop lag samples into the
// clutchcall_codec_engine_lag_us{shard} histogram (DESIGN §6).
import type {MetricFamilies} from '../telemetry/metrics/families.js'
import type {MediaEngine, ShardLag} from './engine.js'

/** Observes every lag sample of every shard; returns the function that stops it. */
export const observeShardLag = (engine: MediaEngine, histogram: MetricFamilies['codecEngineLagUs']): (() => void) => {
  const perShard = new Map<number, ReturnType<typeof histogram.labels>>()
  const onLag = (lag: ShardLag): void => {
    let child = perShard.get(lag.shard)
    if (child === undefined) {
      child = histogram.labels({shard: String(lag.shard)})
      perShard.set(lag.shard, child)
    }
    for (const sample of lag.samplesUs) child.observe(sample)
  }
  engine.on('lag', onLag)
  return () => engine.off('lag', onLag)
}
