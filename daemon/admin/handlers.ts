// What each admin method does, keyed by the method table so that a method
// without a handler (or a handler with the wrong result type) fails to compile.
import {CALLS_EVENT_NOTIFICATION} from '../../src/admin/protocol.js'
import type {CallEvent, CallSummary} from '../../src/calls/events.js'
import {CCError} from '../../src/errors.js'
import type {Gateway} from '../gateway.js'
import type {AdminHandlers} from './server.js'

interface CallFilter {
  readonly tenant?: string | undefined
  readonly trunk?: string | undefined
}

const matches = (filter: CallFilter, call: {tenant_id: string; trunk_id: string}): boolean =>
  (filter.tenant === undefined || call.tenant_id === filter.tenant) && (filter.trunk === undefined || call.trunk_id === filter.trunk)

const activeCalls = (gateway: Gateway, filter: CallFilter): CallSummary[] =>
  gateway.calls
    .list()
    .map((call) => call.summary())
    .filter((summary) => matches(filter, summary))
    .sort((a, b) => a.start_timestamp_ms - b.start_timestamp_ms)

export const createAdminHandlers = (gateway: Gateway): AdminHandlers => ({
  'daemon.status': () => gateway.status(),
  'daemon.stop': ({timeout_ms}) => gateway.requestStop(timeout_ms),
  'calls.list': (filter) => ({calls: activeCalls(gateway, filter)}),
  'calls.get': ({call_sid}) => {
    const call = gateway.calls.get(call_sid)
    if (!call) throw new CCError('CC_ERR_CALL_NOT_FOUND', {call_sid})
    return call.summary()
  },
  'calls.hangup': async ({call_sid, cause}) => {
    const call = gateway.calls.get(call_sid)
    if (!call) throw new CCError('CC_ERR_CALL_NOT_FOUND', {call_sid})
    await call.hangup(cause)
    return {call_sid, q850_cause: cause}
  },
  'cdr.status': () => gateway.cdrStatus(),
  'cdr.flush': ({timeout_ms}) => gateway.cdrFlush(timeout_ms),
  'hep.enable': (params) => gateway.hepEnable(params),
  'hep.disable': () => gateway.hepDisable(),
  'hep.status': () => gateway.hepStatus(),
  'tracing.trace': ({trace_id}) => gateway.tracingTrace(trace_id),
  'config.reload': () => gateway.reloadConfig('command'),
  'security.bans': () => gateway.securityBans(),
  'trunks.status': () => gateway.trunksStatus(),
  'security.unban': ({address}) => gateway.securityUnban(address),
  'calls.subscribe': (filter, connection) => {
    // Events published while the answer is being written queue behind it on the socket, so none is lost or reordered.
    const forward = (event: CallEvent) => {
      if (matches(filter, event)) connection.notify(CALLS_EVENT_NOTIFICATION, event)
    }
    gateway.calls.on('event', forward)
    connection.onClose(() => gateway.calls.off('event', forward))
    return {calls: activeCalls(gateway, filter)}
  },
})
