import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {formatUri, parseSipUri, parseUri, sipUri, type SipUri, type TelUri} from '../../../../src/sip/uri.js'
import {SipParseError} from '../../../../src/sip/errors.js'
import {SipParams} from '../../../../src/sip/params.js'

const sipOf = (text: string): SipUri => {
  const uri = parseUri(text)
  assert.equal(uri.kind, 'sip')
  return uri as SipUri
}

const rejectsUri = (text: string, status = 400): void => {
  assert.throws(() => parseUri(text), (error: unknown) => error instanceof SipParseError && error.status === status, text)
}

describe('SIP URIs', () => {
  it('parses every part', () => {
    const uri = sipOf('sips:alice:secret@atlanta.example.com:5061;transport=tcp;lr?subject=project%20x&priority=urgent')
    assert.equal(uri.scheme, 'sips')
    assert.equal(uri.user, 'alice')
    assert.equal(uri.password, 'secret')
    assert.equal(uri.host, 'atlanta.example.com')
    assert.equal(uri.port, 5061)
    assert.equal(uri.params.get('transport'), 'tcp')
    assert.equal(uri.params.get('lr'), null)
    assert.equal(uri.params.get('maddr'), undefined)
    assert.deepEqual(uri.headers, [{name: 'subject', value: 'project x'}, {name: 'priority', value: 'urgent'}])
  })

  it('handles IPv4 and bracketed IPv6 hosts', () => {
    assert.deepEqual([sipOf('sip:192.0.2.4').host, sipOf('sip:192.0.2.4').port], ['192.0.2.4', undefined])
    const v6 = sipOf('sip:bob@[2001:db8::c0a8:101]:5070;maddr=[2001:db8::1]')
    assert.deepEqual([v6.host, v6.port, v6.params.get('maddr')], ['2001:db8::c0a8:101', 5070, '[2001:db8::1]'])
    assert.equal(formatUri(v6), 'sip:bob@[2001:db8::c0a8:101]:5070;maddr=[2001:db8::1]')
  })

  it('lower-cases the scheme and keeps user case', () => {
    const uri = sipOf('SIP:Alice@Example.COM')
    assert.deepEqual([uri.scheme, uri.user, uri.host], ['sip', 'Alice', 'Example.COM'])
  })

  it('decodes escapes in the model and re-escapes when formatting', () => {
    const uri = sipOf('sip:sips%3Auser%40example.com@example.net;%6C%72=v%61lue%25%34%31')
    assert.equal(uri.user, 'sips:user@example.com')
    assert.equal(uri.params.get('lr'), 'value%41')
    assert.equal(formatUri(uri), 'sip:sips%3Auser%40example.com@example.net;lr=value%2541')
    assert.equal(sipOf('sip:null-%00-null@example.com').user, 'null-\0-null')
    assert.equal(sipOf('sip:%C3%A9t%C3%A9@example.com').user, 'été')
    assert.deepEqual(parseUri(formatUri(uri)), uri)
  })

  it('keeps user-unreserved characters, including ; and ?, in the user part', () => {
    const uri = sipOf('sip:+1-212-555-1212;phone-context=example.com?x@gateway.example.com;user=phone')
    assert.equal(uri.user, '+1-212-555-1212;phone-context=example.com?x')
    assert.equal(uri.params.get('user'), 'phone')
    assert.equal(formatUri(uri), 'sip:+1-212-555-1212;phone-context=example.com?x@gateway.example.com;user=phone')
  })

  it('builds and formats a URI from parts', () => {
    const uri = sipUri({user: 'bob smith', host: '2001:db8::1', port: 5060, params: new SipParams({transport: 'udp'})})
    assert.equal(formatUri(uri), 'sip:bob%20smith@[2001:db8::1]:5060;transport=udp')
  })

  it('rejects malformed SIP URIs with 400', () => {
    for (const bad of ['sip:', 'sip:@example.com', 'sip:user@', 'sip:user@example.com:', 'sip:user@example.com:70000', 'sip:user@exa mple.com', 'sip:a@b@c',
      'sip:user@[2001:db8::1', 'sip:user@[not-v6]', 'sip:user@example.com;', 'sip:user@example.com;;lr', 'sip:user@example.com;a=', 'sip:us%4@example.com',
      'sip:user@example.com?x', 'sip:user@-bad-.com', 'sip:user@1.2.3.999', 'sip:%FF@example.com', 'sip:user@example.com;lr;LR', '<sip:user@example.com>', 'sip:usér@example.com']) {
      rejectsUri(bad)
    }
  })

  it('parseSipUri answers 416 for another valid scheme', () => {
    assert.throws(() => parseSipUri('tel:+15551234'), (error: unknown) => error instanceof SipParseError && error.status === 416)
    assert.equal(parseSipUri('sip:a@example.com').user, 'a')
  })
})

describe('tel and other URIs', () => {
  it('parses global and local tel numbers', () => {
    const global = parseUri('tel:+1-201-555-0123;ext=1234') as TelUri
    assert.deepEqual([global.kind, global.number, global.params.get('ext')], ['tel', '+1-201-555-0123', '1234'])
    const local = parseUri('tel:7042;phone-context=example.com') as TelUri
    assert.equal(local.number, '7042')
    assert.equal(formatUri(local), 'tel:7042;phone-context=example.com')
    rejectsUri('tel:7042')
    rejectsUri('tel:+')
    rejectsUri('tel:+1 201')
  })

  it('keeps other schemes verbatim', () => {
    assert.deepEqual(parseUri('urn:service:sos'), {kind: 'absolute', scheme: 'urn', opaque: 'service:sos'})
    assert.equal(formatUri(parseUri('soap.beep://192.0.2.103:3002')), 'soap.beep://192.0.2.103:3002')
    rejectsUri('1abc:foo')
    rejectsUri('nocolon')
    rejectsUri('isbn:has space')
  })
})
