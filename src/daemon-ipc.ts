// What a starting daemon tells the `clutchcall start` that spawned it, over the
// Node IPC channel, before that channel is closed and the daemon runs on alone.
import type {Listener} from './admin/protocol.js'
import type {ErrorCode, ErrorDetails} from './errors.js'

export type DaemonStartMessage =
  | {readonly type: 'ready'; readonly pid: number; readonly version: string; readonly listeners: readonly Listener[]}
  | {readonly type: 'failed'; readonly code: ErrorCode; readonly details: ErrorDetails}

export const isDaemonStartMessage = (value: unknown): value is DaemonStartMessage =>
  value !== null && typeof value === 'object' && ((value as {type?: unknown}).type === 'ready' || (value as {type?: unknown}).type === 'failed')
