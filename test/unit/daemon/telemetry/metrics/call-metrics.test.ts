import assert from 'node:assert/strict'
import {it} from 'node:test'
import pino from 'pino'
import {Registry} from 'prom-client'
import {Call} from '../../../../../daemon/calls/call.js'
import {CallRegistry} from '../../../../../daemon/calls/registry.js'
import {CallMetrics, LOSS_INTERVAL_MS} from '../../../../../daemon/telemetry/metrics/call-metrics.js'
import {createMetricFamilies} from '../../../../../daemon/telemetry/metrics/families.js'

const value = async (registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> => {
  // Histogram samples are named <family>_count / _sum / _bucket inside the family.
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name || name.startsWith(`${entry.name}_`))
  const sample = metric?.values.find(
    (entry) => ((entry as {metricName?: string}).metricName ?? metric.name) === name && Object.entries(labels).every(([key, expected]) => String(entry.labels[key]) === expected),
  )
  return sample?.value
}

it('call events drive calls_total, calls_active, duration, RTP packets, loss ratio, jitter and MOS', async (t) => {
  const prom = new Registry()
  const families = createMetricFamilies(prom)
  const calls = new CallRegistry()
  const sink = new CallMetrics(calls, families)
  t.after(() => sink.stop())
  const log = pino({level: 'silent'})

  const answered = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'x'}, calls, log)
  const busy = new Call({tenant: 'acme', trunk: 'a', direction: 'outbound', from: '1', to: '3', sipCallId: 'y'}, calls, log)
  assert.equal(await value(prom, 'clutchcall_calls_active', {tenant: 'acme', trunk: 'a'}), 2)

  answered.answered('PCMU')
  answered.qualityUpdate({codec: 'PCMU', packetsSent: 100, packetsReceived: 95, packetsLost: 5, bytesSent: 17_200, lossRatio: 0.05, jitterMs: 4, rttMs: null, estimatedMos: 4.1})
  assert.equal(await value(prom, 'clutchcall_rtp_packets_total', {direction: 'rx', codec: 'PCMU'}), 95)
  await new Promise((resolve) => setTimeout(resolve, LOSS_INTERVAL_MS + 100))
  assert.equal(await value(prom, 'clutchcall_rtp_loss_ratio', {tenant: 'acme'}), 0.05)

  busy.finish({cause: 17, status: 'busy'})
  answered.finish({cause: 16, status: 'completed'}, {codec: 'PCMU', packetsSent: 150, packetsReceived: 145, packetsLost: 5, bytesSent: 25_800, lossRatio: 0, jitterMs: 6, rttMs: 10, estimatedMos: 4.2})

  assert.equal(await value(prom, 'clutchcall_calls_active', {tenant: 'acme', trunk: 'a'}), 0)
  assert.equal(await value(prom, 'clutchcall_calls_total', {tenant: 'acme', trunk: 'a', direction: 'outbound', result: 'busy'}), 1)
  assert.equal(await value(prom, 'clutchcall_calls_total', {tenant: 'acme', trunk: 'a', direction: 'inbound', result: 'completed'}), 1)
  assert.equal(await value(prom, 'clutchcall_rtp_packets_total', {direction: 'rx', codec: 'PCMU'}), 145, 'the final report adds only the difference')
  assert.equal(await value(prom, 'clutchcall_rtp_packets_total', {direction: 'tx', codec: 'PCMU'}), 150)
  assert.equal(await value(prom, 'clutchcall_call_duration_seconds_count', {tenant: 'acme', trunk: 'a', result: 'busy'}), 1)
  assert.equal(await value(prom, 'clutchcall_jitter_ms_sum', {tenant: 'acme'}), 6, 'only the call with media observes jitter')
  assert.equal(await value(prom, 'clutchcall_estimated_mos_count', {tenant: 'acme'}), 1)
  assert.equal(await value(prom, 'clutchcall_estimated_mos_sum', {tenant: 'acme'}), 4.2)
})

it('refused attempts are counted by tenant, trunk and reason; an unanswered call\'s packets keep their encoding', async (t) => {
  const prom = new Registry()
  const families = createMetricFamilies(prom)
  const calls = new CallRegistry()
  const sink = new CallMetrics(calls, families)
  t.after(() => sink.stop())
  calls.refused({reason: 'unknown_source', status: 403, tenant_id: 'none', trunk_id: 'none'})
  calls.refused({reason: 'unknown_source', status: 403, tenant_id: 'none', trunk_id: 'none'})
  calls.refused({reason: 'no_route', status: 404, tenant_id: 'acme', trunk_id: 'a', call_sid: 'CA1'})
  assert.equal(await value(prom, 'clutchcall_call_attempts_refused_total', {tenant: 'none', trunk: 'none', reason: 'unknown_source'}), 2)
  assert.equal(await value(prom, 'clutchcall_call_attempts_refused_total', {tenant: 'acme', trunk: 'a', reason: 'no_route'}), 1)

  // Early RTP from a caller who then cancels: the call has no codec, its packets are PCMA.
  const ringing = new Call({tenant: 'acme', trunk: 'a', direction: 'inbound', from: '1', to: '2', sipCallId: 'z'}, calls, pino({level: 'silent'}))
  ringing.qualityUpdate({codec: 'PCMA', packetsSent: 0, packetsReceived: 20, packetsLost: 0, bytesSent: 0, lossRatio: 0, jitterMs: 1, rttMs: null, estimatedMos: 4.4})
  ringing.finish({cause: 16, status: 'canceled'}, {codec: 'PCMA', packetsSent: 0, packetsReceived: 30, packetsLost: 0, bytesSent: 0, lossRatio: 0, jitterMs: 1, rttMs: null, estimatedMos: 4.4})
  assert.equal((await ringing.ended).codec, '')
  assert.equal(await value(prom, 'clutchcall_rtp_packets_total', {direction: 'rx', codec: 'PCMA'}), 30, 'every packet of the CDR counted')
})
