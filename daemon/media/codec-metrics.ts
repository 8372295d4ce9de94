// Feeds the G.722 and Opus payloads the media shards dropped as undecodable
// into clutchcall_rtp_payloads_undecodable_total{codec}, from each stream's
// counters as its quality reports and its end bring them (as srtp-metrics.ts
// does for refused SRTP).
import type {StreamCounters} from '../../src/media/rtp-stream.js'
import type {MediaQuality} from '../calls/call.js'
import type {MetricFamilies} from '../telemetry/metrics/families.js'
import type {MediaEngine} from './engine.js'
import type {MediaStream} from './media-stream.js'

/** Counts every stream's undecodable payloads by codec; returns the function that stops it. */
export const observeUndecodablePayloads = (engine: MediaEngine, counter: MetricFamilies['rtpPayloadsUndecodableTotal']): (() => void) => {
  const counted = new WeakMap<MediaStream, number>()
  const count = (stream: MediaStream, quality: MediaQuality, counters: Pick<StreamCounters, 'droppedUndecodable'>): void => {
    const before = counted.get(stream) ?? 0
    if (counters.droppedUndecodable > before && quality.codec !== '') counter.inc({codec: quality.codec}, counters.droppedUndecodable - before)
    counted.set(stream, Math.max(before, counters.droppedUndecodable))
  }
  const onQuality = (stream: MediaStream, quality: MediaQuality, counters: StreamCounters): void => {
    if (!counted.has(stream)) stream.once('ended', (final) => count(stream, final, stream.counters()))
    count(stream, quality, counters)
  }
  engine.on('quality', onQuality)
  return () => engine.off('quality', onQuality)
}
