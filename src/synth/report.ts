// A synthetic call in words (one line, for smoke and the JUnit report) and a
// run as a JUnit suite: one test case per call, failing with the thresholds
// it did not meet.
import {describeThresholds} from './options.js'
import type {JunitSuite} from './junit.js'
import type {SynthReport, SyntheticCallResult} from './types.js'

const fixed = (value: number | null | undefined, digits: number): string => (value === null || value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits))

/** `200 OK, PDD 3 ms, 5.0 s, PCMU, MOS 4.41 in / 4.41 out, loss 0.0 / 0.0 %, jitter 0.3 / 0.2 ms, RTT 0.4 ms` */
export const describeCall = (call: SyntheticCallResult): string => {
  const parts = [`${call.sipStatus} ${call.sipReason}`, `PDD ${fixed(call.pddMs ?? call.finalMs, 0)} ms`]
  if (call.sipStatus >= 200 && call.sipStatus < 300) {
    parts.push(`${fixed(call.durationS, 1)} s`, call.codec ?? 'no codec')
    const inbound = call.inbound
    const outbound = call.outbound
    parts.push(
      `MOS ${fixed(inbound?.mos, 2)} in / ${fixed(outbound?.mos, 2)} out`,
      `loss ${fixed(inbound?.lossPercent, 1)} / ${fixed(outbound?.lossPercent, 1)} %`,
      `jitter ${fixed(inbound?.jitterMs, 1)} / ${fixed(outbound?.jitterMs, 1)} ms`,
      `RTT ${fixed(call.rttMs ?? call.audioDelayMs, 1)} ms${call.rttMs === null && call.audioDelayMs !== null ? ' (audio)' : ''}`,
    )
  }
  return parts.join(', ')
}

/** `name=value` lines of everything measured, for <system-out>. */
export const callFacts = (call: SyntheticCallResult): string => {
  const facts: Array<[string, string | number | null]> = [
    ['call_id', call.callId],
    ['started_at', call.startedAt],
    ['sip_status', `${call.sipStatus} ${call.sipReason}`],
    ['status_source', call.statusSource],
    ['result', call.result],
    ['q850_cause', call.q850Cause],
    ['pdd_ms', call.pddMs],
    ['answer_ms', call.answerMs],
    ['final_ms', call.finalMs],
    ['duration_s', call.durationS],
    ['ended_by', call.endedBy],
    ['codec', call.codec],
    ['rtt_ms', call.rttMs],
    ['audio_delay_ms', call.audioDelayMs],
  ]
  if (call.inbound !== null) {
    const inbound = call.inbound
    facts.push(['inbound_packets_received', inbound.packetsReceived], ['inbound_packets_lost', inbound.packetsLost], ['inbound_loss_percent', inbound.lossPercent], ['inbound_jitter_ms', inbound.jitterMs], ['inbound_mos', inbound.mos])
  }
  if (call.outbound !== null) {
    const outbound = call.outbound
    facts.push(['outbound_packets_sent', outbound.packetsSent], ['outbound_source', outbound.source], ['outbound_packets_lost', outbound.packetsLost], ['outbound_loss_percent', outbound.lossPercent], ['outbound_jitter_ms', outbound.jitterMs], ['outbound_mos', outbound.mos])
  }
  return facts.map(([name, value]) => `${name}=${value ?? '-'}`).join('\n')
}

/** The failing thresholds of a call, one per line. */
export const failureText = (call: SyntheticCallResult): string => call.failures.map((failure) => `${failure.threshold}: ${failure.message}`).join('\n')

export const synthJunitSuite = (report: SynthReport, name = 'clutchcall synth call'): JunitSuite => ({
  name: `${name} ${report.target}`,
  timestamp: report.startedAt,
  timeS: report.summary.elapsedS,
  properties: [
    ['target', report.target],
    ['transport', report.transport],
    ['local_address', report.localAddress],
    ['from', report.settings.from],
    ['duration_s', String(report.settings.durationS)],
    ['count', String(report.settings.count)],
    ['concurrency', String(report.settings.concurrency)],
    ['rate', String(report.settings.rate)],
    ['codecs', report.settings.codecs.join(',')],
    ['thresholds', describeThresholds(report.thresholds)],
  ],
  cases: report.calls.map((call) => ({
    name: `call ${call.index} (${call.callId})`,
    classname: 'clutchcall.synth.call',
    timeS: (call.finalMs ?? 0) / 1000 + call.durationS,
    failure: call.passed ? undefined : {type: call.failures[0]?.threshold ?? 'failed', message: call.failures.map((failure) => failure.message).join('; '), text: failureText(call)},
    systemOut: `${describeCall(call)}\n${callFacts(call)}`,
  })),
})
