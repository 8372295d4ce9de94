import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {canonicalHeaderName, headerKey, isListHeader, SipHeaders, splitHeaderList} from '../../../../src/sip/headers.js'

describe('header names', () => {
  it('maps compact forms and case to one key', () => {
    const pairs: Array<[string, string]> = [['i', 'call-id'], ['M', 'contact'], ['f', 'from'], ['t', 'to'], ['v', 'via'], ['l', 'content-length'], ['c', 'content-type'], ['k', 'supported'],
      ['s', 'subject'], ['e', 'content-encoding'], ['o', 'event'], ['r', 'refer-to'], ['u', 'allow-events'], ['x', 'session-expires'], ['y', 'identity'], ['b', 'referred-by'], ['a', 'accept-contact'], ['CALL-ID', 'call-id']]
    for (const [name, key] of pairs) assert.equal(headerKey(name), key, name)
    assert.equal(headerKey('X-Custom'), 'x-custom')
  })

  it('gives canonical spellings', () => {
    assert.equal(canonicalHeaderName('i'), 'Call-ID')
    assert.equal(canonicalHeaderName('cseq'), 'CSeq')
    assert.equal(canonicalHeaderName('www-authenticate'), 'WWW-Authenticate')
    assert.equal(canonicalHeaderName('X-Odd'), 'X-Odd')
  })

  it('knows which headers are comma lists', () => {
    assert.equal(isListHeader('v'), true)
    assert.equal(isListHeader('Route'), true)
    assert.equal(isListHeader('WWW-Authenticate'), false)
    assert.equal(isListHeader('To'), false)
  })
})

describe('splitHeaderList', () => {
  it('splits on commas outside quotes and angle brackets', () => {
    assert.deepEqual(splitHeaderList('"a, b" <sip:x@y;p=1,2>, <sip:z> ,,  INVITE'), ['"a, b" <sip:x@y;p=1,2>', '<sip:z>', 'INVITE'])
    assert.deepEqual(splitHeaderList('"esc \\" , still" <sip:a>, b'), ['"esc \\" , still" <sip:a>', 'b'])
  })
})

describe('SipHeaders', () => {
  const sample = (): SipHeaders => new SipHeaders([['Via', 'SIP/2.0/UDP a;branch=z9hG4bK1'], ['v', 'SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c'], ['i', 'abc'], ['Supported', 'timer'], ['k', '100rel, path']])

  it('looks up case-insensitively through compact forms, in order', () => {
    const headers = sample()
    assert.equal(headers.get('CALL-ID'), 'abc')
    assert.equal(headers.get('via'), 'SIP/2.0/UDP a;branch=z9hG4bK1')
    assert.deepEqual(headers.getAll('Via'), ['SIP/2.0/UDP a;branch=z9hG4bK1', 'SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c'])
    assert.deepEqual(headers.values('supported'), ['timer', '100rel', 'path'])
    assert.equal(headers.count('v'), 2)
    assert.equal(headers.has('To'), false)
    assert.equal(headers.get('To'), undefined)
  })

  it('prepends, sets in place and deletes every line of a header', () => {
    const headers = sample()
    headers.prepend('Via', 'SIP/2.0/TCP top;branch=z9hG4bK0')
    assert.equal(headers.get('v'), 'SIP/2.0/TCP top;branch=z9hG4bK0')
    headers.set('Supported', 'replaces')
    assert.deepEqual(headers.getAll('supported'), ['replaces'])
    assert.deepEqual([...headers].map((header) => header.name), ['Via', 'Via', 'v', 'i', 'Supported'])
    headers.delete('VIA')
    assert.deepEqual([...headers].map((header) => header.name), ['i', 'Supported'])
    headers.set('Max-Forwards', '70')
    assert.equal(headers.get('max-forwards'), '70')
    assert.equal(headers.size, 3)
  })

  it('clones independently', () => {
    const headers = sample()
    const copy = headers.clone()
    copy.delete('i')
    assert.equal(headers.get('call-id'), 'abc')
    assert.equal(copy.get('call-id'), undefined)
  })
})
