// The RFC 3263 procedure over a table of records (no DNS server): which
// lookups a URI causes and the targets, in order, that come out; the bounds
// on huge record sets, and the errors for names that cannot be reached.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {DnsLookupError, SipDnsError, type DnsFailureKind} from '../../../../../src/sip/dns/errors.js'
import type {AddressRecord, DnsLookups} from '../../../../../src/sip/dns/lookups.js'
import type {NaptrRecord, SrvRecord} from '../../../../../src/sip/dns/records.js'
import {Rfc3263Resolver} from '../../../../../src/sip/dns/resolver.js'
import type {SipTarget, SipTransportProtocol} from '../../../../../src/sip/transport/types.js'
import {parseSipUri} from '../../../../../src/sip/uri.js'

type Answer<T> = readonly T[] | Exclude<DnsFailureKind, 'no-targets'>

/** DNS as a table: `NAPTR name`, `SRV name`, `A name`, `AAAA name`; absent names are NXDOMAIN. Records every query. */
class TableLookups implements DnsLookups {
  readonly queries: string[] = []
  constructor(private readonly table: Record<string, Answer<NaptrRecord | SrvRecord | string>>) {}

  private answer<T>(type: DnsLookupError['type'], name: string): T[] {
    this.queries.push(`${type} ${name}`)
    const answer = this.table[`${type} ${name}`] ?? 'nxdomain'
    if (typeof answer === 'string') throw new DnsLookupError(answer, type, name)
    return [...answer] as T[]
  }

  async naptr(name: string) {
    return this.answer<NaptrRecord>('NAPTR', name)
  }

  async srv(name: string) {
    return this.answer<SrvRecord>('SRV', name)
  }

  async addresses(name: string, family: 4 | 6): Promise<AddressRecord[]> {
    return this.answer<string>(family === 4 ? 'A' : 'AAAA', name).map((address) => ({address, family}))
  }
}

const naptr = (order: number, preference: number, service: string, replacement: string): NaptrRecord => ({order, preference, flags: 's', service, regexp: '', replacement})
const srv = (priority: number, weight: number, name: string, port: number): SrvRecord => ({priority, weight, name, port})

const resolve = async (
  table: TableLookups,
  uri: string,
  options: {available?: SipTransportProtocol[]; transport?: SipTransportProtocol; maxTargets?: number; naptr?: boolean; families?: Array<4 | 6>} = {},
): Promise<SipTarget[]> => {
  const resolver = new Rfc3263Resolver({lookups: table, maxTargets: options.maxTargets ?? 8, naptr: options.naptr ?? true, families: options.families ?? [4], random: () => 0})
  const available = options.available
  const targets: SipTarget[] = []
  for await (const target of resolver.targets(parseSipUri(uri), {...(available === undefined ? {} : {available: (transport) => available.includes(transport)}), ...(options.transport === undefined ? {} : {transport: options.transport})})) targets.push(target)
  return targets
}

const brief = (targets: SipTarget[]) => targets.map((target) => `${target.transport}:${target.address}:${target.port}`)

describe('RFC 3263 resolution', () => {
  it('a numeric IP host needs no DNS: UDP (TLS for sips:) on the URI\'s port or the default', async () => {
    const table = new TableLookups({})
    assert.deepEqual(brief(await resolve(table, 'sip:+1555@192.0.2.10:5070')), ['udp:192.0.2.10:5070'])
    assert.deepEqual(brief(await resolve(table, 'sip:+1555@192.0.2.10;transport=tcp')), ['tcp:192.0.2.10:5060'])
    assert.deepEqual(brief(await resolve(table, 'sips:+1555@[2001:db8::1]')), ['tls:2001:db8::1:5061'])
    assert.deepEqual(table.queries, [])
  })

  it('an explicit port skips NAPTR and SRV: A records of the host', async () => {
    const table = new TableLookups({'A sbc.example': ['192.0.2.1', '192.0.2.2']})
    assert.deepEqual(brief(await resolve(table, 'sip:sbc.example:5080')), ['udp:192.0.2.1:5080', 'udp:192.0.2.2:5080'])
    assert.deepEqual(table.queries, ['A sbc.example'])
  })

  it('an explicit transport skips NAPTR: the SRV of that transport, then its targets\' addresses', async () => {
    const table = new TableLookups({
      'SRV _sip._tcp.sbc.example': [srv(10, 0, 'b.sbc.example', 5090), srv(5, 0, 'a.sbc.example', 5080)],
      'A a.sbc.example': ['192.0.2.1'],
      'A b.sbc.example': ['192.0.2.2'],
    })
    assert.deepEqual(brief(await resolve(table, 'sip:sbc.example;transport=tcp')), ['tcp:192.0.2.1:5080', 'tcp:192.0.2.2:5090'])
    assert.deepEqual(table.queries, ['SRV _sip._tcp.sbc.example', 'A a.sbc.example', 'A b.sbc.example'])
  })

  it('an explicit transport without SRV records: the host\'s addresses on the default port', async () => {
    const table = new TableLookups({'A sbc.example': ['192.0.2.1']})
    assert.deepEqual(brief(await resolve(table, 'sips:sbc.example')), ['tls:192.0.2.1:5061'])
    assert.deepEqual(brief(await resolve(new TableLookups({'A sbc.example': ['192.0.2.1']}), 'sip:sbc.example', {transport: 'tcp'})), ['tcp:192.0.2.1:5060'])
  })

  it('NAPTR → SRV → A, following the NAPTR records in order, each SRV set by priority', async () => {
    const table = new TableLookups({
      'NAPTR carrier.example': [naptr(20, 10, 'SIP+D2U', '_sip._udp.carrier.example'), naptr(10, 10, 'SIP+D2T', '_sip._tcp.carrier.example')],
      'SRV _sip._tcp.carrier.example': [srv(1, 0, 'tcp1.carrier.example', 5060)],
      'SRV _sip._udp.carrier.example': [srv(2, 0, 'udp2.carrier.example', 5062), srv(1, 0, 'udp1.carrier.example', 5061)],
      'A tcp1.carrier.example': ['192.0.2.1'],
      'A udp1.carrier.example': ['192.0.2.2'],
      'A udp2.carrier.example': ['192.0.2.3'],
    })
    const targets = await resolve(table, 'sip:+1555@carrier.example')
    assert.deepEqual(brief(targets), ['tcp:192.0.2.1:5060', 'udp:192.0.2.2:5061', 'udp:192.0.2.3:5062'])
    // The certificate of a TLS target must name the URI's domain (RFC 5922 §4), not the SRV target.
    assert.ok(targets.every((target) => target.hostname === 'carrier.example'))
  })

  it('NAPTR records of transports we have no listener for are skipped', async () => {
    const table = new TableLookups({
      'NAPTR carrier.example': [naptr(10, 10, 'SIPS+D2T', '_sips._tcp.carrier.example'), naptr(10, 20, 'SIP+D2U', '_sip._udp.carrier.example')],
      'SRV _sip._udp.carrier.example': [srv(1, 0, 'udp.carrier.example', 5060)],
      'A udp.carrier.example': ['192.0.2.2'],
    })
    assert.deepEqual(brief(await resolve(table, 'sip:carrier.example', {available: ['udp', 'tcp']})), ['udp:192.0.2.2:5060'])
    assert.ok(!table.queries.includes('SRV _sips._tcp.carrier.example'))
  })

  it('without NAPTR: SRV for UDP and TCP (UDP first), only those we have', async () => {
    const table = new TableLookups({
      'NAPTR carrier.example': 'nodata',
      'SRV _sip._udp.carrier.example': [srv(1, 0, 'u.carrier.example', 5060)],
      'SRV _sip._tcp.carrier.example': [srv(1, 0, 't.carrier.example', 5060)],
      'A u.carrier.example': ['192.0.2.1'],
      'A t.carrier.example': ['192.0.2.2'],
    })
    assert.deepEqual(brief(await resolve(table, 'sip:carrier.example')), ['udp:192.0.2.1:5060', 'tcp:192.0.2.2:5060'])
    const udpOnly = new TableLookups({'SRV _sip._tcp.carrier.example': [srv(1, 0, 't.carrier.example', 5060)], 'A carrier.example': ['192.0.2.9']})
    assert.deepEqual(brief(await resolve(udpOnly, 'sip:carrier.example', {available: ['udp']})), ['udp:192.0.2.9:5060'])
    assert.ok(!udpOnly.queries.includes('SRV _sip._tcp.carrier.example'))
  })

  it('naptr: false goes straight to SRV', async () => {
    const table = new TableLookups({'SRV _sip._udp.carrier.example': [srv(1, 0, 'u.carrier.example', 5060)], 'A u.carrier.example': ['192.0.2.1']})
    assert.deepEqual(brief(await resolve(table, 'sip:carrier.example', {naptr: false})), ['udp:192.0.2.1:5060'])
    assert.ok(!table.queries.some((query) => query.startsWith('NAPTR')))
  })

  it('no NAPTR and no SRV: UDP to the host\'s addresses on 5060; A before AAAA', async () => {
    const table = new TableLookups({'A plain.example': ['192.0.2.1'], 'AAAA plain.example': ['2001:db8::1']})
    assert.deepEqual(brief(await resolve(table, 'sip:plain.example', {families: [4, 6]})), ['udp:192.0.2.1:5060', 'udp:2001:db8::1:5060'])
  })

  it('maddr is the target instead of the host', async () => {
    const table = new TableLookups({})
    assert.deepEqual(brief(await resolve(table, 'sip:bob@proxy.example;maddr=192.0.2.77')), ['udp:192.0.2.77:5060'])
    assert.deepEqual(table.queries, [])
  })

  it('the same address and port from two records is tried once', async () => {
    const table = new TableLookups({
      'SRV _sip._udp.carrier.example': [srv(1, 0, 'a.carrier.example', 5060), srv(2, 0, 'alias.carrier.example', 5060)],
      'A a.carrier.example': ['192.0.2.1'],
      'A alias.carrier.example': ['192.0.2.1', '192.0.2.2'],
    })
    assert.deepEqual(brief(await resolve(table, 'sip:carrier.example', {naptr: false, available: ['udp']})), ['udp:192.0.2.1:5060', 'udp:192.0.2.2:5060'])
  })

  it('SRV targets without addresses are skipped; the next one is used', async () => {
    const table = new TableLookups({
      'SRV _sip._udp.carrier.example': [srv(1, 0, 'dead.carrier.example', 5060), srv(2, 0, 'live.carrier.example', 5070)],
      'A live.carrier.example': ['192.0.2.5'],
    })
    assert.deepEqual(brief(await resolve(table, 'sip:carrier.example', {naptr: false, available: ['udp']})), ['udp:192.0.2.5:5070'])
  })
})

describe('RFC 3263 resolution: bad input', () => {
  const failure = async (table: TableLookups, uri: string, options: Parameters<typeof resolve>[2] = {}): Promise<SipDnsError> => {
    try {
      await resolve(table, uri, options)
    } catch (error) {
      assert.ok(error instanceof SipDnsError, String(error))
      return error
    }
    assert.fail('resolved')
  }

  it('NXDOMAIN everywhere: a permanent nxdomain error naming the host and the lookups', async () => {
    const error = await failure(new TableLookups({}), 'sip:+1555@nowhere.example')
    assert.equal(error.kind, 'nxdomain')
    assert.equal(error.permanent, true)
    assert.equal(error.host, 'nowhere.example')
    assert.match(error.message, /cannot resolve nowhere\.example: no such domain \(NXDOMAIN\)/)
    assert.match(error.message, /NAPTR nowhere\.example/)
    assert.match(error.message, /A nowhere\.example/)
  })

  it('SRV records whose hosts have no address: no-targets, and no A/AAAA fallback on the domain', async () => {
    const table = new TableLookups({
      'SRV _sip._udp.carrier.example': [srv(1, 0, 'ghost1.carrier.example', 5060), srv(2, 0, 'ghost2.carrier.example', 5060)],
      'A carrier.example': ['192.0.2.1'],
    })
    const error = await failure(table, 'sip:carrier.example', {naptr: false, available: ['udp']})
    assert.equal(error.kind, 'no-targets')
    assert.match(error.message, /SRV records name hosts without addresses/)
    assert.ok(!table.queries.includes('A carrier.example'))
  })

  it('a DNS server that times out: one timeout ends the resolution (no further lookups wait as long again)', async () => {
    const table = new TableLookups({'NAPTR slow.example': 'timeout', 'SRV _sip._udp.slow.example': 'timeout'})
    const error = await failure(table, 'sip:slow.example')
    assert.equal(error.kind, 'timeout')
    assert.equal(error.permanent, false)
    assert.deepEqual(table.queries, ['NAPTR slow.example'])
  })

  it('a DNS server that refuses the connection: unreachable', async () => {
    assert.equal((await failure(new TableLookups({'A down.example': 'unreachable'}), 'sip:down.example:5060')).kind, 'unreachable')
  })

  it('a huge SRV set: at most maxTargets targets and 2·maxTargets address lookups', async () => {
    const records = Array.from({length: 500}, (_, i) => srv(i % 7, i % 13, `h${i}.big.example`, 5060))
    const table: Record<string, Answer<SrvRecord | string>> = {'SRV _sip._udp.big.example': records}
    for (let i = 0; i < 500; i++) table[`A h${i}.big.example`] = [`10.0.${Math.floor(i / 250)}.${i % 250}`, `10.1.${Math.floor(i / 250)}.${i % 250}`]
    const lookups = new TableLookups(table)
    const targets = await resolve(lookups, 'sip:big.example', {naptr: false, available: ['udp'], maxTargets: 5})
    assert.equal(targets.length, 5)
    assert.ok(lookups.queries.filter((query) => query.startsWith('A ')).length <= 10)
    // Priority 0 records come first.
    const recordOf = (address: string) => {
      const [, , high, low] = address.split('.').map(Number)
      return records[(high ?? 0) * 250 + (low ?? 0)]
    }
    assert.ok(targets.every((target) => recordOf(target.address)?.priority === 0), brief(targets).join(' '))
  })

  it('a huge SRV set of hosts without addresses stops after 2·maxTargets address lookups', async () => {
    const records = Array.from({length: 500}, (_, i) => srv(1, 0, `ghost${i}.big.example`, 5060))
    const lookups = new TableLookups({'SRV _sip._udp.big.example': records})
    await failure(lookups, 'sip:big.example', {naptr: false, available: ['udp'], maxTargets: 4})
    assert.equal(lookups.queries.filter((query) => query.startsWith('A ')).length, 8)
  })
})
