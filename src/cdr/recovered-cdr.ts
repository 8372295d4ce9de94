// The CDR of a call the gateway lost track of: it was connected when the
// daemon died (SIGKILL, crash, power loss), so nobody saw it end. Carriers
// bill it, so it gets a row, marked so that it can be told apart:
//   status `failed`, q850_cause 41 (temporary failure: the gateway failed, not the call),
//   end = the last moment the call was known to be connected (its last checkpoint),
//   duration = answer to that end, media counters as of that checkpoint.
import {Q850_TEMPORARY_FAILURE} from '../sip/q850.js'
import type {JournaledCall} from './journal-format.js'
import type {CdrRecord} from './record.js'

export const RECOVERED_STATUS = 'failed'
export const RECOVERED_CAUSE = Q850_TEMPORARY_FAILURE

export const recoveredCdr = (call: JournaledCall): CdrRecord => {
  const end = Math.max(call.last_seen_ms, call.answer_timestamp_ms)
  return {
    call_sid: call.call_sid,
    tenant_id: call.tenant_id,
    trunk_id: call.trunk_id,
    direction: call.direction,
    from_number: call.from_number,
    to_number: call.to_number,
    start_timestamp_ms: call.start_timestamp_ms,
    answer_timestamp_ms: call.answer_timestamp_ms,
    end_timestamp_ms: end,
    duration_seconds: Math.max(0, Math.round((end - call.answer_timestamp_ms) / 1000)),
    q850_cause: RECOVERED_CAUSE,
    status: RECOVERED_STATUS,
    codec: call.codec,
    packets_sent: call.packets_sent,
    packets_received: call.packets_received,
    packets_lost: call.packets_lost,
    bytes_sent: call.bytes_sent,
    jitter_ms: call.jitter_ms,
    estimated_mos: call.estimated_mos,
    recording_url: call.recording_url,
    agent_id: call.agent_id,
  }
}
