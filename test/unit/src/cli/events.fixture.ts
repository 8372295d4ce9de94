// Scripted call events for the CLI's unit tests: one call's life, A → Z.
import type {ChannelAnswer, ChannelCreate, ChannelHangupComplete, ChannelQuality, CallSummary} from '../../../../src/calls/events.js'

export const T0 = Date.UTC(2026, 0, 15, 9, 30, 0)
export const sid = (n: number): string => `CA${n.toString(16).padStart(32, '0')}`

export const create = (n: number, at = T0): ChannelCreate => ({
  type: 'CHANNEL_CREATE',
  call_sid: sid(n),
  timestamp_ms: at,
  tenant_id: 'acme',
  trunk_id: 'carrier-a',
  direction: 'inbound',
  from_number: '+14155550100',
  to_number: `+1415555019${n % 10}`,
  sip_call_id: `call-${n}@192.0.2.1`,
})

export const answer = (n: number, at = T0 + 2000): ChannelAnswer => ({type: 'CHANNEL_ANSWER', call_sid: sid(n), timestamp_ms: at, tenant_id: 'acme', trunk_id: 'carrier-a', codec: 'PCMU'})

export const quality = (n: number, at = T0 + 3000, mos = 4.21): ChannelQuality => ({
  type: 'CHANNEL_QUALITY',
  call_sid: sid(n),
  timestamp_ms: at,
  tenant_id: 'acme',
  trunk_id: 'carrier-a',
  codec: 'PCMU',
  packets_sent: 50,
  packets_received: 49,
  packets_lost: 1,
  loss_ratio: 0.02,
  jitter_ms: 3.25,
  rtt_ms: 40,
  estimated_mos: mos,
})

export const hangup = (n: number, at = T0 + 67_000): ChannelHangupComplete => ({
  type: 'CHANNEL_HANGUP_COMPLETE',
  call_sid: sid(n),
  timestamp_ms: at,
  tenant_id: 'acme',
  trunk_id: 'carrier-a',
  direction: 'inbound',
  from_number: '+14155550100',
  to_number: `+1415555019${n % 10}`,
  start_timestamp_ms: T0,
  answer_timestamp_ms: T0 + 2000,
  end_timestamp_ms: at,
  duration_seconds: 65,
  q850_cause: 16,
  status: 'completed',
  codec: 'PCMU',
  packets_sent: 3250,
  packets_received: 3240,
  packets_lost: 10,
  bytes_sent: 520_000,
  jitter_ms: 3.1,
  estimated_mos: 4.18,
  recording_url: '',
  agent_id: '',
})

/** A call already up when the subscription started. */
export const summary = (n: number, overrides: Partial<CallSummary> = {}): CallSummary => ({
  call_sid: sid(n),
  sip_call_id: `call-${n}@192.0.2.1`,
  tenant_id: 'acme',
  trunk_id: 'carrier-a',
  direction: 'outbound',
  from_number: '+14155550111',
  to_number: '+4930123456',
  state: 'answered',
  start_timestamp_ms: T0 - 60_000,
  answer_timestamp_ms: T0 - 55_000,
  codec: 'PCMA',
  jitter_ms: 1.5,
  loss_ratio: 0,
  estimated_mos: 4.4,
  node: 'agent',
  ...overrides,
})
