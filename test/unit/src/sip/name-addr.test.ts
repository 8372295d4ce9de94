import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {formatNameAddr, parseNameAddr, parseNameAddrList, tagOf} from '../../../../src/sip/name-addr.js'
import {SipParseError} from '../../../../src/sip/errors.js'
import {sipUri, type SipUri} from '../../../../src/sip/uri.js'
import {SipParams} from '../../../../src/sip/params.js'

describe('name-addr and addr-spec', () => {
  it('separates URI parameters from header parameters', () => {
    const address = parseNameAddr('"Bob B." <sip:bob@biloxi.example.com;transport=tcp>;tag=a6c85cf;expires=60')
    assert.equal(address.displayName, 'Bob B.')
    assert.equal((address.uri as SipUri).params.get('transport'), 'tcp')
    assert.equal(address.params.get('transport'), undefined)
    assert.equal(tagOf(address), 'a6c85cf')
    assert.equal(address.params.get('expires'), '60')
  })

  it('treats parameters after a bare addr-spec as header parameters', () => {
    const address = parseNameAddr('sip:alice@atlanta.example.com;tag=88 ')
    assert.equal(address.displayName, undefined)
    assert.equal((address.uri as SipUri).params.size, 0)
    assert.equal(tagOf(address), '88')
  })

  it('accepts token display names, with or without space before <', () => {
    assert.equal(parseNameAddr('caller<sip:caller@example.com>;tag=323').displayName, 'caller')
    assert.equal(parseNameAddr('Alice   Smith <sip:a@example.com>').displayName, 'Alice Smith')
    assert.equal(parseNameAddr('<sip:a@example.com>').displayName, undefined)
  })

  it('unescapes quoted display names and keeps UTF-8', () => {
    assert.equal(parseNameAddr('"J Rosenberg \\\\\\"" <sip:jdrosen@example.com>').displayName, 'J Rosenberg \\"')
    assert.equal(parseNameAddr('"Zoë" <sip:z@example.com>').displayName, 'Zoë')
  })

  it('parses lists with commas inside quotes and URIs', () => {
    const list = parseNameAddrList('"Doe, John" <sip:j@example.com;a=1>, <sip:proxy.example.com;lr>,sip:x@example.com;q=0.1')
    assert.deepEqual(list.map((address) => address.displayName), ['Doe, John', undefined, undefined])
    assert.equal(list[2]?.params.get('q'), '0.1')
  })

  it('rejects malformed addresses', () => {
    for (const bad of ['', '"unterminated <sip:a@example.com>', 'Bell, Alexander <sip:a@example.com>', '<sip:a@ example.com>', '< sip:a@example.com>',
      '<sip:a@example.com', 'sip:a@example.com?Route=x', '<sip:a@example.com>;tag="open', '<sip:a@example.com>;=x', '<sip:a@example.com> junk', '"x" sip:a@example.com']) {
      assert.throws(() => parseNameAddr(bad), SipParseError, bad)
    }
  })

  it('formats with quotes when needed and round-trips', () => {
    const address = {displayName: 'Doe, "Jr"', uri: sipUri({user: 'j', host: 'example.com'}), params: new SipParams({tag: 'xyz'})}
    const text = formatNameAddr(address)
    assert.equal(text, '"Doe, \\"Jr\\"" <sip:j@example.com>;tag=xyz')
    assert.deepEqual(parseNameAddr(text), address)
    assert.equal(formatNameAddr({displayName: 'Bob', uri: sipUri({host: 'example.com'}), params: new SipParams()}), 'Bob <sip:example.com>')
  })
})
