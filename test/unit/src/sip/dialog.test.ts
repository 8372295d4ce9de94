// Dialogs (RFC 3261 §12): creation on both sides, route sets (loose and
// strict routing), CSeq handling, target refresh, the ACK for a 2xx.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {Dialog, dialogKeyOfRequest, dialogKeyOfResponse} from '../../../../src/sip/dialog.js'
import {cseqOf, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {parseSipMessage} from '../../../../src/sip/parser.js'
import {wire} from './fake-sip-transport.js'

const invite = (extra: string[] = []): SipRequest =>
  parseSipMessage(Buffer.from(wire([
    'INVITE sip:bob@biloxi.example SIP/2.0',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKdlg',
    'Max-Forwards: 70',
    'From: "Alice" <sip:alice@atlanta.example>;tag=alice1',
    'To: <sip:bob@biloxi.example>',
    'Call-ID: dialog-test',
    'CSeq: 10 INVITE',
    'Contact: <sip:alice@192.0.2.1:5070>',
    'Authorization: Digest username="alice", realm="r", nonce="n", uri="sip:bob@biloxi.example", response="0123"',
    ...extra,
  ]))) as SipRequest

const ok = (extra: string[]): SipResponse =>
  parseSipMessage(Buffer.from(wire([
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKdlg',
    'From: "Alice" <sip:alice@atlanta.example>;tag=alice1',
    'To: <sip:bob@biloxi.example>;tag=bob1',
    'Call-ID: dialog-test',
    'CSeq: 10 INVITE',
    ...extra,
  ]))) as SipResponse

const uac = (extra: string[]): Dialog => Dialog.asUac(invite(), ok(extra), {transport: 'udp', localContact: '<sip:gw@127.0.0.1:5060>'})

describe('UAC dialog (§12.1.2)', () => {
  it('takes the remote target from the 2xx Contact and the route set from Record-Route, reversed', () => {
    const dialog = uac(['Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>', 'Record-Route: <sip:p0.example;lr>', 'Contact: <sip:bob@192.0.2.4:5080>'])
    assert.equal(dialog.state, 'confirmed')
    assert.equal(dialog.remoteTarget, 'sip:bob@192.0.2.4:5080')
    assert.deepEqual(dialog.routeSet, ['<sip:p0.example;lr>', '<sip:p1.example;lr>', '<sip:p2.example;lr>'])
    assert.equal(dialog.nextHopUri, 'sip:p0.example;lr')
    assert.equal(dialog.key, dialogKeyOfResponse(ok([])))
  })

  it('builds in-dialog requests with the next CSeq, its tags, the remote target as Request-URI and the routes (loose routing)', () => {
    const dialog = uac(['Record-Route: <sip:p1.example;lr>', 'Contact: <sip:bob@192.0.2.4:5080>'])
    const bye = dialog.createRequest('BYE', {headers: [['Reason', 'Q.850;cause=16']]})
    assert.equal(bye.uri, 'sip:bob@192.0.2.4:5080')
    assert.deepEqual(cseqOf(bye), {seq: 11, method: 'BYE'})
    assert.equal(bye.headers.get('from'), '"Alice" <sip:alice@atlanta.example>;tag=alice1')
    assert.equal(bye.headers.get('to'), '<sip:bob@biloxi.example>;tag=bob1')
    assert.equal(bye.headers.get('call-id'), 'dialog-test')
    assert.deepEqual(bye.headers.getAll('route'), ['<sip:p1.example;lr>'])
    assert.equal(bye.headers.get('reason'), 'Q.850;cause=16')
    assert.equal(bye.headers.has('contact'), false)
    const reinvite = dialog.createRequest('INVITE', {body: Buffer.from('v=0\r\n')})
    assert.deepEqual(cseqOf(reinvite), {seq: 12, method: 'INVITE'})
    assert.equal(reinvite.headers.get('contact'), '<sip:gw@127.0.0.1:5060>')
    assert.equal(reinvite.headers.get('content-type'), 'application/sdp')
  })

  it('puts a strict router in the Request-URI and the remote target last in Route (§12.2.1.1)', () => {
    const dialog = uac(['Record-Route: <sip:p2.example;lr>', 'Record-Route: <sip:strict.example;maddr=192.0.2.9;transport=udp>', 'Contact: <sip:bob@192.0.2.4>'])
    const bye = dialog.createRequest('BYE')
    assert.equal(bye.uri, 'sip:strict.example;transport=udp')
    assert.deepEqual(bye.headers.getAll('route'), ['<sip:p2.example;lr>', '<sip:bob@192.0.2.4>'])
    assert.equal(dialog.nextHopUri, 'sip:strict.example;maddr=192.0.2.9;transport=udp')
  })

  it('builds the ACK for a 2xx with the INVITE CSeq number and its credentials (§13.2.2.4), without consuming a CSeq', () => {
    const dialog = uac(['Contact: <sip:bob@192.0.2.4>'])
    const request = invite()
    const credentials = [['Authorization', request.headers.get('authorization') ?? ''] as const]
    const ack = dialog.createAck(cseqOf(request).seq, {credentials})
    assert.deepEqual(cseqOf(ack), {seq: 10, method: 'ACK'})
    assert.equal(ack.headers.get('authorization'), request.headers.get('authorization'))
    assert.equal(ack.uri, 'sip:bob@192.0.2.4')
    assert.deepEqual(cseqOf(dialog.createRequest('BYE')), {seq: 11, method: 'BYE'})
  })

  it('replaces the remote target on a target refresh', () => {
    const dialog = uac(['Contact: <sip:bob@192.0.2.4>'])
    dialog.refreshTarget(ok(['Contact: <sip:bob@192.0.2.99:5090;transport=tcp>']))
    assert.equal(dialog.remoteTarget, 'sip:bob@192.0.2.99:5090;transport=tcp')
  })
})

describe('UAS dialog (§12.1.1)', () => {
  const request = invite(['Record-Route: <sip:p1.example;lr>, <sip:p2.example;lr>'])
  const dialog = Dialog.asUas(request, 'gw9', {transport: 'tcp', connectionId: 3, localContact: '<sip:gw@127.0.0.1:5060;transport=tcp>'})

  it('swaps the addresses, keeps the route set in order and the caller Contact as remote target', () => {
    assert.equal(dialog.localAddress, '<sip:bob@biloxi.example>;tag=gw9')
    assert.equal(dialog.remoteAddress, '"Alice" <sip:alice@atlanta.example>;tag=alice1')
    assert.deepEqual(dialog.routeSet, ['<sip:p1.example;lr>', '<sip:p2.example;lr>'])
    assert.equal(dialog.remoteTarget, 'sip:alice@192.0.2.1:5070')
    assert.equal(dialog.remoteSeq, 10)
    assert.equal(dialog.connectionId, 3)
  })

  it('matches the peer in-dialog requests by Call-ID and tags', () => {
    const bye = parseSipMessage(Buffer.from(wire([
      'BYE sip:gw@127.0.0.1 SIP/2.0',
      'Via: SIP/2.0/TCP 192.0.2.1:5070;branch=z9hG4bKbye',
      'From: "Alice" <sip:alice@atlanta.example>;tag=alice1',
      'To: <sip:bob@biloxi.example>;tag=gw9',
      'Call-ID: dialog-test',
      'CSeq: 11 BYE',
    ]))) as SipRequest
    assert.equal(dialogKeyOfRequest(bye), dialog.key)
    assert.equal(dialog.acceptRemoteSequence(bye), true)
    assert.equal(dialog.remoteSeq, 11)
    bye.headers.set('CSeq', '9 BYE')
    assert.equal(dialog.acceptRemoteSequence(bye), false, 'a lower CSeq is out of order (§12.2.2)')
  })

  it('starts its own CSeq at a random number below 2^31 and counts up', () => {
    const first = cseqOf(dialog.createRequest('BYE')).seq
    assert.ok(first >= 1 && first < 2 ** 31)
    assert.equal(cseqOf(dialog.createRequest('INFO')).seq, first + 1)
    const bye = dialog.createRequest('BYE')
    assert.equal(bye.headers.get('from'), '<sip:bob@biloxi.example>;tag=gw9')
    assert.equal(bye.headers.get('to'), '"Alice" <sip:alice@atlanta.example>;tag=alice1')
    assert.deepEqual(bye.headers.getAll('route'), ['<sip:p1.example;lr>', '<sip:p2.example;lr>'])
  })
})
