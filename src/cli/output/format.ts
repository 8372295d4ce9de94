// Generic building blocks of human output: tables, key/value blocks, durations.
import Table from 'cli-table3'
import {hostForPort, isWildcardAddress, localAddressFor} from '../../net/addresses.js'

export const table = (head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string => {
  const rendered = new Table({head: [...head], style: {head: [], border: []}})
  for (const row of rows) rendered.push(row.map((cell) => String(cell)))
  return rendered.toString()
}

/** Aligned `key  value` lines. */
export const keyValues = (pairs: ReadonlyArray<readonly [string, string | number]>): string => {
  const width = Math.max(...pairs.map(([key]) => key.length))
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n')
}

/** 3725 → `1h 2m 5s`. */
export const formatDuration = (totalSeconds: number): string => {
  const seconds = Math.max(0, Math.round(totalSeconds))
  const parts: string[] = []
  const days = Math.floor(seconds / 86_400)
  const hours = Math.floor((seconds % 86_400) / 3600)
  const minutes = Math.floor((seconds % 3600) / 60)
  if (days > 0) parts.push(`${days}d`)
  if (hours > 0) parts.push(`${hours}h`)
  if (minutes > 0) parts.push(`${minutes}m`)
  parts.push(`${seconds % 60}s`)
  return parts.join(' ')
}

type ListenerView = {name: string; transport: string; address: string; port?: number; portEnd?: number; url?: string}

/**
 * Where a listener is, as bound: `udp://127.0.0.1:5060`, `http://127.0.0.1:9091/metrics`. A wildcard
 * bind is shown as the wildcard (it is reachable from the network) plus the address to use from this host.
 */
export const describeListener = (listener: ListenerView): string => {
  if (listener.port === undefined) return listener.address
  const range = listener.portEnd === undefined ? '' : `-${listener.portEnd}`
  const path = listener.url === undefined ? '' : new URL(listener.url).pathname
  const bound = `${listener.transport}://${hostForPort(listener.address)}:${listener.port}${range}${path}`
  if (!isWildcardAddress(listener.address)) return listener.url ?? bound
  const local = listener.url ?? (listener.portEnd === undefined ? `${hostForPort(localAddressFor(listener.address))}:${listener.port}` : localAddressFor(listener.address))
  return `${bound} (every interface; from this host: ${local})`
}

export const listenersTable = (listeners: ReadonlyArray<ListenerView>): string =>
  table(['listener', 'transport', 'where'], listeners.map((listener) => [listener.name, listener.transport, describeListener(listener)]))
