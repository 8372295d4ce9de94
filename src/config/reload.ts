// What a config reload (`clutchcall config reload`, SIGHUP) does with each
// changed key: the routing of calls (tenants, trunks, dialplans) and SIP abuse
// control (security) apply to the calls that start from then on; what is
// bound when the daemon starts (listeners, ports, sockets, telemetry sinks,
// the node's identity) keeps its running value until a restart, and the
// reload says so. Pure: the daemon compares the running config with the one
// it has just read and validated.
import type {Config} from './schema.js'

/** Keys (and everything under them) a running daemon applies on reload. */
export const RELOADABLE_KEYS: readonly string[] = ['tenants', 'trunks', 'dialplans', 'security', 'sip.drain_grace_s']

/** Keys under a reloadable one that are still bound at start: the SIP transport holds them. */
export const RESTART_ONLY_KEYS: readonly string[] = [
  'security.limits.max_tcp_connections',
  'security.limits.max_tcp_connections_per_source',
  'security.limits.tcp_send_buffer_bytes',
  'security.limits.tcp_message_timeout_ms',
  'security.limits.tls_handshake_timeout_ms',
]

export interface ConfigChanges {
  /** Changed keys whose new values apply to calls that start from now on. */
  readonly applied: string[]
  /** Changed keys that keep their running value until the daemon is restarted. */
  readonly restartRequired: string[]
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value)

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`)

/**
 * The paths at which two configs differ: objects are compared key by key, a list as a whole
 * (a changed trunk reports `trunks`), anything else by value.
 */
export const changedPaths = (before: unknown, after: unknown, path = ''): string[] => {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((key) => changedPaths(before[key], after[key], join(path, key)))
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [path === '' ? '(top level)' : path]
}

const under = (path: string, key: string): boolean => path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)

/** Sorts the changes between the running config and a reloaded one into applied and restart-only. */
export const classifyChanges = (running: Config, reloaded: Config): ConfigChanges => {
  const applied: string[] = []
  const restartRequired: string[] = []
  for (const path of changedPaths(running, reloaded)) {
    const reloadable = RELOADABLE_KEYS.some((key) => under(path, key)) && !RESTART_ONLY_KEYS.some((key) => under(path, key))
    ;(reloadable ? applied : restartRequired).push(path)
  }
  return {applied, restartRequired}
}

/**
 * The config the daemon runs on after a reload: the reloadable keys from the new file, every
 * other key as it was at start (those report as restart-required until a restart).
 */
export const mergeReloaded = (running: Config, reloaded: Config): Config => ({
  ...running,
  tenants: reloaded.tenants,
  trunks: reloaded.trunks,
  dialplans: reloaded.dialplans,
  sip: {...running.sip, drain_grace_s: reloaded.sip.drain_grace_s},
  security: {
    ...reloaded.security,
    limits: {
      ...reloaded.security.limits,
      max_tcp_connections: running.security.limits.max_tcp_connections,
      max_tcp_connections_per_source: running.security.limits.max_tcp_connections_per_source,
      tcp_send_buffer_bytes: running.security.limits.tcp_send_buffer_bytes,
      tcp_message_timeout_ms: running.security.limits.tcp_message_timeout_ms,
    },
  },
})
