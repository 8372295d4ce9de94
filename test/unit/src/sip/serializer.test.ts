import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {serializeSipMessage} from '../../../../src/sip/serializer.js'
import {createRequest, createResponse} from '../../../../src/sip/message.js'
import {parseSipMessage} from '../../../../src/sip/parser.js'
import {WSINV} from './fixtures.js'

const HEADERS: Array<[string, string]> = [
  ['Via', 'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK74bf9;rport'],
  ['Max-Forwards', '70'],
  ['From', '<sip:alice@example.com>;tag=9fxced76sl'],
  ['To', '<sip:bob@example.com>'],
  ['Call-ID', '3848276298220188511@example.com'],
  ['CSeq', '1 INVITE'],
]

describe('serializeSipMessage', () => {
  it('writes the request line, headers in order, a Content-Length and the body', () => {
    const body = Buffer.from('v=0\r\n')
    const wire = serializeSipMessage(createRequest('INVITE', 'sip:bob@example.com', HEADERS, body))
    assert.equal(
      wire.toString(),
      'INVITE sip:bob@example.com SIP/2.0\r\n' +
        HEADERS.map(([name, value]) => `${name}: ${value}\r\n`).join('') +
        'Content-Length: 5\r\n\r\nv=0\r\n',
    )
  })

  it('corrects a wrong Content-Length in place and drops duplicates', () => {
    const message = createResponse(200, 'OK', [['l', '999'], ...HEADERS, ['Content-Length', '3']], Buffer.from('abc'))
    const text = serializeSipMessage(message).toString()
    assert.ok(text.startsWith('SIP/2.0 200 OK\r\nl: 3\r\nVia:'))
    assert.equal(text.match(/content-length|\r\nl:/gi)?.length, 1)
  })

  it('writes Content-Length: 0 for an empty body', () => {
    assert.match(serializeSipMessage(createRequest('OPTIONS', 'sip:a@example.com', HEADERS)).toString(), /\r\nContent-Length: 0\r\n\r\n$/)
  })

  it('keeps binary bodies byte for byte', () => {
    const body = Buffer.from([0, 255, 13, 10, 13, 10, 1])
    const wire = serializeSipMessage(createRequest('MESSAGE', 'sip:a@example.com', [...HEADERS.slice(0, 5), ['CSeq', '2 MESSAGE']], body))
    assert.deepEqual(parseSipMessage(wire).body, body)
  })

  it('refuses values that would inject lines, and invalid start lines', () => {
    assert.throws(() => serializeSipMessage(createRequest('INVITE', 'sip:a@example.com', [['Subject', 'hi\r\nX-Injected: 1']])), TypeError)
    assert.throws(() => serializeSipMessage(createRequest('INVITE', 'sip:a@example.com', [['Bad Name', 'x']])), TypeError)
    assert.throws(() => serializeSipMessage(createRequest('IN VITE', 'sip:a@example.com')), TypeError)
    assert.throws(() => serializeSipMessage(createRequest('INVITE', 'sip:a@ example.com')), TypeError)
    assert.throws(() => serializeSipMessage(createResponse(99, 'Low')), TypeError)
    assert.throws(() => serializeSipMessage(createResponse(200, 'OK\r\nVia: x')), TypeError)
  })

  it('writes unfolded headers: a folded message comes out on single lines', () => {
    const text = serializeSipMessage(parseSipMessage(WSINV)).toString()
    const head = text.slice(0, text.indexOf('\r\n\r\n'))
    assert.ok(head.split('\r\n').every((line) => !line.startsWith(' ') && !line.startsWith('\t')))
    assert.match(head, /\r\nNewFangledHeader: newfangled value continued newfangled value\r\n/)
  })
})
