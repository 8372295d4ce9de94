// The figures of a run over all its calls: counts per status and result, and
// min / mean / p50 / p95 / max of each measure over the calls that have it.
import type {Distribution, SynthSummary, SyntheticCallResult} from './types.js'

const round = (value: number, digits = 3): number => {
  const scale = 10 ** digits
  return Math.round(value * scale) / scale
}

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: readonly number[], share: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))] as number

export const distribution = (values: ReadonlyArray<number | null | undefined>): Distribution => {
  const present = values.filter((value): value is number => typeof value === 'number' && Number.isFinite(value)).sort((a, b) => a - b)
  if (present.length === 0) return {count: 0, min: null, mean: null, p50: null, p95: null, max: null}
  const sum = present.reduce((total, value) => total + value, 0)
  return {
    count: present.length,
    min: round(present[0] as number),
    mean: round(sum / present.length),
    p50: round(percentile(present, 0.5)),
    p95: round(percentile(present, 0.95)),
    max: round(present[present.length - 1] as number),
  }
}

const countBy = (values: readonly string[]): Record<string, number> => {
  const counts: Record<string, number> = {}
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1
  return counts
}

export const summarize = (calls: readonly SyntheticCallResult[], elapsedS: number, loopDelayMs: SynthSummary['loopDelayMs'] = {p99: 0, max: 0}): SynthSummary => {
  const withMedia = calls.filter((call) => call.inbound !== null && call.inbound.packetsReceived > 0)
  return {
    calls: calls.length,
    passed: calls.filter((call) => call.passed).length,
    failed: calls.filter((call) => !call.passed).length,
    results: countBy(calls.map((call) => call.result)),
    statuses: countBy(calls.map((call) => String(call.sipStatus))),
    pddMs: distribution(calls.map((call) => call.pddMs)),
    answerMs: distribution(calls.map((call) => call.answerMs)),
    mosInbound: distribution(withMedia.map((call) => call.inbound?.mos)),
    mosOutbound: distribution(calls.map((call) => call.outbound?.mos)),
    lossPercentInbound: distribution(withMedia.map((call) => call.inbound?.lossPercent)),
    lossPercentOutbound: distribution(calls.map((call) => call.outbound?.lossPercent)),
    jitterMsInbound: distribution(withMedia.map((call) => call.inbound?.jitterMs)),
    jitterMsOutbound: distribution(calls.map((call) => call.outbound?.jitterMs)),
    rttMs: distribution(calls.map((call) => call.rttMs)),
    elapsedS: round(elapsedS, 3),
    loopDelayMs: {p99: round(loopDelayMs.p99, 1), max: round(loopDelayMs.max, 1)},
  }
}
