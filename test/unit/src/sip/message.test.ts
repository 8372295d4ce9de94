import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {contactOf, createRequest, createResponse, createResponseTo, maxForwardsOf, reasonPhrase, topViaOf, type SipRequest} from '../../../../src/sip/message.js'
import {parseSipMessage} from '../../../../src/sip/parser.js'
import {SipParseError} from '../../../../src/sip/errors.js'
import {viaBranch} from '../../../../src/sip/via.js'
import {BYE, INVITE} from './fixtures.js'

describe('createResponseTo', () => {
  it('copies Vias, From, To, Call-ID and CSeq and adds the To tag (RFC 3261 §8.2.6.2)', () => {
    const invite = parseSipMessage(INVITE) as SipRequest
    const ringing = createResponseTo(invite, 180, {toTag: 'as83kd9bs'})
    assert.equal(ringing.reason, 'Ringing')
    assert.deepEqual([...ringing.headers].map((header) => header.name), ['Via', 'From', 'To', 'Call-ID', 'CSeq'])
    assert.equal(ringing.headers.get('to'), 'Bob <sip:bob@biloxi.example.com>;tag=as83kd9bs')
    assert.equal(ringing.headers.get('from'), invite.headers.get('from'))
    assert.equal(ringing.body.length, 0)
  })

  it('keeps an existing To tag and every Via in order', () => {
    const bye = parseSipMessage(BYE) as SipRequest
    const ok = createResponseTo(bye, 200, {toTag: 'ignored', reason: 'Fine'})
    assert.equal(ok.reason, 'Fine')
    assert.equal(ok.headers.get('to'), bye.headers.get('to'))
    assert.deepEqual(ok.headers.getAll('via'), bye.headers.getAll('via'))
    assert.equal(viaBranch(topViaOf(ok)), 'z9hG4bKnashds10')
  })
})

describe('message helpers', () => {
  it('builds requests and responses', () => {
    const request = createRequest('OPTIONS', 'sip:a@example.com', [['Max-Forwards', '10']])
    assert.equal(request.kind, 'request')
    assert.equal(maxForwardsOf(request), 10)
    assert.equal(maxForwardsOf(createRequest('OPTIONS', 'sip:a@example.com')), 70)
    assert.equal(createResponse(486).reason, 'Busy Here')
  })

  it('combines Contact lines and refuses * among addresses', () => {
    const request = createRequest('REGISTER', 'sip:example.com', [['Contact', '<sip:a@h1>'], ['m', '<sip:b@h2>, <sip:c@h3>']])
    const contact = contactOf(request)
    assert.ok(contact !== undefined && !contact.star)
    assert.equal(contact.addresses.length, 3)
    assert.deepEqual(contactOf(createRequest('REGISTER', 'sip:example.com', [['Contact', '*']])), {star: true})
    assert.equal(contactOf(createRequest('REGISTER', 'sip:example.com')), undefined)
    assert.throws(() => contactOf(createRequest('REGISTER', 'sip:example.com', [['Contact', '*'], ['Contact', '<sip:a@h>']])), SipParseError)
  })

  it('fails typed accessors with SipParseError when a header is missing', () => {
    assert.throws(() => topViaOf(createRequest('OPTIONS', 'sip:a@example.com')), SipParseError)
  })

  it('knows standard reason phrases and falls back per class', () => {
    assert.equal(reasonPhrase(200), 'OK')
    assert.equal(reasonPhrase(488), 'Not Acceptable Here')
    assert.equal(reasonPhrase(513), 'Message Too Large')
    assert.equal(reasonPhrase(499), 'Client Error')
    assert.equal(reasonPhrase(699), 'Global Failure')
  })
})
