// The flags of `cdr query` and `cdr stats`. They are plain strings here and
// are checked by src/cdr/filters.ts, whose errors name the flag, the value and
// what it accepts (CC_ERR_USAGE, exit 2).
import {Flags} from '@oclif/core'
import {CDR_FORMATS, CDR_GROUPS, CDR_ORDERS, DEFAULT_LIMIT} from '../cdr/filters.js'
import {CALL_STATUSES} from '../cdr/record.js'

const TIME_HELP = 'a duration ago (90s, 15m, 1h, 7d, 2w) or an ISO-8601 date or time (2026-03-01, 2026-03-01T09:30, 2026-03-01T09:30:00Z)'

/** Filters shared by both commands. */
export const cdrFilterFlags = {
  tenant: Flags.string({summary: 'Only CDRs of this tenant.', helpValue: 'TENANT', helpGroup: 'FILTER'}),
  trunk: Flags.string({summary: 'Only CDRs through this trunk (`none` for calls through no trunk).', helpValue: 'TRUNK', helpGroup: 'FILTER'}),
  since: Flags.string({summary: `Calls that started at or after this time: ${TIME_HELP}.`, helpValue: 'TIME', helpGroup: 'FILTER'}),
  until: Flags.string({summary: 'Calls that started before this time (exclusive); same forms as --since.', helpValue: 'TIME', helpGroup: 'FILTER'}),
  status: Flags.string({
    summary: `Final status: ${CALL_STATUSES.join(', ')}. Repeat the flag or separate with commas for several.`,
    helpValue: 'STATUS',
    multiple: true,
    helpGroup: 'FILTER',
  }),
  direction: Flags.string({summary: 'inbound or outbound.', helpValue: 'DIRECTION', helpGroup: 'FILTER'}),
  from: Flags.string({summary: 'Caller (number or SIP user part) starts with this: +1415, 0049, alice.', helpValue: 'PREFIX', helpGroup: 'FILTER'}),
  to: Flags.string({summary: 'Called number or SIP user part starts with this: +49, 100, support.', helpValue: 'PREFIX', helpGroup: 'FILTER'}),
  'call-sid': Flags.string({summary: 'One call: CA followed by 32 lowercase hex digits.', helpValue: 'SID', helpGroup: 'FILTER'}),
  agent: Flags.string({summary: 'Only calls handled by this AI agent (agent_id).', helpValue: 'AGENT', helpGroup: 'FILTER'}),
  'min-mos': Flags.string({summary: 'Estimated MOS at least this (1 to 5); only calls that carried media.', helpValue: 'MOS', helpGroup: 'FILTER'}),
  'max-mos': Flags.string({summary: 'Estimated MOS at most this (1 to 5); only calls that carried media.', helpValue: 'MOS', helpGroup: 'FILTER'}),
  format: Flags.string({
    char: 'f',
    summary: `Output: ${CDR_FORMATS.join(', ')} (default table). --json prints the envelope instead.`,
    helpValue: 'FORMAT',
  }),
}

export const cdrQueryFlags = {
  ...cdrFilterFlags,
  limit: Flags.string({summary: `At most this many CDRs, 1 to 1,000,000 (default ${DEFAULT_LIMIT}).`, helpValue: 'N'}),
  order: Flags.string({summary: `${CDR_ORDERS.join(' or ')} first, by start time (default newest).`, helpValue: 'ORDER'}),
  after: Flags.string({summary: 'The next page: continue after the cursor the previous page printed (same filters and --order).', helpValue: 'CURSOR'}),
  utc: Flags.boolean({summary: 'Show times in UTC and read times without an offset as UTC (default: this machine\'s time zone).'}),
}

export const cdrStatsFlags = {
  ...cdrFilterFlags,
  'group-by': Flags.string({summary: `One row per ${CDR_GROUPS.join(', ')} (default tenant).`, helpValue: 'GROUP'}),
  local: Flags.boolean({
    summary: "Day and hour buckets, and times without an offset, in this machine's time zone (default UTC).",
    exclusive: ['utc'],
  }),
  utc: Flags.boolean({summary: 'Day and hour buckets, and times without an offset, in UTC (the default).', exclusive: ['local']}),
}
