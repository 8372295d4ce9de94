// `trunks status` for a human: one table row per trunk, then the last error of
// each trunk that has one (a table cell is too narrow for it).
import type {TrunkStatus} from '../../admin/protocol.js'
import {formatDuration, table} from './format.js'

const registrationCell = (registration: TrunkStatus['registration']): string => {
  switch (registration.state) {
    case 'registered':
      return `registered (expires in ${formatDuration(registration.expiresInS ?? 0)})`
    case 'failed':
      return `failed ×${registration.failures}${registration.nextAttemptInS === null ? '' : ` (retry in ${formatDuration(registration.nextAttemptInS)})`}`
    default:
      return registration.state
  }
}

const reachabilityCell = (reachability: TrunkStatus['reachability']): string => {
  if (reachability.state === 'off') return 'off (taken as up)'
  if (reachability.state === 'unknown') return 'unknown (taken as up)'
  const rtt = reachability.lastRttMs === null ? '' : `, rtt ${reachability.lastRttMs} ms`
  const failures = reachability.consecutiveFailures > 0 ? `, ${reachability.consecutiveFailures} failed in a row` : ''
  return `${reachability.state}${rtt}${failures}`
}

export const trunksStatusView = (trunks: readonly TrunkStatus[]): string => {
  if (trunks.length === 0) return 'No trunk is configured.'
  const rows = trunks.map((trunk) => [trunk.id, trunk.tenant, registrationCell(trunk.registration), reachabilityCell(trunk.reachability), trunk.failover.length === 0 ? '-' : trunk.failover.join(', ')])
  const errors = trunks.flatMap((trunk) => [
    ...(trunk.registration.lastError === null ? [] : [`${trunk.id}: registration: ${trunk.registration.lastError.at} ${trunk.registration.lastError.message}`]),
    ...(trunk.reachability.lastError === null ? [] : [`${trunk.id}: keepalive: ${trunk.reachability.lastError.at} ${trunk.reachability.lastError.message}`]),
  ])
  const view = table(['trunk', 'tenant', 'registration', 'reachability (OPTIONS)', 'failover'], rows)
  return errors.length === 0 ? view : `${view}\nLast errors:\n${errors.map((line) => `  ${line}`).join('\n')}`
}
