import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {BRANCH_MAGIC_COOKIE, formatVia, parseVia, viaBranch, viaMaddr, viaReceived, viaRport} from '../../../../src/sip/via.js'
import {SipParseError} from '../../../../src/sip/errors.js'
import {SipParams} from '../../../../src/sip/params.js'

describe('Via', () => {
  it('parses protocol, transport, sent-by and the well-known parameters', () => {
    const [via] = parseVia('SIP/2.0/udp pc33.atlanta.example.com:5066;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5067;maddr=224.2.0.1;ttl=16')
    assert.ok(via)
    assert.deepEqual([via.protocol, via.version, via.transport, via.host, via.port], ['SIP', '2.0', 'UDP', 'pc33.atlanta.example.com', 5066])
    assert.equal(viaBranch(via), 'z9hG4bK776asdhds')
    assert.equal(viaReceived(via), '192.0.2.1')
    assert.equal(viaRport(via), 5067)
    assert.equal(viaMaddr(via), '224.2.0.1')
  })

  it('tells a requested rport from an absent one', () => {
    assert.equal(viaRport(parseVia('SIP/2.0/UDP h.example.com;rport;branch=z9hG4bK1')[0]!), null)
    assert.equal(viaRport(parseVia('SIP/2.0/UDP h.example.com;branch=z9hG4bK1')[0]!), undefined)
  })

  it('splits several via-parms and allows whitespace around separators', () => {
    const vias = parseVia('SIP / 2.0 / TCP [2001:db8::1] : 5061 ; branch = z9hG4bKa , SIP/2.0/WSS df7jal23ls0d.invalid;branch=z9hG4bKb;received=2001:db8::9')
    assert.deepEqual(vias.map((via) => [via.transport, via.host, via.port, viaBranch(via)]), [['TCP', '2001:db8::1', 5061, 'z9hG4bKa'], ['WSS', 'df7jal23ls0d.invalid', undefined, 'z9hG4bKb']])
    assert.equal(viaReceived(vias[1]!), '2001:db8::9')
  })

  it('rejects malformed values', () => {
    for (const bad of ['', 'SIP/2.0/UDP', 'SIP/2.0 UDP host', 'SIP/2.0/UDPhost', 'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP host;;', 'SIP/2.0/UDP host;branch',
      'SIP/2.0/UDP host;received=example.com', 'SIP/2.0/UDP host;rport=x', 'SIP/2.0/UDP host;ttl=300', 'SIP/2.0/UDP host,', 'SIP/2.0/UDP [::1;branch=x', 'SIP/2.0/UDP ho st']) {
      assert.throws(() => parseVia(bad), SipParseError, bad)
    }
  })

  it('formats and round-trips, bracketing IPv6', () => {
    const via = {protocol: 'SIP', version: '2.0', transport: 'UDP', host: '2001:db8::5', port: 5060, params: new SipParams().set('branch', `${BRANCH_MAGIC_COOKIE}abc`).set('rport', null)}
    const text = formatVia(via)
    assert.equal(text, 'SIP/2.0/UDP [2001:db8::5]:5060;branch=z9hG4bKabc;rport')
    assert.deepEqual(parseVia(text), [via])
  })
})
