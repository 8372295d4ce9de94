// RFC 3263 against a real DNS server (dnsmasq) and real callees (SIPp): a
// bridge to a trunk named by DNS follows NAPTR → SRV → A, tries the SRV
// targets in priority order, fails over from a silent target and from a
// 503 to the next one (whose early media replaces the first one's), picks the NAPTR transport we have (TCP here, skipping
// TLS), re-resolves once an A record's TTL has passed; and fails with a clear
// cause for a name that does not exist, SRV records naming hosts without
// addresses, a DNS server that never answers, and a huge SRV set (bounded by
// sip.dns.max_targets). Silent targets are UDP sockets that take INVITEs and
// never answer.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {Dnsmasq} from '../../../helpers/dnsmasq.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {runSipp, uacExpectingRefusal, uacShortCall, uasAnswering, uasEarlyMediaThenAnswering, uasEarlyMediaThenUnavailable, uasUnavailable} from '../../../helpers/peers.js'
import {UdpSipPeer} from '../../../helpers/sip-udp.js'

/** One bridge scenario: calls to +1<prefix>… are bridged to `uri` (a trunk of their own tenant). */
interface Route {
  readonly key: string
  readonly prefix: string
  readonly uri: string
  readonly timeoutS?: number
}

/** Starts `gateway` with sip.dns on `dnsServer` (plus `dns` lines) and one tenant, inbound trunk, outbound trunk and bridge dialplan per route. */
const startGateway = (gateway: TestGateway, dnsServer: string, routes: readonly Route[], dns = ''): Promise<void> => {
  const sipExtra = `  dns:
    servers: ["${dnsServer}"]
    target_timeout_ms: 1000
    max_targets: 3
${dns}`
  const extra = `tenants:
${routes.map((route) => `  - { id: t-${route.key}, dialplan: p-${route.key} }`).join('\n')}
trunks:
${routes.map((route) => `  - id: in-${route.key}
    tenant: t-${route.key}
    inbound: { cidrs: [127.0.0.1/32], numbers: ["+1${route.prefix}*"] }
  - id: out-${route.key}
    tenant: t-${route.key}
    outbound: { uri: "${route.uri}" }`).join('\n')}
dialplans:
${routes.map((route) => `  p-${route.key}:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: out-${route.key}, timeout_s: ${route.timeoutS ?? 15}, next: { answered: bye, default: failed } }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }`).join('\n')}
`
  return gateway.start(extra, {}, sipExtra)
}

const callerFor = (gateway: TestGateway, number: string, calls = 1) => runSipp({scenarioXml: uacShortCall(200), target: gateway.sip, service: number, calls})

const bLegLines = (gateway: TestGateway, message: string) => gateway.logLines((line) => line.leg === 'b' && line.msg === message)

describe('SIP DNS (RFC 3263) with dnsmasq and SIPp', () => {
  const gw = new TestGateway()
  let dns: Dnsmasq
  const holes: UdpSipPeer[] = []
  const ports: Record<string, number> = {}

  before(async () => {
    for (let i = 0; i < 3; i++) holes.push(await UdpSipPeer.open())
    for (const name of ['answerAfterSilent', 'unavailable', 'answerAfter503', 'priorityWinner', 'naptrTcp', 'ttl']) ports[name] = await freePort()
    const hole = (index: number) => holes[index]?.port ?? 0
    dns = new Dnsmasq({
      ttlS: 1,
      hosts: {'hole.test': ['127.0.0.1'], 'callee.test': ['127.0.0.1']},
      srv: [
        // A silent target first (priority 10), a callee next (20).
        {name: '_sip._udp.silent.test', target: 'callee.test', port: ports.answerAfterSilent ?? 0, priority: 20},
        {name: '_sip._udp.silent.test', target: 'hole.test', port: hole(0), priority: 10},
        // A 503 first, a callee next.
        {name: '_sip._udp.busy.test', target: 'callee.test', port: ports.unavailable ?? 0, priority: 10},
        {name: '_sip._udp.busy.test', target: 'callee.test', port: ports.answerAfter503 ?? 0, priority: 20},
        // Listed first, heavily weighted, but of a worse priority: never tried while the better one answers.
        {name: '_sip._udp.priority.test', target: 'hole.test', port: hole(1), priority: 20, weight: 1000},
        {name: '_sip._udp.priority.test', target: 'callee.test', port: ports.priorityWinner ?? 0, priority: 10, weight: 0},
        // NAPTR: TLS first (we have no TLS listener), then TCP (a SIPp over TCP), then UDP (a silent socket).
        {name: '_sips._tcp.naptr.test', target: 'hole.test', port: hole(2), priority: 10},
        {name: '_sip._tcp.naptr.test', target: 'callee.test', port: ports.naptrTcp ?? 0, priority: 10},
        {name: '_sip._udp.naptr.test', target: 'hole.test', port: hole(2), priority: 10},
      ],
      naptr: [
        {name: 'naptr.test', order: 5, preference: 10, service: 'SIPS+D2T', replacement: '_sips._tcp.naptr.test'},
        {name: 'naptr.test', order: 10, preference: 10, service: 'SIP+D2T', replacement: '_sip._tcp.naptr.test'},
        {name: 'naptr.test', order: 20, preference: 10, service: 'SIP+D2U', replacement: '_sip._udp.naptr.test'},
      ],
      hostsFile: [['127.0.0.2', 'ttl.test']],
    })
    await dns.start()
    const routes: Route[] = [
      {key: 'silent', prefix: '2001', uri: 'sip:silent.test'},
      {key: 'busy', prefix: '2002', uri: 'sip:busy.test'},
      {key: 'priority', prefix: '2003', uri: 'sip:priority.test'},
      {key: 'naptr', prefix: '2004', uri: 'sip:naptr.test'},
      {key: 'ttl', prefix: '2005', uri: `sip:ttl.test:${ports.ttl}`},
      {key: 'numeric', prefix: '2009', uri: `sip:127.0.0.1:${ports.answerAfterSilent}`},
    ]
    await startGateway(gw, dns.server, routes)
  })

  after(async () => {
    await gw.stop()
    await dns?.stop()
    for (const hole of holes) hole.close()
  })

  it('fails over from a silent SRV target (priority 10) to the next (priority 20) after target_timeout_ms', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: ports.answerAfterSilent})
    const caller = await callerFor(gw, '+120010001')
    const [called, answered] = await Promise.all([caller.done, callee.done])
    assert.equal(called.code, 0, called.output)
    assert.equal(answered.code, 0, answered.output)
    assert.ok((holes[0]?.received ?? []).some((message) => message.method === 'INVITE'), 'the silent target got the INVITE first')
    const failover = await waitFor('the failover log line', () => bLegLines(gw, 'B-leg target failed; trying the next one (RFC 3263)').find((line) => line.request_uri === 'sip:+120010001@silent.test'))
    assert.equal(failover.reason, 'timeout')
    assert.equal(failover.from, `udp:127.0.0.1:${holes[0]?.port}`)
    assert.equal(failover.next, `udp:127.0.0.1:${ports.answerAfterSilent}`)
    assert.equal((await gw.hangupOf('+120010001')).status, 'completed')
  })

  it('fails over from a 503 to the next target', async () => {
    const unavailable = await runSipp({scenarioXml: uasUnavailable(), port: ports.unavailable})
    const callee = await runSipp({scenarioXml: uasAnswering(), port: ports.answerAfter503})
    const caller = await callerFor(gw, '+120020001')
    const [called, refused, answered] = await Promise.all([caller.done, unavailable.done, callee.done])
    assert.equal(refused.code, 0, refused.output)
    assert.equal(answered.code, 0, answered.output)
    assert.equal(called.code, 0, called.output)
    const failover = bLegLines(gw, 'B-leg target failed; trying the next one (RFC 3263)').find((line) => line.request_uri === 'sip:+120020001@busy.test')
    assert.equal(failover?.reason, '503')
  })

  it('after a 503 that followed early media, the next target\'s early media replaces it', async () => {
    const unavailable = await runSipp({scenarioXml: uasEarlyMediaThenUnavailable(), port: ports.unavailable})
    const callee = await runSipp({scenarioXml: uasEarlyMediaThenAnswering(), port: ports.answerAfter503})
    const caller = await callerFor(gw, '+120020002')
    const [called, refused, answered] = await Promise.all([caller.done, unavailable.done, callee.done])
    assert.equal(refused.code, 0, refused.output)
    assert.equal(answered.code, 0, answered.output)
    assert.equal(called.code, 0, called.output)
    const end = await gw.hangupOf('+120020002')
    // One early-media line per target: the second target's SDP was applied, not left behind the first's.
    const early = gw.logLines((line) => line.call_sid === end.call_sid && line.leg === 'b' && line.msg === 'B-leg early media')
    assert.equal(early.length, 2, JSON.stringify(early))
  })

  it('tries the better SRV priority first whatever the weights and the order of the records', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: ports.priorityWinner, calls: 3})
    const caller = await callerFor(gw, '+120030001', 3)
    const [called, answered] = await Promise.all([caller.done, callee.done])
    assert.equal(called.code, 0, called.output)
    assert.equal(answered.code, 0, answered.output)
    assert.equal((holes[1]?.received ?? []).length, 0, 'nothing went to the priority-20 target')
  })

  it('follows the NAPTR record of a transport it has: TCP, skipping TLS (no listener) and never reaching UDP', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: ports.naptrTcp, transport: 't1'})
    const caller = await callerFor(gw, '+120040001')
    const [called, answered] = await Promise.all([caller.done, callee.done])
    assert.equal(called.code, 0, called.output)
    assert.equal(answered.code, 0, answered.output)
    assert.equal((holes[2]?.received ?? []).length, 0)
    const queries = dns.queries()
    assert.ok(queries.includes('NAPTR naptr.test'), queries.join(', '))
    assert.ok(queries.includes('SRV _sip._tcp.naptr.test'), queries.join(', '))
    assert.ok(!queries.includes('SRV _sips._tcp.naptr.test'), 'the TLS record was not followed')
  })

  it('resolves again once the A record\'s TTL has passed', async () => {
    const first = await runSipp({scenarioXml: uasAnswering(), port: ports.ttl, localIp: '127.0.0.2'})
    const firstCall = await callerFor(gw, '+120050001')
    assert.equal((await firstCall.done).code, 0)
    assert.equal((await first.done).code, 0)
    const movedAt = Date.now()
    await dns.reloadHosts([['127.0.0.3', 'ttl.test']])
    // The answer (TTL 1 s) cached for the first call has expired by now.
    await waitFor('the TTL of the first answer to pass', () => (Date.now() - movedAt > 1500 ? true : undefined))
    const second = await runSipp({scenarioXml: uasAnswering(), port: ports.ttl, localIp: '127.0.0.3'})
    const secondCall = await callerFor(gw, '+120050002')
    const [called, answered] = await Promise.all([secondCall.done, second.done])
    assert.equal(called.code, 0, called.output)
    assert.equal(answered.code, 0, answered.output)
  })

  it('keeps numeric-IP trunks off DNS', async () => {
    const before = dns.queries().length
    const callee = await runSipp({scenarioXml: uasAnswering(), port: ports.answerAfterSilent})
    const caller = await callerFor(gw, '+120090001')
    const [called, answered] = await Promise.all([caller.done, callee.done])
    assert.equal(called.code, 0, called.output)
    assert.equal(answered.code, 0, answered.output)
    assert.equal(dns.queries().length, before)
  })
})

describe('SIP DNS (RFC 3263): names that cannot be reached', () => {
  const gw = new TestGateway()
  let dns: Dnsmasq
  const holes: UdpSipPeer[] = []

  before(async () => {
    for (let i = 0; i < 3; i++) holes.push(await UdpSipPeer.open())
    dns = new Dnsmasq({
      // ghost.test has an address of its own: RFC 3263 §4.2 uses it only when the name has no SRV records.
      hosts: {'hole.test': ['127.0.0.1'], 'ghost.test': ['127.0.0.1']},
      srv: [
        {name: '_sip._udp.ghost.test', target: 'nohost1.test', port: 5060, priority: 10},
        {name: '_sip._udp.ghost.test', target: 'nohost2.test', port: 5060, priority: 20},
        ...holes.map((hole, position) => ({name: '_sip._udp.big.test', target: 'hole.test', port: hole.port, priority: position + 1})),
        ...Array.from({length: 147}, (_, i) => ({name: '_sip._udp.big.test', target: 'hole.test', port: 40_000 + i, priority: 10 + i})),
      ],
    })
    await dns.start()
    await startGateway(gw, dns.server, [
      {key: 'nxdomain', prefix: '3001', uri: 'sip:nowhere.test'},
      {key: 'ghost', prefix: '3002', uri: 'sip:ghost.test'},
      {key: 'big', prefix: '3003', uri: 'sip:big.test', timeoutS: 4},
    ])
  })

  after(async () => {
    await gw.stop()
    await dns?.stop()
    for (const hole of holes) hole.close()
  })

  const dnsFailure = (uri: string) => waitFor(`the DNS failure of ${uri}`, () => bLegLines(gw, 'B-leg not sent: DNS resolution failed').find((line) => line.request_uri === uri))

  it('NXDOMAIN: the call fails at once, with no route to destination (3) and the lookup named in the log', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gw.sip, service: '+130010001'})
    assert.equal((await caller.done).code, 0)
    const line = await dnsFailure('sip:+130010001@nowhere.test')
    assert.equal(line.dns_failure, 'nxdomain')
    assert.equal(line.host, 'nowhere.test')
    assert.equal(line.q850_cause, 3)
    assert.match(String(line.error), /cannot resolve nowhere\.test: no such domain \(NXDOMAIN\)/)
    const end = await gw.hangupOf('+130010001')
    assert.equal(end.status, 'failed')
    const bridge = gw.logLines((entry) => entry.msg === 'bridge dial finished' && entry.call_sid === end.call_sid)
    assert.equal(bridge[0]?.cause, 3)
  })

  it('SRV records naming hosts without addresses: no usable target, cause 3, no fallback to the domain\'s own A record', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gw.sip, service: '+130020001'})
    assert.equal((await caller.done).code, 0)
    const line = await dnsFailure('sip:+130020001@ghost.test')
    assert.equal(line.dns_failure, 'no-targets')
    assert.equal(line.q850_cause, 3)
    assert.match(String(line.error), /SRV records name hosts without addresses.*A nohost1\.test/)
  })

  it('a huge SRV set: only sip.dns.max_targets (3) targets are tried, best priorities first', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gw.sip, service: '+130030001'})
    assert.equal((await caller.done).code, 0)
    for (const hole of holes) assert.ok(hole.received.some((message) => message.method === 'INVITE'), `target ${hole.port} was tried`)
    const line = await waitFor('the B-leg end', () => gw.logLines((entry) => entry.leg === 'b' && entry.msg === 'B-leg not answered').find((entry) => entry.targets_tried !== undefined))
    assert.equal(line.targets_tried, 3)
    assert.ok(dns.queries().filter((query) => query.startsWith('A ')).length <= 6)
  })
})

describe('SIP DNS (RFC 3263): a DNS server that never answers', () => {
  const gw = new TestGateway()
  let deadServer: UdpSipPeer

  before(async () => {
    // A UDP socket that takes the queries and answers none.
    deadServer = await UdpSipPeer.open()
    await startGateway(gw, `127.0.0.1:${deadServer.port}`, [{key: 'down', prefix: '4001', uri: 'sip:carrier.test'}], '    timeout_ms: 300\n    tries: 1\n')
  })

  after(async () => {
    await gw.stop()
    deadServer.close()
  })

  it('fails the call as a temporary failure (41) after one query timed out, naming the timeout', async () => {
    const caller = await runSipp({scenarioXml: uacExpectingRefusal(503), target: gw.sip, service: '+140010001'})
    assert.equal((await caller.done).code, 0)
    const line = await waitFor('the DNS failure', () => bLegLines(gw, 'B-leg not sent: DNS resolution failed').find((entry) => entry.host === 'carrier.test'))
    assert.equal(line.dns_failure, 'timeout')
    assert.equal(line.q850_cause, 41)
    assert.match(String(line.error), /no answer from the DNS servers in time/)
    // One query timed out and no other was made for this call (each would have waited as long).
    assert.ok(deadServer.received.length >= 1)
    assert.ok(deadServer.received.length <= 2, `${deadServer.received.length} datagrams`)
  })
})
