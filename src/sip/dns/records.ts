// The pure parts of RFC 3263 target selection: which NAPTR records a SIP
// client may follow (§4.1), and the order of SRV records (RFC 2782: lowest
// priority first, weighted random within a priority). No I/O here, so the
// rules are unit-tested directly; resolver.ts does the lookups.
import type {SipTransportProtocol} from '../transport/types.js'

export interface NaptrRecord {
  readonly order: number
  readonly preference: number
  readonly flags: string
  readonly service: string
  readonly regexp: string
  readonly replacement: string
}

export interface SrvRecord {
  readonly priority: number
  readonly weight: number
  readonly port: number
  readonly name: string
}

/** The NAPTR services of RFC 3263 §4.1 and the transport each stands for (SCTP and WebSocket are not supported). */
export const NAPTR_SERVICES: Readonly<Record<string, SipTransportProtocol>> = {
  'SIP+D2U': 'udp',
  'SIP+D2T': 'tcp',
  'SIPS+D2T': 'tls',
}

/** The SRV service name of a transport (RFC 3263 §4.1): `_sips._tcp` for TLS, `_sip._tcp`, `_sip._udp`. */
export const srvPrefix = (transport: SipTransportProtocol): string => (transport === 'tls' ? '_sips._tcp' : `_sip._${transport}`)

export interface NaptrChoice {
  readonly transport: SipTransportProtocol
  /** The SRV name to query (the record's replacement). */
  readonly srvName: string
}

/**
 * The NAPTR records to follow, in order: flag `s` (an SRV lookup comes next),
 * a service of NAPTR_SERVICES whose transport `available` accepts (only TLS
 * for a sips: URI), no regexp (RFC 3263 uses replacement only), ordered by
 * order then preference. Every matching record is kept, not only those of
 * the lowest order, so the later ones are failover targets (as deployed
 * proxies do); a replacement already listed is not listed twice.
 */
export const selectNaptr = (records: readonly NaptrRecord[], options: {sips: boolean; available: (transport: SipTransportProtocol) => boolean}): NaptrChoice[] => {
  const usable = records
    .filter((record) => record.flags.toLowerCase() === 's' && record.regexp === '' && record.replacement !== '' && record.replacement !== '.')
    .map((record) => ({record, transport: NAPTR_SERVICES[record.service.toUpperCase()]}))
    .filter((entry): entry is {record: NaptrRecord; transport: SipTransportProtocol} => entry.transport !== undefined && (!options.sips || entry.transport === 'tls') && options.available(entry.transport))
    .sort((a, b) => a.record.order - b.record.order || a.record.preference - b.record.preference)
  const seen = new Set<string>()
  const choices: NaptrChoice[] = []
  for (const {record, transport} of usable) {
    const key = `${transport} ${record.replacement.toLowerCase()}`
    if (seen.has(key)) continue
    seen.add(key)
    choices.push({transport, srvName: record.replacement})
  }
  return choices
}

/**
 * RFC 2782's order: priorities ascending; within one priority, repeatedly
 * pick a record at random with probability proportional to its weight
 * (weight-0 records placed first in the running sum, so they are chosen
 * only rarely while others remain). A lone record whose target is `.` means
 * the service is decidedly not offered: no record is returned then. Records
 * with port 0 are left out.
 * `random` returns [0, 1) (Math.random; tests pass their own).
 */
export const orderSrv = (records: readonly SrvRecord[], random: () => number = Math.random): SrvRecord[] => {
  if (records.length === 1 && records[0]?.name === '.') return []
  const byPriority = new Map<number, SrvRecord[]>()
  for (const record of records) {
    // Port 0 cannot be sent to: such a record is as good as absent.
    if (record.name === '.' || record.name === '' || record.port === 0) continue
    const group = byPriority.get(record.priority)
    if (group === undefined) byPriority.set(record.priority, [record])
    else group.push(record)
  }
  const ordered: SrvRecord[] = []
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // Zero weights first, as RFC 2782 asks; the rest keep the order they came in.
    const pending = [...(byPriority.get(priority) ?? [])].sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1))
    while (pending.length > 0) {
      const total = pending.reduce((sum, record) => sum + record.weight, 0)
      // RFC 2782: a uniform number between 0 and the sum, inclusive; the first record whose running sum reaches it.
      const pick = Math.floor(random() * (total + 1))
      let running = 0
      let index = pending.findIndex((record) => (running += record.weight) >= pick)
      if (index === -1) index = pending.length - 1
      ordered.push(...pending.splice(index, 1))
    }
  }
  return ordered
}
