import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import pino from 'pino'
import {SipGuard} from '../../../../daemon/security/sip-guard.js'
import {InboundRouter} from '../../../../daemon/trunks/inbound-router.js'
import {parseConfigText} from '../../../../src/config/load.js'
import {createRequest} from '../../../../src/sip/message.js'
import type {InboundContext} from '../../../../src/sip/transport/types.js'

const CONFIG = `
tenants:
  - { id: acme, dialplan: default }
trunks:
  - { id: carrier, tenant: acme, inbound: { cidrs: [203.0.113.0/24] } }
  - { id: phones, tenant: acme, inbound: { auth: { username: u, password: p } } }
security:
  trusted_cidrs: [192.0.2.100]
  rate_limit: { requests: 2, window_ms: 1000, ban_s: 60 }
`

const guardFor = (yaml: string) => {
  const config = parseConfigText(yaml, 'test.yaml')
  let now = 1_000_000
  const guard = new SipGuard(config.security, new InboundRouter(config), pino({level: 'silent'}), () => now)
  const refused: string[] = []
  guard.on('refused', (method, reason) => refused.push(`${method}/${reason}`))
  return {guard, refused, tick: (ms: number) => (now += ms)}
}

const request = (method: string) => createRequest(method, 'sip:x@example.test', [])
const from = (address: string): InboundContext => ({transport: 'udp', local: {address: '127.0.0.1', port: 5060}, remote: {address, port: 5060}, receivedAt: 0})

describe('SipGuard', () => {
  it('drops OPTIONS and REGISTER from an unknown source, lets INVITEs reach the credential-only trunk, admits trunk sources and in-dialog requests', (t) => {
    const {guard, refused} = guardFor(CONFIG)
    t.after(() => guard.stop())
    assert.equal(guard.screen(request('OPTIONS'), from('198.51.100.1'), false), 'drop')
    assert.equal(guard.screen(request('REGISTER'), from('198.51.100.2'), false), 'drop')
    assert.equal(guard.screen(request('FOO'), from('198.51.100.3'), false), 'drop')
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.4'), false), 'admit')
    assert.equal(guard.screen(request('BYE'), from('198.51.100.5'), true), 'admit', 'in a dialog we hold')
    assert.equal(guard.screen(request('OPTIONS'), from('203.0.113.9'), false), 'admit')
    assert.equal(guard.screen(request('OPTIONS'), from('::ffff:203.0.113.9'), false), 'admit', 'an IPv4-mapped trunk source')
    assert.deepEqual(refused, ['OPTIONS/unknown_source', 'REGISTER/unknown_source', 'other/unknown_source'])
  })

  it('rejects instead of dropping with unknown_sources: reject', (t) => {
    const {guard} = guardFor(`${CONFIG}  unknown_sources: reject\n`)
    t.after(() => guard.stop())
    assert.equal(guard.screen(request('OPTIONS'), from('198.51.100.1'), false), 'reject')
  })

  it('bans a source over the rate limit, not a trunk source (exempt by default) nor a trusted one; unban lets it back', (t) => {
    const {guard, refused} = guardFor(CONFIG)
    t.after(() => guard.stop())
    for (let i = 0; i < 2; i++) assert.equal(guard.screen(request('INVITE'), from('198.51.100.7'), false), 'admit')
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.7'), false), 'drop')
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.7'), true), 'drop', 'banned: even in-dialog requests')
    for (let i = 0; i < 50; i++) assert.equal(guard.screen(request('OPTIONS'), from('203.0.113.9'), false), 'admit')
    for (let i = 0; i < 50; i++) assert.equal(guard.screen(request('OPTIONS'), from('192.0.2.100'), false), 'admit')
    assert.deepEqual(refused, ['INVITE/rate_limit', 'INVITE/banned'])
    const bans = guard.bans()
    assert.equal(bans.length, 1)
    assert.equal(bans[0]?.address, '198.51.100.7')
    assert.equal(bans[0]?.reason, 'rate_limit')
    assert.equal(bans[0]?.hits, 2)
    assert.equal(bans[0]?.until, new Date(1_000_000 + 60_000).toISOString())
    assert.deepEqual(guard.unban('198.51.100.7'), ['198.51.100.7'])
    assert.deepEqual(guard.unban('198.51.100.7'), [])
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.7'), false), 'admit')
  })

  it('limits trunk sources too with rate_limit.trunk_sources: limited', (t) => {
    const {guard} = guardFor(CONFIG.replace('ban_s: 60 }', 'ban_s: 60, trunk_sources: limited }'))
    t.after(() => guard.stop())
    const verdicts = Array.from({length: 3}, () => guard.screen(request('OPTIONS'), from('203.0.113.9'), false))
    assert.deepEqual(verdicts, ['admit', 'admit', 'drop'])
  })

  it('bans a source after auth_failures.max wrong digests; the ban expires by itself', (t) => {
    const {guard, tick} = guardFor(CONFIG)
    t.after(() => guard.stop())
    for (let i = 0; i < 4; i++) guard.authFailed('198.51.100.8')
    assert.equal(guard.bannedCount, 0)
    guard.authFailed('198.51.100.8')
    assert.equal(guard.bans()[0]?.reason, 'auth_failures')
    tick(1000)
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.8'), false), 'drop')
    tick(900_000)
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.8'), false), 'admit')
  })

  it('drops a banned source\'s datagrams before they are parsed, counting each as banned; responses and everyone else go on to the parser', (t) => {
    const {guard, refused, tick} = guardFor(CONFIG)
    t.after(() => guard.stop())
    const datagram = (text: string) => Buffer.from(text, 'latin1')
    const options = datagram('OPTIONS sip:x@example.test SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5060\r\n\r\n')
    assert.equal(guard.screenDatagram(options, '198.51.100.7'), true, 'nobody is banned yet')
    for (let i = 0; i < 3; i++) guard.screen(request('OPTIONS'), from('198.51.100.7'), false)
    assert.equal(guard.bannedCount, 1)
    refused.length = 0
    assert.equal(guard.screenDatagram(options, '198.51.100.7'), false)
    assert.equal(guard.screenDatagram(options, '::ffff:198.51.100.7'), false, 'IPv4-mapped')
    assert.equal(guard.screenDatagram(datagram('INVITE sip:x@example.test SIP/2.0\r\n'), '198.51.100.7'), false)
    assert.equal(guard.screenDatagram(datagram('\x00\x01garbage'), '198.51.100.7'), false)
    assert.equal(guard.screenDatagram(datagram('SIP/2.0 200 OK\r\n'), '198.51.100.7'), true, 'a response is never screened')
    assert.equal(guard.screenDatagram(options, '198.51.100.8'), true, 'another source')
    assert.equal(guard.screenDatagram(options, '203.0.113.9'), true, 'a trunk source')
    assert.deepEqual(refused, ['OPTIONS/banned', 'OPTIONS/banned', 'INVITE/banned', 'other/banned'])
    assert.equal(guard.bans()[0]?.hits, 5, 'the ban counts them')
    tick(60_000)
    assert.equal(guard.screenDatagram(options, '198.51.100.7'), true, 'the ban is over')
  })

  it('admits everyone when no trunk has an inbound section (the open default gateway), still rate-limited', (t) => {
    const {guard} = guardFor('security: { rate_limit: { requests: 1 } }\n')
    t.after(() => guard.stop())
    assert.equal(guard.screen(request('OPTIONS'), from('198.51.100.1'), false), 'admit')
    assert.equal(guard.screen(request('OPTIONS'), from('198.51.100.1'), false), 'drop')
    assert.equal(guard.screen(request('OPTIONS'), from('127.0.0.1'), false), 'admit', 'loopback is trusted by default')
    assert.equal(guard.screen(request('OPTIONS'), from('127.0.0.1'), false), 'admit')
  })

  it('screens TCP connections: trusted exempt, trunk and credential-trunk callers admitted, unknown dropped (admitted under reject), banned closed', (t) => {
    const {guard} = guardFor(CONFIG)
    t.after(() => guard.stop())
    assert.equal(guard.screenConnection('192.0.2.100'), 'exempt')
    assert.equal(guard.screenConnection('203.0.113.9'), 'admit')
    // A credential-only trunk takes INVITEs from anywhere, so a connection cannot be judged by its address.
    assert.equal(guard.screenConnection('198.51.100.1'), 'admit')
    for (let i = 0; i < 3; i++) guard.screen(request('INVITE'), from('198.51.100.7'), false)
    assert.equal(guard.screenConnection('198.51.100.7'), 'banned')
    assert.equal(guard.screenConnection('::ffff:198.51.100.7'), 'banned')
    const closedConfig = CONFIG.replace(/  - \{ id: phones.*\n/, '')
    const dropping = guardFor(closedConfig)
    t.after(() => dropping.guard.stop())
    assert.equal(dropping.guard.screenConnection('198.51.100.1'), 'unknown_source')
    assert.equal(dropping.guard.screenConnection('203.0.113.9'), 'admit')
    const rejecting = guardFor(`${closedConfig}  unknown_sources: reject\n`)
    t.after(() => rejecting.guard.stop())
    assert.equal(rejecting.guard.screenConnection('198.51.100.1'), 'admit', 'let in to be answered 403')
  })

  it('answers busy (stateless 503) to a new request past limits.max_transactions, from any source, but never to ACK or a request we hold', (t) => {
    const {guard, refused} = guardFor(`${CONFIG}  limits: { max_transactions: 100 }\n`)
    t.after(() => guard.stop())
    let held = 99
    guard.serverTransactions = () => held
    assert.equal(guard.screen(request('OPTIONS'), from('192.0.2.100'), false), 'admit')
    held = 100
    assert.equal(guard.screen(request('OPTIONS'), from('192.0.2.100'), false), 'busy', 'trusted sources too')
    assert.equal(guard.screen(request('INVITE'), from('203.0.113.9'), false), 'busy')
    assert.equal(guard.screen(request('BYE'), from('203.0.113.9'), true), 'admit', 'a request of a dialog or transaction we hold')
    assert.equal(guard.screen(request('ACK'), from('203.0.113.9'), false), 'admit')
    assert.equal(guard.screen(request('OPTIONS'), from('198.51.100.1'), false), 'drop', 'unknown sources are dropped before the cap')
    assert.deepEqual(refused, ['OPTIONS/transaction_limit', 'INVITE/transaction_limit', 'OPTIONS/unknown_source'])
  })

  it('applies a reloaded security section and trunks to the next request, keeping the bans in force', (t) => {
    const {guard, refused} = guardFor(CONFIG)
    t.after(() => guard.stop())
    for (let i = 0; i < 3; i++) guard.screen(request('INVITE'), from('198.51.100.7'), false)
    assert.equal(guard.bans().length, 1)
    // The reload: a new trunk for 198.51.100.0/24, rejects for unknown sources, a higher rate limit.
    const reloaded = parseConfigText(
      CONFIG.replace('  - { id: phones', '  - { id: branch, tenant: acme, inbound: { cidrs: [198.51.100.0/24] } }\n  - { id: phones').replace('requests: 2,', 'requests: 5,') + '  unknown_sources: reject\n',
      'reloaded.yaml',
    )
    guard.reconfigure(reloaded.security, new InboundRouter(reloaded))
    assert.deepEqual(guard.bans().map((ban) => ban.address), ['198.51.100.7'], 'the ban outlives the reload')
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.7'), false), 'drop', 'still banned')
    assert.equal(guard.screen(request('OPTIONS'), from('198.51.100.8'), false), 'admit', 'a source of the new trunk')
    assert.equal(guard.screen(request('OPTIONS'), from('198.18.0.1'), false), 'reject', 'unknown_sources: reject now')
    assert.deepEqual(refused.slice(-2), ['INVITE/banned', 'OPTIONS/unknown_source'])
    // The new trunk is exempt from the rate limit (trunk_sources: exempt), so the new limit is seen on another source.
    const plain = parseConfigText(CONFIG.replace('requests: 2,', 'requests: 5,'), 'reloaded.yaml')
    guard.reconfigure(plain.security, new InboundRouter(plain))
    for (let i = 0; i < 5; i++) assert.equal(guard.screen(request('INVITE'), from('198.51.100.9'), false), 'admit')
    assert.equal(guard.screen(request('INVITE'), from('198.51.100.9'), false), 'drop', 'the sixth request is over the new limit of 5')
  })
})
