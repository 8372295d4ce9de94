import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {Cursor, isToken, isValidHost, parseBoundedInteger, quote} from '../../../../src/sip/grammar.js'
import {SipParseError} from '../../../../src/sip/errors.js'

describe('grammar helpers', () => {
  it('recognizes tokens', () => {
    assert.equal(isToken("!interesting-Method0123456789_*+`.%indeed'~"), true)
    assert.equal(isToken('has space'), false)
    assert.equal(isToken('a,b'), false)
    assert.equal(isToken(''), false)
  })

  it('validates hosts', () => {
    for (const good of ['example.com', 'example.com.', 'a-b.c_d.example', '192.0.2.1', '2001:db8::1', 'localhost']) assert.equal(isValidHost(good), true, good)
    for (const bad of ['', '-a.com', 'a-.com', 'a..b', '1.2.3.999', '123', 'exa mple.com', '[::1]', 'a'.repeat(256)]) assert.equal(isValidHost(bad), false, bad)
  })

  it('bounds integers without losing precision', () => {
    assert.equal(parseBoundedInteger('255', 255), 255)
    assert.equal(parseBoundedInteger('256', 255), undefined)
    assert.equal(parseBoundedInteger('99999999999999999999999', Number.MAX_SAFE_INTEGER), undefined)
    assert.equal(parseBoundedInteger('+1', 10), undefined)
  })

  it('quotes with quoted-pairs and refuses line breaks', () => {
    assert.equal(quote('a "b" \\ c\x00'), '"a \\"b\\" \\\\ c\\\x00"')
    assert.throws(() => quote('a\r\nb'), TypeError)
    const cursor = new Cursor(quote('round "trip" \\ \x07'))
    assert.equal(cursor.readQuotedString('test'), 'round "trip" \\ \x07')
  })

  it('rejects raw control characters and unterminated quoted strings', () => {
    assert.throws(() => new Cursor('"a\x07b"').readQuotedString('test'), SipParseError)
    assert.throws(() => new Cursor('"abc').readQuotedString('test'), SipParseError)
    assert.throws(() => new Cursor('"abc\\').readQuotedString('test'), SipParseError)
    assert.equal(new Cursor('"tab\there"').readQuotedString('test'), 'tab\there')
  })
})
