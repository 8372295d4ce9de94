// Feeds the SRTP/SRTCP packets the media shards refused (a wrong tag: a bad
// key or a corrupted packet; a replay) into
// clutchcall_srtp_packets_dropped_total, from each stream's counters as its
// quality reports and its end bring them.
import type {MetricFamilies} from '../telemetry/metrics/families.js'
import type {MediaEngine} from './engine.js'
import type {MediaStream} from './media-stream.js'

/** Counts every stream's refused SRTP packets; returns the function that stops it. */
export const observeSrtpDrops = (engine: MediaEngine, counter: MetricFamilies['srtpPacketsDroppedTotal']): (() => void) => {
  const counted = new WeakMap<MediaStream, {rtp: number; rtcp: number}>()
  const count = (stream: MediaStream, counters: {readonly droppedSrtp: number; readonly droppedSrtcp: number}): void => {
    const before = counted.get(stream) ?? {rtp: 0, rtcp: 0}
    if (counters.droppedSrtp > before.rtp) counter.inc({packet: 'rtp'}, counters.droppedSrtp - before.rtp)
    if (counters.droppedSrtcp > before.rtcp) counter.inc({packet: 'rtcp'}, counters.droppedSrtcp - before.rtcp)
    counted.set(stream, {rtp: Math.max(before.rtp, counters.droppedSrtp), rtcp: Math.max(before.rtcp, counters.droppedSrtcp)})
  }
  const onQuality = (stream: MediaStream, _quality: unknown, counters: {readonly droppedSrtp: number; readonly droppedSrtcp: number}): void => {
    if (!counted.has(stream)) stream.once('ended', () => count(stream, stream.counters()))
    count(stream, counters)
  }
  engine.on('quality', onQuality)
  return () => engine.off('quality', onQuality)
}
