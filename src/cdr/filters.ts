// The flags of `cdr query` and `cdr stats`, parsed and checked into a typed
// filter before anything is asked of a store. Every rejection is a usage error
// (CC_ERR_USAGE, exit 2) that names the flag, the value given and what the flag
// accepts. Values that pass go to the SQL as query parameters only
// (src/cdr/query-sql.ts), so checks here are about meaning, not about safety.
import {CCError} from '../errors.js'
import {CALL_SID_PATTERN, CALL_STATUSES, type CallDirection, type CallStatus} from './record.js'

export interface CdrFilter {
  readonly tenant?: string
  readonly trunk?: string
  /** Calls that started at or after this instant (epoch ms). */
  readonly sinceMs?: number
  /** Calls that started before this instant (epoch ms, exclusive). */
  readonly untilMs?: number
  readonly statuses?: readonly CallStatus[]
  readonly direction?: CallDirection
  /** Prefix of from_number: any SIP user part (RFC 3261 user characters). */
  readonly fromPrefix?: string
  readonly toPrefix?: string
  readonly callSid?: string
  readonly agent?: string
  /** MOS bounds (inclusive); either one restricts the result to calls that carried media. */
  readonly minMos?: number
  readonly maxMos?: number
}

export const CDR_FORMATS = ['table', 'json', 'ndjson', 'csv'] as const
export type CdrFormat = (typeof CDR_FORMATS)[number]

/** `newest` first (the default) or `oldest` first, by start time (call_sid breaks ties). */
export const CDR_ORDERS = ['newest', 'oldest'] as const
export type CdrOrder = (typeof CDR_ORDERS)[number]

export const CDR_GROUPS = ['tenant', 'trunk', 'day', 'hour'] as const
export type CdrGroupBy = (typeof CDR_GROUPS)[number]

export const DEFAULT_LIMIT = 100
export const MAX_LIMIT = 1_000_000

/** How a date or time without an offset (`2026-03-01`, `2026-03-01T09:00`) is read. */
export type InputZone = 'utc' | 'local'

/** The raw flag values, as oclif hands them over (strings; `status` may repeat). */
export interface CdrFilterFlags {
  readonly tenant?: string | undefined
  readonly trunk?: string | undefined
  readonly since?: string | undefined
  readonly until?: string | undefined
  readonly status?: readonly string[] | undefined
  readonly direction?: string | undefined
  readonly from?: string | undefined
  readonly to?: string | undefined
  readonly 'call-sid'?: string | undefined
  readonly agent?: string | undefined
  readonly 'min-mos'?: string | undefined
  readonly 'max-mos'?: string | undefined
}

const usage = (flag: string, value: string, accepted: string): CCError =>
  new CCError('CC_ERR_USAGE', {detail: `--${flag} ${JSON.stringify(value)} is not valid: ${accepted}`})

const DURATION_UNITS: Readonly<Record<string, number>> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}
const DURATION = /^(\d{1,9})([smhdw])$/
// Date, optionally a time (T or space) with optional seconds and fraction, optionally Z or ±HH:MM.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i
const TIME_ACCEPTED =
  'use a duration ago (90s, 15m, 1h, 7d, 2w) or an ISO-8601 date or time (2026-03-01, 2026-03-01T09:30, 2026-03-01T09:30:00Z, 2026-03-01T09:30:00+01:00)'
/** The earliest and latest instants ClickHouse's DateTime64(3) holds. */
const EARLIEST_MS = Date.UTC(1900, 0, 1)
const LATEST_MS = Date.UTC(2299, 11, 31, 23, 59, 59, 999)

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate()

/** `--since` / `--until`: a duration ago, or an ISO-8601 date or time; the instant as epoch ms. */
export const parseTime = (flag: string, value: string, now: number, zone: InputZone): number => {
  const text = value.trim()
  const duration = DURATION.exec(text)
  if (duration) {
    const at = now - Number(duration[1]) * (DURATION_UNITS[duration[2] ?? ''] ?? 0)
    if (at < EARLIEST_MS) throw usage(flag, value, `that is before 1900; ${TIME_ACCEPTED}`)
    return at
  }
  const match = DATE_TIME.exec(text)
  if (!match) throw usage(flag, value, TIME_ACCEPTED)
  const [, y, mo, d, h = '0', mi = '0', s = '0', fraction = '', offset] = match
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  const hour = Number(h)
  const minute = Number(mi)
  const second = Number(s)
  const ms = Number(fraction.padEnd(3, '0').slice(0, 3))
  if (year < 1900 || year > 2299) throw usage(flag, value, `use a time between 1900 and 2299; ${TIME_ACCEPTED}`)
  if (month < 1 || month > 12) throw usage(flag, value, `month ${mo} does not exist; ${TIME_ACCEPTED}`)
  if (day < 1 || day > daysInMonth(year, month)) throw usage(flag, value, `${y}-${mo} has no day ${d}; ${TIME_ACCEPTED}`)
  if (hour > 23 || minute > 59 || second > 59) throw usage(flag, value, `${h}:${mi}:${s} is not a time of day; ${TIME_ACCEPTED}`)
  let at: number
  if (offset !== undefined) {
    const offsetMinutes = offsetToMinutes(offset)
    if (offsetMinutes === undefined) throw usage(flag, value, `the offset ${offset} is not ±HH:MM up to ±14:00; ${TIME_ACCEPTED}`)
    at = Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000
  } else if (zone === 'utc') {
    at = Date.UTC(year, month - 1, day, hour, minute, second, ms)
  } else {
    const local = new Date(year, month - 1, day, hour, minute, second, ms)
    // JS Date rolls a wall-clock time that does not exist (a daylight-saving gap) forward; say so instead.
    if (local.getFullYear() !== year || local.getMonth() !== month - 1 || local.getDate() !== day || local.getHours() !== hour || local.getMinutes() !== minute) {
      throw usage(flag, value, 'that local time does not exist (a daylight-saving gap); give an offset such as +01:00 or Z')
    }
    at = local.getTime()
  }
  if (!Number.isFinite(at) || at < EARLIEST_MS || at > LATEST_MS) throw usage(flag, value, `use a time between 1900 and 2299; ${TIME_ACCEPTED}`)
  return at
}

const offsetToMinutes = (offset: string): number | undefined => {
  if (offset.toUpperCase() === 'Z') return 0
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(offset)
  if (!match) return undefined
  const hours = Number(match[2])
  const minutes = Number(match[3])
  if (minutes > 59 || hours * 60 + minutes > 14 * 60) return undefined
  return (match[1] === '-' ? -1 : 1) * (hours * 60 + minutes)
}

/** `--status completed,busy --status failed`: each value one of CALL_STATUSES, duplicates dropped. */
export const parseStatuses = (values: readonly string[]): CallStatus[] => {
  const statuses: CallStatus[] = []
  for (const value of values) {
    const parts = value.split(',').map((part) => part.trim())
    for (const part of parts) {
      const status = CALL_STATUSES.find((known) => known === part)
      if (status === undefined) throw usage('status', part, `use one of ${CALL_STATUSES.join(', ')} (repeat the flag or separate with commas)`)
      if (!statuses.includes(status)) statuses.push(status)
    }
  }
  return statuses
}

/** Longest --from / --to prefix accepted. */
export const MAX_USER_PREFIX = 128
/**
 * The start of a SIP user part (RFC 3261 `user`): letters, digits, the marks
 * -_.!~*'(), the user-unreserved &=+$,;?/ and %XX escapes. Spaces, quotes
 * and @ are not in it. It is compared literally (a query parameter), so the
 * check is about meaning, not safety.
 */
const SIP_USER_PREFIX = new RegExp(`^(?:[A-Za-z0-9\\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2}){1,${MAX_USER_PREFIX}}$`)

const parseUserPrefix = (flag: string, value: string): string => {
  if (!SIP_USER_PREFIX.test(value)) {
    throw usage(
      flag,
      value,
      `use the start of a number or SIP user part, 1 to ${MAX_USER_PREFIX} characters of letters, digits, -_.!~*'()&=+$,;?/ or %XX escapes (no spaces or @), as in +1415, 0049 or alice`,
    )
  }
  return value
}

/** Where a page of `cdr query` ends: the start time and sid of its last row, printed as `<epoch ms>-<sid>`. */
export interface CdrCursor {
  readonly startMs: number
  readonly callSid: string
}

export const formatCursor = (row: {readonly start_timestamp_ms: number; readonly call_sid: string}): string => `${row.start_timestamp_ms}-${row.call_sid}`

/** `--after CURSOR`, as `cdr query` printed it for the page before. */
export const parseCursor = (value: string): CdrCursor => {
  const match = /^(\d{1,15})-(CA[0-9a-f]{32})$/.exec(value.trim())
  if (!match) throw usage('after', value, 'use the cursor a previous `cdr query` printed (next page: --after …), an epoch-ms start time, a dash and a call sid')
  return {startMs: Number(match[1]), callSid: match[2] ?? ''}
}

/** Free-form ids (tenant, trunk, agent): anything printable; they are compared as literals. */
const parseId = (flag: string, value: string): string => {
  // eslint-disable-next-line no-control-regex
  if (value.length === 0 || value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) {
    throw usage(flag, value, 'use the id as it appears in the CDRs: 1 to 256 characters, no control characters')
  }
  return value
}

const parseMos = (flag: string, value: string): number => {
  const text = value.trim()
  const mos = /^\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN
  if (!(mos >= 1 && mos <= 5)) throw usage(flag, value, 'use a MOS from 1 to 5, such as 3.5')
  return mos
}

/** The filter shared by `cdr query` and `cdr stats`. */
export const parseCdrFilter = (flags: CdrFilterFlags, options: {now: number; zone: InputZone}): CdrFilter => {
  const filter: {-readonly [K in keyof CdrFilter]: CdrFilter[K]} = {}
  if (flags.tenant !== undefined) filter.tenant = parseId('tenant', flags.tenant)
  if (flags.trunk !== undefined) filter.trunk = parseId('trunk', flags.trunk)
  if (flags.agent !== undefined) filter.agent = parseId('agent', flags.agent)
  if (flags.since !== undefined) filter.sinceMs = parseTime('since', flags.since, options.now, options.zone)
  if (flags.until !== undefined) filter.untilMs = parseTime('until', flags.until, options.now, options.zone)
  if (filter.sinceMs !== undefined && filter.untilMs !== undefined && filter.sinceMs >= filter.untilMs) {
    throw new CCError('CC_ERR_USAGE', {
      detail: `--since ${JSON.stringify(flags.since)} is not before --until ${JSON.stringify(flags.until)} (${new Date(filter.sinceMs).toISOString()} ≥ ${new Date(filter.untilMs).toISOString()}): the range is empty`,
    })
  }
  if (flags.status !== undefined && flags.status.length > 0) filter.statuses = parseStatuses(flags.status)
  if (flags.direction !== undefined) {
    if (flags.direction !== 'inbound' && flags.direction !== 'outbound') throw usage('direction', flags.direction, 'use inbound or outbound')
    filter.direction = flags.direction
  }
  if (flags.from !== undefined) filter.fromPrefix = parseUserPrefix('from', flags.from)
  if (flags.to !== undefined) filter.toPrefix = parseUserPrefix('to', flags.to)
  const callSid = flags['call-sid']
  if (callSid !== undefined) {
    if (!CALL_SID_PATTERN.test(callSid)) throw usage('call-sid', callSid, 'use CA followed by 32 lowercase hex digits')
    filter.callSid = callSid
  }
  if (flags['min-mos'] !== undefined) filter.minMos = parseMos('min-mos', flags['min-mos'])
  if (flags['max-mos'] !== undefined) filter.maxMos = parseMos('max-mos', flags['max-mos'])
  if (filter.minMos !== undefined && filter.maxMos !== undefined && filter.minMos > filter.maxMos) {
    throw new CCError('CC_ERR_USAGE', {detail: `--min-mos ${flags['min-mos']} is above --max-mos ${flags['max-mos']}: no call can match`})
  }
  return filter
}

const oneOf = <T extends string>(flag: string, value: string, allowed: readonly T[]): T => {
  const found = allowed.find((candidate) => candidate === value)
  if (found === undefined) throw usage(flag, value, `use one of ${allowed.join(', ')}`)
  return found
}

export const parseFormat = (value: string | undefined): CdrFormat => (value === undefined ? 'table' : oneOf('format', value, CDR_FORMATS))
export const parseOrder = (value: string | undefined): CdrOrder => (value === undefined ? 'newest' : oneOf('order', value, CDR_ORDERS))
export const parseGroupBy = (value: string | undefined): CdrGroupBy => (value === undefined ? 'tenant' : oneOf('group-by', value, CDR_GROUPS))

/** `--limit`: a whole number from 1 to 1,000,000 (default 100). */
export const parseLimit = (value: string | undefined): number => {
  if (value === undefined) return DEFAULT_LIMIT
  const limit = /^\d{1,7}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN
  if (!(limit >= 1 && limit <= MAX_LIMIT)) throw usage('limit', value, `use a whole number of rows from 1 to ${MAX_LIMIT.toLocaleString('en-US')}`)
  return limit
}

/** The filter in words, for messages such as "No CDRs match …". */
export const describeCdrFilter = (filter: CdrFilter): string => {
  const parts: string[] = []
  if (filter.tenant !== undefined) parts.push(`tenant ${filter.tenant}`)
  if (filter.trunk !== undefined) parts.push(`trunk ${filter.trunk}`)
  if (filter.sinceMs !== undefined) parts.push(`since ${new Date(filter.sinceMs).toISOString()}`)
  if (filter.untilMs !== undefined) parts.push(`until ${new Date(filter.untilMs).toISOString()}`)
  if (filter.statuses !== undefined) parts.push(`status ${filter.statuses.join('|')}`)
  if (filter.direction !== undefined) parts.push(filter.direction)
  if (filter.fromPrefix !== undefined) parts.push(`from ${filter.fromPrefix}…`)
  if (filter.toPrefix !== undefined) parts.push(`to ${filter.toPrefix}…`)
  if (filter.callSid !== undefined) parts.push(filter.callSid)
  if (filter.agent !== undefined) parts.push(`agent ${filter.agent}`)
  if (filter.minMos !== undefined) parts.push(`MOS ≥ ${filter.minMos}`)
  if (filter.maxMos !== undefined) parts.push(`MOS ≤ ${filter.maxMos}`)
  return parts.join(', ')
}
