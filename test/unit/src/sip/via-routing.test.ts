// RFC 3581 stamping of the top Via and RFC 3261 §18.2.2 response routing.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {createResponse, createRequest, type SipMessage} from '../../../../src/sip/message.js'
import {responseDestination, stampTopVia} from '../../../../src/sip/transport/via-routing.js'

const withVias = (...vias: string[]): SipMessage => createRequest('OPTIONS', 'sip:gw@127.0.0.1', [...vias.map((via) => ['Via', via] as [string, string]), ['Call-ID', 'v']])
const responseWith = (via: string): SipMessage => createResponse(200, 'OK', [['Via', via]])

describe('stampTopVia', () => {
  it('fills rport and adds received even when the host matches (RFC 3581 §4)', () => {
    const message = withVias('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport')
    assert.equal(stampTopVia(message, {address: '192.0.2.1', port: 40000}), true)
    assert.equal(message.headers.get('via'), 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1;rport=40000;received=192.0.2.1')
  })

  it('adds received when the sent-by host is not the source address, and leaves matching Vias alone', () => {
    const named = withVias('SIP/2.0/UDP phone.example;branch=z9hG4bK2')
    stampTopVia(named, {address: '198.51.100.7', port: 5060})
    assert.equal(named.headers.get('via'), 'SIP/2.0/UDP phone.example;branch=z9hG4bK2;received=198.51.100.7')
    const same = withVias('SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK3')
    stampTopVia(same, {address: '2001:db8:0::1', port: 5060})
    assert.equal(same.headers.get('via'), 'SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK3')
  })

  it('touches only the first via-parm of the first line and keeps the header order', () => {
    const message = withVias('SIP/2.0/UDP a.example;branch=z9hG4bK4, SIP/2.0/UDP b.example;branch=z9hG4bK5', 'SIP/2.0/TCP c.example;branch=z9hG4bK6')
    stampTopVia(message, {address: '192.0.2.9', port: 1})
    assert.deepEqual(message.headers.getAll('via'), ['SIP/2.0/UDP a.example;branch=z9hG4bK4;received=192.0.2.9, SIP/2.0/UDP b.example;branch=z9hG4bK5', 'SIP/2.0/TCP c.example;branch=z9hG4bK6'])
    assert.deepEqual([...message.headers].map(({name}) => name), ['Via', 'Via', 'Call-ID'])
  })

  it('refuses a message whose top Via does not parse', () => {
    assert.equal(stampTopVia(withVias('garbage'), {address: '192.0.2.1', port: 1}), false)
  })
})

describe('responseDestination (§18.2.2)', () => {
  it('uses received and rport on UDP', () => {
    assert.deepEqual(responseDestination(responseWith('SIP/2.0/UDP phone.example:5070;branch=z9hG4bK1;received=192.0.2.5;rport=33333'), 'udp'), {host: '192.0.2.5', port: 33333})
  })

  it('uses the sent-by port without rport, 5060 without a port, and ignores rport on TCP', () => {
    assert.deepEqual(responseDestination(responseWith('SIP/2.0/UDP phone.example:5070;branch=z9hG4bK1;received=192.0.2.5'), 'udp'), {host: '192.0.2.5', port: 5070})
    assert.deepEqual(responseDestination(responseWith('SIP/2.0/UDP 192.0.2.6;branch=z9hG4bK1'), 'udp'), {host: '192.0.2.6', port: 5060})
    assert.deepEqual(responseDestination(responseWith('SIP/2.0/TCP phone.example:5071;branch=z9hG4bK1;received=192.0.2.5;rport=40000'), 'tcp'), {host: '192.0.2.5', port: 5071})
  })
})
