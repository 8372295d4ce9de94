// The media shards' event-loop lag, from a daemon's Prometheus endpoint:
// clutchcall_codec_engine_lag_us per shard, and its quantiles between two scrapes.

export const scrape = async (url) => (await fetch(url)).text()
/** Cumulative bucket counts of clutchcall_codec_engine_lag_us per shard. */
export const lagBuckets = (text) => {
  const shards = new Map()
  for (const match of text.matchAll(/^clutchcall_codec_engine_lag_us_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((label) => [label[1], label[2]]))
    const le = labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(labels.le)
    const list = shards.get(labels.shard) ?? []
    list.push([le, Number(match[2])])
    shards.set(labels.shard, list)
  }
  for (const list of shards.values()) list.sort((a, b) => a[0] - b[0])
  return shards
}
/** histogram_quantile over the difference of two scrapes, per shard (linear within a bucket, as Prometheus does). */
export const lagQuantiles = (before, after, q) => {
  const result = []
  for (const [shard, buckets] of after) {
    const earlier = new Map(before.get(shard) ?? [])
    const delta = buckets.map(([le, count]) => [le, count - (earlier.get(le) ?? 0)])
    const total = delta.at(-1)?.[1] ?? 0
    if (total === 0) {
      result.push({shard, value: Number.NaN, samples: 0})
      continue
    }
    const rank = q * total
    let previousLe = 0
    let previousCount = 0
    let value = Number.NaN
    for (const [le, count] of delta) {
      if (count >= rank) {
        value = le === Number.POSITIVE_INFINITY ? previousLe : previousLe + ((le - previousLe) * (rank - previousCount)) / Math.max(1, count - previousCount)
        break
      }
      previousLe = le
      previousCount = count
    }
    const finite = delta.filter(([le]) => le !== Number.POSITIVE_INFINITY).at(-1)
    result.push({shard, value, samples: total, over: finite ? {le: finite[0], share: (total - finite[1]) / total} : undefined})
  }
  return result.sort((a, b) => Number(a.shard) - Number(b.shard))
}
