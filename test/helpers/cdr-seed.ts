// Seeded CDRs for the cdr query/stats tests, and the reference answers
// computed in JS: what every query and every stats grouping must return.
import type {CdrFilter, CdrGroupBy, CdrOrder} from '../../src/cdr/filters.js'
import {POOR_MOS, type CdrStatsRow} from '../../src/cdr/query-sql.js'
import {CALL_STATUSES, type CdrRecord} from '../../src/cdr/record.js'

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
}

export const TENANTS = ['acme', 'globex', "o'hare"]
export const TRUNKS = ['carrier-a', 'carrier-b', 'none']
const AGENTS = ['', '', 'bot-1', 'bot-2']
export const BASE_MS = Date.UTC(2026, 2, 6, 0, 0, 0) // spans the US switch to daylight saving time on 2026-03-08

export const seedRecords = (count: number, seed = 42): CdrRecord[] => {
  const next = random(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T
  return Array.from({length: count}, (_, index) => {
    const status = pick(CALL_STATUSES)
    const answered = status === 'completed'
    const media = answered && next() < 0.9
    const start = BASE_MS + Math.floor(next() * 5 * 86_400_000)
    const duration = answered ? Math.floor(next() * 600) : 0
    const answer = answered ? start + 1000 + Math.floor(next() * 20_000) : null
    const received = media ? 50 * duration + 1 : 0
    return {
      call_sid: `CA${index.toString(16).padStart(32, '0')}`,
      tenant_id: pick(TENANTS),
      trunk_id: pick(TRUNKS),
      direction: next() < 0.5 ? 'inbound' : 'outbound',
      from_number: `${pick(['+1415', '+1650', '0049', '+4930'])}${String(Math.floor(next() * 1e7)).padStart(7, '0')}`,
      to_number: `${pick(['+4930', '+1212', '0044'])}${String(Math.floor(next() * 1e7)).padStart(7, '0')}`,
      start_timestamp_ms: start,
      answer_timestamp_ms: answer,
      end_timestamp_ms: (answer ?? start) + duration * 1000 + Math.floor(next() * 999),
      duration_seconds: duration,
      q850_cause: answered ? 16 : pick([17, 18, 19, 21, 31, 127]),
      status,
      codec: media ? pick(['PCMU', 'PCMA']) : '',
      packets_sent: received,
      packets_received: received,
      packets_lost: media ? Math.floor(next() * 30) : 0,
      bytes_sent: received * 172,
      // Stored as Float32: seed exactly representable values so JS and ClickHouse agree.
      jitter_ms: media ? Math.fround(next() * 40) : 0,
      estimated_mos: media ? Math.fround(1 + next() * 3.5) : 0,
      recording_url: next() < 0.1 ? `file:///recordings/${index}.wav` : '',
      agent_id: pick(AGENTS),
    }
  })
}

export const matches = (record: CdrRecord, filter: CdrFilter): boolean =>
  (filter.tenant === undefined || record.tenant_id === filter.tenant) &&
  (filter.trunk === undefined || record.trunk_id === filter.trunk) &&
  (filter.agent === undefined || record.agent_id === filter.agent) &&
  (filter.sinceMs === undefined || record.start_timestamp_ms >= filter.sinceMs) &&
  (filter.untilMs === undefined || record.start_timestamp_ms < filter.untilMs) &&
  (filter.statuses === undefined || filter.statuses.includes(record.status)) &&
  (filter.direction === undefined || record.direction === filter.direction) &&
  (filter.fromPrefix === undefined || record.from_number.startsWith(filter.fromPrefix)) &&
  (filter.toPrefix === undefined || record.to_number.startsWith(filter.toPrefix)) &&
  (filter.callSid === undefined || record.call_sid === filter.callSid) &&
  ((filter.minMos === undefined && filter.maxMos === undefined) || record.packets_received > 0) &&
  (filter.minMos === undefined || record.estimated_mos >= Math.fround(filter.minMos)) &&
  (filter.maxMos === undefined || record.estimated_mos <= Math.fround(filter.maxMos))

export const expectedQuery = (records: readonly CdrRecord[], filter: CdrFilter, order: CdrOrder, limit: number): CdrRecord[] => {
  const sign = order === 'newest' ? -1 : 1
  return records
    .filter((record) => matches(record, filter))
    .sort((a, b) => sign * (a.start_timestamp_ms - b.start_timestamp_ms || (a.call_sid < b.call_sid ? -1 : a.call_sid > b.call_sid ? 1 : 0)))
    .slice(0, limit)
}

/** `YYYY-MM-DD` / `YYYY-MM-DD HH:00` of an instant in a time zone. */
export const bucket = (timestampMs: number, groupBy: 'day' | 'hour', timeZone: string): string => {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23'})
      .formatToParts(new Date(timestampMs))
      .map((part) => [part.type, part.value]),
  )
  const day = `${parts.year}-${parts.month}-${parts.day}`
  return groupBy === 'day' ? day : `${day} ${parts.hour}:00`
}

export const expectedStats = (records: readonly CdrRecord[], filter: CdrFilter, groupBy: CdrGroupBy, timeZone: string): CdrStatsRow[] => {
  const keyName = {tenant: 'tenant_id', trunk: 'trunk_id', day: 'day', hour: 'hour'}[groupBy]
  const groups = new Map<string, CdrRecord[]>()
  for (const record of records.filter((candidate) => matches(candidate, filter))) {
    const key =
      groupBy === 'tenant' ? record.tenant_id : groupBy === 'trunk' ? record.trunk_id : bucket(record.start_timestamp_ms, groupBy, timeZone)
    groups.set(key, [...(groups.get(key) ?? []), record])
  }
  return [...groups.keys()].sort().map((key) => {
    const group = groups.get(key) ?? []
    const answered = group.filter((record) => record.answer_timestamp_ms !== null)
    const media = answered.filter((record) => record.packets_received > 0)
    const sum = (values: number[]) => values.reduce((total, value) => total + value, 0)
    return {
      [keyName]: key,
      calls: group.length,
      answered: answered.length,
      asr: answered.length / group.length,
      acd_seconds: answered.length === 0 ? null : sum(answered.map((record) => record.duration_seconds)) / answered.length,
      minutes: sum(group.map((record) => record.duration_seconds)) / 60,
      mos_calls: media.length,
      mean_mos: media.length === 0 ? null : sum(media.map((record) => record.estimated_mos)) / media.length,
      below_3_5_share: media.length === 0 ? null : media.filter((record) => record.estimated_mos < POOR_MOS).length / media.length,
    } as CdrStatsRow
  })
}
