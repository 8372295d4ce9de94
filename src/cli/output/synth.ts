// How `synth call` and `smoke` look on a terminal: the per-call table, the
// summary of a run, and one line per smoke check. Pure functions of the data.
// The live progress view is ./synth-progress.js (ink), imported dynamically.
import {describeThresholds} from '../../synth/options.js'
import type {Distribution, SynthReport, SyntheticCallResult} from '../../synth/types.js'
import {keyValues, table} from './format.js'

/** Calls shown one per row at most; beyond that only the failed ones (up to this many). */
export const MAX_CALL_ROWS = 20

const fixed = (value: number | null | undefined, digits: number): string => (value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits))
const pair = (inbound: number | null | undefined, outbound: number | null | undefined, digits: number): string => `${fixed(inbound, digits)} / ${fixed(outbound, digits)}`

export const SYNTH_CALLS_HEAD = ['#', 'status', 'PDD ms', 'answer ms', 'secs', 'codec', 'sent', 'recv', 'loss % in/out', 'jitter ms in/out', 'RTT ms', 'MOS in/out', 'result'] as const

const row = (call: SyntheticCallResult): string[] => [
  String(call.index),
  `${call.sipStatus} ${call.sipReason}`,
  fixed(call.pddMs, 0),
  fixed(call.answerMs, 0),
  call.answerMs === null ? '-' : fixed(call.durationS, 1),
  call.codec ?? '-',
  call.outbound === null ? '-' : String(call.outbound.packetsSent),
  call.inbound === null ? '-' : String(call.inbound.packetsReceived),
  call.inbound === null ? '-' : pair(call.inbound.lossPercent, call.outbound?.lossPercent, 1),
  call.inbound === null ? '-' : pair(call.inbound.jitterMs, call.outbound?.jitterMs, 1),
  call.rttMs !== null ? fixed(call.rttMs, 1) : call.audioDelayMs !== null ? `${fixed(call.audioDelayMs, 0)} (audio)` : '-',
  call.inbound === null ? '-' : pair(call.inbound.mos, call.outbound?.mos, 2),
  call.passed ? 'pass' : 'FAIL',
]

export const synthCallsTable = (calls: readonly SyntheticCallResult[]): string => table(SYNTH_CALLS_HEAD, calls.map(row))

const spread = (stats: Distribution, digits: number, unit = ''): string =>
  stats.count === 0 ? '-' : `min ${fixed(stats.min, digits)}  mean ${fixed(stats.mean, digits)}  p95 ${fixed(stats.p95, digits)}  max ${fixed(stats.max, digits)}${unit}`

const counts = (record: Readonly<Record<string, number>>): string =>
  Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key} ×${value}`)
    .join(', ') || '-'

/** Everything a human reads after a run: calls, summary, failures. */
export const synthReportText = (report: SynthReport): string => {
  const {summary} = report
  const out: string[] = []
  const shown = report.calls.length <= MAX_CALL_ROWS ? report.calls : report.calls.filter((call) => !call.passed).slice(0, MAX_CALL_ROWS)
  if (shown.length > 0) out.push(synthCallsTable(shown))
  if (report.calls.length > MAX_CALL_ROWS) out.push(`(${shown.length === 0 ? 'no failed call' : `${shown.length} failed call(s)`} shown of ${report.calls.length}; --json has every call)`)
  const notRun = report.settings.count - report.calls.length
  out.push(
    keyValues([
      ['Target', `${report.target} (${report.transport.toUpperCase()}, from ${report.settings.from})`],
      ['Calls', `${summary.calls}${notRun > 0 ? ` of ${report.settings.count} (interrupted)` : ''}: ${summary.passed} passed, ${summary.failed} failed in ${fixed(summary.elapsedS, 1)} s`],
      ['Thresholds', describeThresholds(report.thresholds)],
      ['SIP status', counts(summary.statuses)],
      ['Result', counts(summary.results)],
      ['PDD ms', spread(summary.pddMs, 0)],
      ['Answer ms', spread(summary.answerMs, 0)],
      ['MOS in', spread(summary.mosInbound, 2)],
      ['MOS out', summary.mosOutbound.count === 0 ? '- (the far end sent no RTCP report about our stream)' : spread(summary.mosOutbound, 2)],
      ['Loss % in', spread(summary.lossPercentInbound, 2)],
      ['Loss % out', spread(summary.lossPercentOutbound, 2)],
      ['Jitter ms in', spread(summary.jitterMsInbound, 1)],
      ['Jitter ms out', spread(summary.jitterMsOutbound, 1)],
      ['RTT ms', summary.rttMs.count === 0 ? '- (not measured by RTCP)' : spread(summary.rttMs, 1)],
    ]),
  )
  const failed = report.calls.filter((call) => !call.passed)
  if (failed.length > 0) {
    out.push('Failed:')
    for (const call of failed.slice(0, 50)) for (const failure of call.failures) out.push(`  #${call.index} ${failure.threshold}: ${failure.message}`)
    if (failed.length > 50) out.push(`  … and ${failed.length - 50} more call(s)`)
  }
  return out.join('\n')
}

export type SmokeOutcome = 'ok' | 'fail' | 'skip'

export interface SmokeCheckView {
  readonly name: string
  readonly outcome: SmokeOutcome
  readonly detail: string
}

const OUTCOME_WORD: Readonly<Record<SmokeOutcome, string>> = {ok: 'ok', fail: 'FAIL', skip: 'skip'}

/** `ok    metrics  valid Prometheus text, …`: the outcome and the name padded so the details line up. */
export const smokeLine = (check: SmokeCheckView): string => `${OUTCOME_WORD[check.outcome].padEnd(5)} ${check.name.padEnd(8)} ${check.detail}`
