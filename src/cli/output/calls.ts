// How live calls and call events look on a terminal: the `calls list` table,
// the columns of `calls tail`'s live view, one log line per event, and the
// NDJSON line of a streamed event. Pure functions of the data (and of `now`).
import type {CallEvent, CallSummary} from '../../calls/events.js'
import {shortSid} from '../../sid-prefix.js'
import {formatDuration, table} from './format.js'

/** Talk time since answer; while ringing, the time since the call started. */
export const callDuration = (call: CallSummary, now: number): string =>
  formatDuration(Math.floor((now - (call.answer_timestamp_ms ?? call.start_timestamp_ms)) / 1000))

const fixed = (value: number, digits: number): string => (Number.isFinite(value) ? value.toFixed(digits) : '-')

/** The quality cells of a call: codec once negotiated; jitter, loss and MOS once measured (`-` before). */
const qualityCells = (call: CallSummary): [codec: string, jitter: string, loss: string, mos: string] => {
  const measured = call.estimated_mos !== null
  return [
    call.codec === '' ? '-' : call.codec,
    measured ? fixed(call.jitter_ms, 1) : '-',
    measured ? fixed(call.loss_ratio * 100, 1) : '-',
    call.estimated_mos === null ? '-' : fixed(call.estimated_mos, 2),
  ]
}

export const CALLS_LIST_HEAD = ['call sid', 'tenant', 'trunk', 'direction', 'from', 'to', 'state', 'duration', 'codec', 'jitter ms', 'loss %', 'MOS'] as const

/** `calls list`: one row per active call. */
export const callsTable = (calls: readonly CallSummary[], now: number): string =>
  table(
    CALLS_LIST_HEAD,
    calls.map((call) => [call.call_sid, call.tenant_id, call.trunk_id, call.direction, call.from_number, call.to_number, call.state, callDuration(call, now), ...qualityCells(call)]),
  )

/** `sid` is the short sid (CA and 8 hex digits), which `calls hangup` accepts as it is. */
export const LIVE_CALLS_HEAD = ['sid', 'tenant', 'trunk', 'from', 'to', 'state', 'duration', 'codec', 'jitter ms', 'loss %', 'MOS'] as const

/** The rows of `calls tail`'s live table, as cells. */
export const liveCallRows = (calls: Iterable<CallSummary>, now: number): string[][] =>
  [...calls].map((call) => [shortSid(call.call_sid), call.tenant_id, call.trunk_id, call.from_number, call.to_number, call.state, callDuration(call, now), ...qualityCells(call)])

/** Columns a narrow terminal loses first, in order; sid, numbers, state and quality stay. */
const NARROW_DROP_ORDER = ['trunk', 'codec', 'jitter ms', 'tenant', 'duration'] as const
/** Longer cells (SIP user parts can be long) are cut to this many characters, ending in `…`. */
const MAX_CELL = 18

const clip = (cell: string): string => (cell.length > MAX_CELL ? `${cell.slice(0, MAX_CELL - 1)}…` : cell)

/**
 * Aligned lines (header first) that fit in `width` columns: long cells are
 * clipped, then the columns of NARROW_DROP_ORDER are left out one by one
 * until the widest line fits, so the sid and the quality stay readable at 80.
 */
export const fitColumns = (head: readonly string[], rows: ReadonlyArray<readonly string[]>, width: number): string[] => {
  let keep = head.map((_, index) => index)
  const render = () => alignColumns(keep.map((index) => head[index] ?? ''), rows.map((row) => keep.map((index) => clip(row[index] ?? ''))))
  let lines = render()
  for (const name of NARROW_DROP_ORDER) {
    if (Math.max(...lines.map((line) => line.length)) <= width) break
    keep = keep.filter((index) => head[index] !== name)
    lines = render()
  }
  return lines
}

/** Pads cells into aligned lines (two spaces between columns), header first; for views that redraw in place. */
export const alignColumns = (head: readonly string[], rows: ReadonlyArray<readonly string[]>): string[] => {
  const widths = head.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)))
  const line = (cells: readonly string[]) =>
    widths
      .map((width, column) => (cells[column] ?? '').padEnd(width))
      .join('  ')
      .trimEnd()
  return [line(head), ...rows.map(line)]
}

const two = (value: number): string => String(value).padStart(2, '0')

/** Local wall-clock time of an event, `HH:MM:SS`. */
export const formatClock = (timestampMs: number): string => {
  const at = new Date(timestampMs)
  return `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
}

/** The longest event type, CHANNEL_HANGUP_COMPLETE, so the call sids line up. */
const TYPE_WIDTH = 23

/** The key facts of an event, after its time, type and call sid. */
export const eventFacts = (event: CallEvent): string => {
  switch (event.type) {
    case 'CHANNEL_CREATE':
      return `${event.direction} ${event.tenant_id}/${event.trunk_id} ${event.from_number} → ${event.to_number}`
    case 'CHANNEL_ANSWER':
      return `answered${event.codec ? `, codec ${event.codec}` : ''}`
    case 'CHANNEL_QUALITY':
      return `codec ${event.codec || '-'}, jitter ${fixed(event.jitter_ms, 1)} ms, loss ${fixed(event.loss_ratio * 100, 1)}%, MOS ${event.estimated_mos === null ? '-' : fixed(event.estimated_mos, 2)}`
    case 'CHANNEL_TRANSFER':
      return `${event.refer === 'received' ? 'REFER from' : 'REFER to'} ${event.leg}-leg → ${event.target}: ${event.result} (${event.sip_status} ${event.reason})`
    case 'CHANNEL_HANGUP_COMPLETE':
      return [
        event.status,
        `cause ${event.q850_cause}`,
        `duration ${formatDuration(event.duration_seconds)}`,
        // The CDR stores "nothing received, nothing rated" as MOS 0: shown as none (`-`), like the live view.
        ...(event.codec ? [`codec ${event.codec}`, `MOS ${event.packets_received > 0 ? fixed(event.estimated_mos, 2) : '-'}`] : []),
      ].join(', ')
    default:
      // A type this CLI does not know yet (a newer daemon): time, type and sid say enough.
      return ''
  }
}

/** One log line per event: time, type, short call sid (as in the table), key facts. */
export const formatEventLine = (event: CallEvent): string =>
  `${formatClock(event.timestamp_ms)}  ${String(event.type).padEnd(TYPE_WIDTH)}  ${shortSid(event.call_sid)}  ${eventFacts(event)}`.trimEnd()

/** One NDJSON line: the object as compact JSON and a newline (JSON.stringify never emits a raw newline). */
export const ndjsonLine = (value: unknown): string => `${JSON.stringify(value)}\n`
