import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {SipParseError} from '../../../../src/sip/errors.js'
import {parseSipMessage, answerableRequest, isSipKeepAlive, DEFAULT_SIP_LIMITS, type SipParseOptions} from '../../../../src/sip/parser.js'
import {serializeSipMessage} from '../../../../src/sip/serializer.js'
import {contactOf, cseqOf, fromOf, maxForwardsOf, toOf, viasOf, createResponseTo, type SipMessage, type SipRequest, type SipResponse} from '../../../../src/sip/message.js'
import {parseUri, type SipUri} from '../../../../src/sip/uri.js'
import {viaBranch, viaReceived, viaRport} from '../../../../src/sip/via.js'
import {BYE, COMPACT_INVITE, ESC01, ESC02, INTMETH, INVITE, INVITE_LINES, OK_RESPONSE, SDP_BODY, sip, UNKNOWN_SCHEMES_IN_HEADERS, VALID_MESSAGES, WSINV, WSINV_BODY} from './fixtures.js'

const request = (data: Buffer, options?: SipParseOptions): SipRequest => {
  const message = parseSipMessage(data, options)
  assert.equal(message.kind, 'request')
  return message as SipRequest
}

const response = (data: Buffer): SipResponse => {
  const message = parseSipMessage(data)
  assert.equal(message.kind, 'response')
  return message as SipResponse
}

const parseError = (data: Buffer, options?: SipParseOptions): SipParseError => {
  try {
    parseSipMessage(data, options)
  } catch (error) {
    assert.ok(error instanceof SipParseError, `expected SipParseError, got ${String(error)}`)
    return error
  }
  assert.fail('the message parsed but should not have')
}

const rejects = (data: Buffer, status: number | undefined, reason?: RegExp): SipParseError => {
  const error = parseError(data)
  assert.equal(error.status, status, `status for "${error.reason}"`)
  if (reason !== undefined) assert.match(error.reason, reason)
  return error
}

/** INVITE_LINES with `name` removed or replaced. */
const inviteWith = (replace: Record<string, string | undefined>, body = SDP_BODY): Buffer => {
  const lines = INVITE_LINES.flatMap((line) => {
    const name = line.slice(0, line.indexOf(':'))
    if (!(name in replace)) return [line]
    const value = replace[name]
    return value === undefined ? [] : [value]
  })
  return sip(lines, body)
}

const sipUriOf = (text: string): SipUri => {
  const uri = parseUri(text)
  assert.equal(uri.kind, 'sip')
  return uri as SipUri
}

describe('parseSipMessage: valid messages', () => {
  it('parses an INVITE with its SDP body', () => {
    const invite = request(INVITE)
    assert.equal(invite.method, 'INVITE')
    assert.equal(invite.uri, 'sip:bob@biloxi.example.com')
    assert.equal(invite.headers.get('call-id'), 'a84b4c76e66710@pc33.atlanta.example.com')
    assert.equal(invite.body.toString(), SDP_BODY)
    assert.deepEqual(cseqOf(invite), {seq: 314159, method: 'INVITE'})
    assert.equal(fromOf(invite).displayName, 'Alice A.')
    assert.equal(fromOf(invite).params.get('tag'), '1928301774')
    assert.equal(toOf(invite).params.has('tag'), false)
    assert.equal(viaRport(viasOf(invite)[0]!), null)
  })

  it('parses a response', () => {
    const ok = response(OK_RESPONSE)
    assert.equal(ok.status, 200)
    assert.equal(ok.reason, 'OK')
    assert.equal(ok.body.toString(), SDP_BODY)
    assert.equal(viaReceived(viasOf(ok)[0]!), '192.0.2.1')
    assert.equal(viaRport(viasOf(ok)[0]!), 5060)
  })

  for (const [name, data] of VALID_MESSAGES) {
    it(`round-trips ${name} through serialize and parse`, () => {
      const first = parseSipMessage(data)
      const wire = serializeSipMessage(first)
      const second = parseSipMessage(wire)
      assert.deepEqual(second, first)
      assert.deepEqual(serializeSipMessage(second), wire)
    })
  }

  it('resolves compact header names', () => {
    const invite = request(COMPACT_INVITE)
    assert.equal(invite.headers.get('Call-ID'), 'compact-1@atlanta.example.com')
    assert.equal(invite.headers.get('content-type'), 'application/sdp')
    assert.deepEqual(invite.headers.values('Supported'), ['timer', '100rel'])
    assert.equal(viaBranch(viasOf(invite)[0]!), 'z9hG4bKcompact')
    assert.equal(Number(invite.headers.get('content-length')), Buffer.byteLength(SDP_BODY))
    assert.equal(maxForwardsOf(invite), 70, 'a missing Max-Forwards counts as 70')
  })

  it('unfolds continuation lines and tolerates whitespace everywhere it is allowed (RFC 4475 wsinv)', () => {
    const invite = request(WSINV)
    assert.equal(invite.headers.get('NewFangledHeader'), 'newfangled value continued newfangled value')
    assert.equal(invite.headers.get('Subject'), '')
    assert.equal(invite.headers.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;')
    assert.deepEqual(cseqOf(invite), {seq: 9, method: 'INVITE'})
    assert.equal(maxForwardsOf(invite), 68)
    assert.equal(toOf(invite).params.get('tag'), '1918181833n')
    assert.equal(fromOf(invite).displayName, 'J Rosenberg \\"')
    assert.equal(fromOf(invite).params.get('tag'), '98asjd8')
    const vias = viasOf(invite)
    assert.deepEqual(vias.map((via) => [via.transport, via.host, viaBranch(via)]), [
      ['UDP', '192.0.2.2', '390skdjuw'],
      ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
      ['UDP', '192.168.255.111', 'z9hG4bK30239'],
    ])
    const contact = contactOf(invite)
    assert.ok(contact !== undefined && !contact.star)
    const [address] = contact.addresses
    assert.equal(address?.displayName, 'Quoted string ""')
    assert.deepEqual([...address!.params].map(({name, value}) => [name, value]), [['newparam', 'newvalue'], ['secondparam', null], ['q', '0.33']])
    assert.equal(invite.body.toString(), WSINV_BODY)
  })

  it('reads Via values spread over several headers and inside one, with IPv6 hosts', () => {
    const bye = request(BYE)
    const vias = viasOf(bye)
    assert.equal(vias.length, 2)
    assert.equal(vias[1]?.host, '2001:db8::9:1')
    assert.equal(vias[1]?.port, 5070)
    assert.equal(viaReceived(vias[1]!), '2001:db8::9:255')
    const ipv6 = request(sip([
      'OPTIONS sip:[2001:db8::10]:5060;transport=tcp SIP/2.0',
      'Via: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKa, SIP/2.0/UDP [::1];branch=z9hG4bKb',
      'To: <sip:[2001:db8::10]>',
      'From: <sip:alice@[2001:db8::1]:5061>;tag=1',
      'Call-ID: v6@2001:db8::1',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
    ]))
    const uri = sipUriOf(ipv6.uri)
    assert.deepEqual([uri.host, uri.port, uri.params.get('transport')], ['2001:db8::10', 5060, 'tcp'])
    assert.deepEqual(viasOf(ipv6).map((via) => [via.host, via.port]), [['2001:db8::1', 5061], ['::1', undefined]])
    const from = fromOf(ipv6).uri as SipUri
    assert.deepEqual([from.user, from.host, from.port], ['alice', '2001:db8::1', 5061])
  })

  it('accepts the unusual but valid characters of RFC 4475 intmeth', () => {
    const message = request(INTMETH)
    assert.equal(message.method, "!interesting-Method0123456789_*+`.%indeed'~")
    assert.equal(message.headers.get('call-id'), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{')
    const uri = sipUriOf(message.uri)
    assert.equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    assert.equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    assert.equal(toOf(message).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f')
    assert.equal(fromOf(message).displayName, "token1~` token2'+_ token3*%!.-")
    assert.equal(fromOf(message).params.get("fromParam''~+*_!.-%"), 'работающий')
    assert.equal(message.headers.get("extensionHeader-!.%*+_`'~"), '\ufeff大停電')
  })

  it('decodes escaped characters in URIs (RFC 4475 esc01)', () => {
    const message = request(ESC01)
    assert.equal(sipUriOf(message.uri).user, 'sips:user@example.com')
    assert.equal((toOf(message).uri as SipUri).user, 'user')
    assert.equal((fromOf(message).uri as SipUri).user, 'I have spaces')
    const contact = contactOf(message)
    assert.ok(contact !== undefined && !contact.star)
    const contactUri = contact.addresses[0]?.uri as SipUri
    assert.equal(contactUri.user, 'caller')
    assert.equal(contactUri.params.get('lr'), 'value%41')
  })

  it('treats % in methods and header names as ordinary token characters (RFC 4475 esc02)', () => {
    const message = request(ESC02)
    assert.equal(message.method, 'RE%47IST%45R')
    assert.equal(message.headers.getAll('contact').length, 2)
    assert.equal(message.headers.get('C%6Fntact'), '<sip:alias2@host2.example.com>')
    assert.equal(toOf(message).displayName, '%Z%45')
  })

  it('accepts unknown URI schemes outside the Request-URI', () => {
    const message = request(UNKNOWN_SCHEMES_IN_HEADERS)
    assert.deepEqual(toOf(message).uri, {kind: 'absolute', scheme: 'isbn', opaque: '2983792873'})
    assert.equal(fromOf(message).uri.scheme, 'http')
  })

  it('accepts semicolons in the user part, unknown transports and an unusual reason phrase (semiuri, transports, unreason)', () => {
    const options = request(sip([
      'OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0',
      'To: sip:j_user@example.com',
      'From: sip:caller@example.org;tag=33242',
      'Max-Forwards: 3',
      'Call-ID: semiuri.0ha0isndaksdj',
      'CSeq: 8 OPTIONS',
      'Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw, SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf',
      'Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj, SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en',
      'Accept: application/sdp, application/pkcs7-mime, multipart/mixed, multipart/signed, message/sip, message/sipfrag',
      'l: 0',
    ]))
    assert.equal(sipUriOf(options.uri).user, 'user;par=u@example.net')
    assert.deepEqual(viasOf(options).map((via) => via.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN'])
    assert.equal(options.headers.values('accept').length, 6)
    const reason = '= 2**3 * 5**2 но сто девяносто девять - простое'
    const ok = response(sip([`SIP/2.0 200 ${reason}`, 'Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923', 'Call-ID: unreason.1234ksdfak3j2erwedfsASdf', 'CSeq: 35 INVITE',
      'From: sip:user@example.com;tag=11141343', 'To: sip:user@example.edu;tag=2229', 'Content-Length: 0']))
    assert.equal(ok.reason, reason)
  })

  it('truncates a datagram body longer than Content-Length (RFC 3261 §18.3, RFC 4475 dblreq)', () => {
    const extra = Buffer.concat([BYE, Buffer.from('REGISTER sip:example.com SIP/2.0\r\n\r\n')])
    const bye = request(extra)
    assert.equal(bye.body.length, 0)
  })

  it('takes the rest of a datagram as the body when Content-Length is absent', () => {
    const invite = request(inviteWith({'Content-Length': undefined}))
    assert.equal(invite.body.toString(), SDP_BODY)
  })

  it('accepts a lower-case version, an empty reason phrase and a missing one', () => {
    assert.equal(request(sip(['OPTIONS sip:a@example.com sip/2.0', 'Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'To: <sip:a@example.com>', 'From: <sip:b@example.com>;tag=1', 'Call-ID: x', 'CSeq: 1 OPTIONS'])).method, 'OPTIONS')
    const lines = ['Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'To: <sip:a@example.com>', 'From: <sip:b@example.com>;tag=1', 'Call-ID: x', 'CSeq: 1 INVITE', 'Content-Length: 0']
    assert.equal(response(sip(['SIP/2.0 100 ', ...lines])).reason, '')
    assert.equal(response(sip(['SIP/2.0 180', ...lines])).reason, '')
    assert.equal(response(sip(['SIP/2.0 183 Session Progress – präziser', ...lines])).reason, 'Session Progress – präziser')
  })

  it('reports a CRLF-only datagram as a keep-alive', () => {
    assert.equal(isSipKeepAlive(Buffer.from('\r\n\r\n')), true)
    assert.equal(isSipKeepAlive(Buffer.from('\r\n')), true)
    assert.equal(isSipKeepAlive(Buffer.alloc(0)), false)
    assert.equal(isSipKeepAlive(INVITE), false)
  })
})

describe('parseSipMessage: malformed requests (RFC 4475 §3.1.2 and friends)', () => {
  for (const name of ['To', 'From', 'Call-ID', 'CSeq', 'Via']) {
    it(`answers 400 when ${name} is missing`, () => {
      const error = rejects(inviteWith({[name]: undefined}), 400, new RegExp(`missing ${name}`, 'i'))
      // RFC 4475 §3.3.1 (insuf): answered 400 when the Via can carry it back; without a Via nothing can.
      assert.equal(answerableRequest(error) === undefined, name === 'Via', name === 'Via' ? 'no Via: not answerable' : 'answerable without the header')
    })
  }

  it('answers 400 to a CSeq method that does not match the request (mismatch01/02)', () => {
    const error = rejects(inviteWith({CSeq: 'CSeq: 314159 ACK'}), 400, /CSeq method/)
    assert.ok(answerableRequest(error))
    rejects(sip(['NEWMETHOD sip:user@example.com SIP/2.0', 'To: <sip:j.user@example.com>', 'From: <sip:caller@example.net>;tag=34525', 'Max-Forwards: 6', 'Call-ID: mismatch02.dj0234sxdfl3', 'CSeq: 8 INVITE', 'Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw', 'l: 0']), 400, /CSeq method/)
  })

  it('answers 400 to bad Content-Length values', () => {
    rejects(inviteWith({'Content-Length': 'Content-Length: 9999'}), 400, /larger than the body/)
    rejects(inviteWith({'Content-Length': 'Content-Length: -999'}), 400, /Content-Length/)
    rejects(inviteWith({'Content-Length': 'Content-Length: 12a'}), 400, /Content-Length/)
    rejects(inviteWith({'Content-Length': 'Content-Length: 18446744073709551616123'}), 400, /Content-Length/)
    const twice = sip([...INVITE_LINES, 'l: {length}'], SDP_BODY)
    rejects(twice, 400, /more than one Content-Length/)
  })

  it('answers 505 to an unknown SIP version (badvers)', () => {
    const error = rejects(sip(['OPTIONS sip:t.watson@example.org SIP/7.0', 'Via: SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw', 'Max-Forwards: 70', 'From: A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe', 'To: T. Watson <sip:t.watson@example.org>', 'Call-ID: badvers.31417@c.example.com', 'CSeq: 1 OPTIONS', 'l: 0']), 505)
    // The request is kept so it can be answered 505 (RFC 4475 §3.1.2.17) when its Via allows it.
    assert.equal(error.partial?.kind, 'request')
    assert.equal(error.partial?.kind === 'request' ? error.partial.method : '', 'OPTIONS')
    assert.equal(error.partial?.headers.get('call-id'), 'badvers.31417@c.example.com')
  })

  it('answers 400 to scalar fields that overflow (scalar02)', () => {
    rejects(inviteWith({'Max-Forwards': 'Max-Forwards: 300'}), 400, /Max-Forwards/)
    rejects(inviteWith({'Max-Forwards': 'Max-Forwards: 4294967296'}), 400, /Max-Forwards/)
    rejects(inviteWith({CSeq: 'CSeq: 36893488147419103232 INVITE'}), 400, /CSeq/)
    rejects(inviteWith({CSeq: 'CSeq: 4294967296 INVITE'}), 400, /CSeq/)
    assert.equal(cseqOf(request(inviteWith({CSeq: 'CSeq: 4294967295 INVITE'}))).seq, 4_294_967_295)
  })

  it('answers 400 to malformed CSeq values', () => {
    for (const cseq of ['CSeq: INVITE', 'CSeq: 1', 'CSeq: 1INVITE', 'CSeq: -1 INVITE', 'CSeq: 1 INVITE extra']) rejects(inviteWith({CSeq: cseq}), 400, /CSeq/)
  })

  it('answers 416 to an unknown or atypical Request-URI scheme (unkscm, novelsc)', () => {
    const lines = ['To: <sip:user@example.com>', 'From: <sip:caller@example.net>;tag=3413415', 'Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34', 'CSeq: 3923239 OPTIONS', 'Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw', 'Max-Forwards: 70', 'l: 0']
    rejects(sip(['OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0', ...lines]), 416)
    rejects(sip(['OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0', ...lines]), 416)
    assert.equal(request(sip(['OPTIONS tel:+1-201-555-0123 SIP/2.0', ...lines])).uri, 'tel:+1-201-555-0123')
  })

  it('answers 400 to malformed request lines (ltgtruri, lwsruri, lwsstart, trws, escruri)', () => {
    const lines = INVITE_LINES.slice(1)
    const withStart = (start: string): Buffer => sip([start, ...lines], SDP_BODY)
    rejects(withStart('INVITE <sip:user@example.com> SIP/2.0'), 400)
    rejects(withStart('INVITE sip:user@example.com; lr SIP/2.0'), 400)
    rejects(withStart('INVITE  sip:user@example.com  SIP/2.0'), 400)
    rejects(withStart('INVITE sip:user@example.com SIP/2.0  '), 400)
    rejects(withStart('INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0'), 400, /headers/)
    rejects(withStart('INVITE sip:user@example.com SIP/2.0/UDP'), 400)
  })

  it('answers 400 to malformed addresses (quotbal, badaspec, baddn, regbadct)', () => {
    rejects(inviteWith({To: 'To: "Mr. J. User <sip:j.user@example.com>'}), 400, /unterminated/)
    rejects(inviteWith({From: 'From: "Bell, Alexander" <sip:a.g.bell@ bell-tel.com>;tag=43'}), 400)
    rejects(inviteWith({To: 'To: "Watson, Thomas" < sip:t.watson@example.org >'}), 400)
    rejects(inviteWith({From: 'From: Bell, Alexander <sip:a.g.bell@example.com>;tag=43'}), 400)
    rejects(inviteWith({Contact: 'Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E'}), 400, /<>/)
    rejects(inviteWith({To: 'To: <sip:bob@biloxi.example.com>;tag'}), 400, /tag/)
  })

  it('answers 400 to extraneous separators in Via (badinv01)', () => {
    rejects(inviteWith({Via: 'Via: SIP/2.0/UDP 192.0.2.15;;,;,,'}), 400, /Via/)
    rejects(inviteWith({Via: 'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=a;branch=b'}), 400, /duplicate/)
    rejects(inviteWith({Via: 'Via: SIP/2.0/UDP pc33.atlanta.example.com;received=not-an-ip'}), 400, /received/)
  })

  it('answers 400 to single-valued headers given twice', () => {
    rejects(sip([...INVITE_LINES, 't: <sip:other@example.com>'], SDP_BODY), 400, /more than one To/)
    rejects(sip([...INVITE_LINES, 'Call-ID: second'], SDP_BODY), 400, /more than one Call-ID/)
    rejects(inviteWith({'Call-ID': 'Call-ID: has space'}), 400, /Call-ID/)
  })

  it('answers 400 to broken header syntax', () => {
    rejects(sip([INVITE_LINES[0]!, ' folded-first: x', ...INVITE_LINES.slice(1)], SDP_BODY), 400, /continuation/)
    rejects(sip([...INVITE_LINES, 'NoColonHere'], SDP_BODY), 400, /header line/)
    rejects(sip([...INVITE_LINES, 'Bad Name: x'], SDP_BODY), 400, /header line/)
    rejects(Buffer.from(INVITE.toString().replace('Max-Forwards: 70\r\n', 'Max-Forwards: 70\n')), 400, /bare CR or LF/)
    rejects(Buffer.concat([sip([...INVITE_LINES.slice(0, -1), 'Content-Length: 0', 'Subject: ']).subarray(0, -4), Buffer.from([0xff, 0xfe]), Buffer.from('\r\n\r\n')]), 400, /UTF-8/)
    rejects(Buffer.from(INVITE.toString().replaceAll('\r\n', '\n')), 400, /blank line/)
  })

  it('drops broken responses and non-SIP bytes without a status', () => {
    const lines = ['Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'To: <sip:a@example.com>', 'From: <sip:b@example.com>;tag=1', 'Call-ID: x', 'CSeq: 1 INVITE', 'Content-Length: 0']
    rejects(sip(['SIP/2.0 4294967301 better not break the receiver', ...lines]), undefined)
    rejects(sip(['SIP/2.0 099 Too Small', ...lines]), undefined)
    rejects(sip(['SIP/2.0 200 OK', ...lines.slice(1)]), undefined, /missing Via/)
    rejects(sip(['SIP/2.0 503 Service Unavailable', ...lines.map((line) => (line.startsWith('CSeq') ? 'CSeq: 36893488147419103232 INVITE' : line))]), undefined)
    rejects(Buffer.alloc(0), undefined, /empty/)
    rejects(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]), undefined)
  })
})

describe('parseSipMessage: limits', () => {
  const bigBody = (size: number): string => 'a'.repeat(size)

  it('answers 413 to a message over the size limit, keeping what is needed to answer', () => {
    const data = inviteWith({}, bigBody(2000))
    const error = parseError(data, {maxMessageBytes: 1500})
    assert.equal(error.status, 413)
    const partial = answerableRequest(error)
    assert.ok(partial)
    const reply = createResponseTo(partial, 413)
    assert.equal(reply.headers.get('call-id'), 'a84b4c76e66710@pc33.atlanta.example.com')
    assert.equal(reply.status, 413)
  })

  it('accepts a message of exactly the default 64 KiB and refuses one byte more', () => {
    // With an empty body Content-Length is one digit; a body this size needs five.
    const bodySize = DEFAULT_SIP_LIMITS.maxMessageBytes - inviteWith({}, '').length - 4
    const exact = inviteWith({}, bigBody(bodySize))
    assert.equal(exact.length, DEFAULT_SIP_LIMITS.maxMessageBytes)
    assert.equal(request(exact).body.length, bodySize)
    assert.equal(parseError(inviteWith({}, bigBody(bodySize + 1))).status, 413)
  })

  it('answers 513 to a header section over its limit, with a partial request when the essentials came first', () => {
    const filler = Array.from({length: 60}, (_, index) => `X-Filler-${index}: ${'f'.repeat(300)}`)
    const error = parseError(sip([...INVITE_LINES, ...filler], SDP_BODY))
    assert.equal(error.status, 513)
    assert.match(error.reason, /header section too large/)
    assert.ok(answerableRequest(error))
    const small = parseError(INVITE, {maxHeaderBytes: 200})
    assert.equal(small.status, 513)
  })

  it('allows 128 headers by default and answers 513 to 129', () => {
    const withCount = (count: number): Buffer => sip([...INVITE_LINES, ...Array.from({length: count - INVITE_LINES.length + 1}, (_, index) => `X-H${index}: ${index}`)], SDP_BODY)
    assert.equal(request(withCount(128)).headers.size, 128)
    const error = parseError(withCount(129))
    assert.equal(error.status, 513)
    assert.match(error.reason, /too many headers/)
    assert.equal(parseError(INVITE, {maxHeaderCount: 5}).status, 513)
  })

  it('answers 513 to a header line over its limit, folded or not', () => {
    const long = `X-Long: ${'x'.repeat(DEFAULT_SIP_LIMITS.maxHeaderLineBytes)}`
    const error = parseError(sip([...INVITE_LINES, long], SDP_BODY))
    assert.equal(error.status, 513)
    assert.ok(answerableRequest(error), 'the other headers are still there')
    const folded = ['X-Folded: start', ...Array.from({length: 3}, () => ` ${'y'.repeat(3000)}`)]
    assert.equal(parseError(sip([...INVITE_LINES, ...folded], SDP_BODY)).status, 513)
    assert.equal(request(sip([...INVITE_LINES, `X-Long: ${'x'.repeat(DEFAULT_SIP_LIMITS.maxHeaderLineBytes - 8)}`], SDP_BODY)).headers.get('x-long')?.length, DEFAULT_SIP_LIMITS.maxHeaderLineBytes - 8)
  })

  it('requires an exact Content-Length in stream mode', () => {
    assert.equal(parseError(inviteWith({'Content-Length': undefined}), {stream: true}).status, 400)
    assert.match(parseError(Buffer.concat([INVITE, Buffer.from('x')]), {stream: true}).reason, /after the body/)
    assert.equal(request(INVITE, {stream: true}).body.toString(), SDP_BODY)
  })
})

describe('answerableRequest', () => {
  it('returns the partial request of an answerable failure, which createResponseTo can answer', () => {
    const error = parseError(inviteWith({CSeq: 'CSeq: 99999999999999 INVITE'}))
    const partial = answerableRequest(error)
    assert.ok(partial)
    const reply = createResponseTo(partial, error.status ?? 400, {toTag: 'srv1'})
    assert.equal(reply.status, 400)
    assert.equal(reply.reason, 'Bad Request')
    assert.deepEqual(reply.headers.getAll('via'), ['SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport'])
    assert.equal(reply.headers.get('to'), 'Bob <sip:bob@biloxi.example.com>;tag=srv1')
    assert.equal(reply.headers.get('cseq'), '99999999999999 INVITE')
  })

  it('keeps an answerable request whose start line or header encoding is refused (505, 416, 400)', () => {
    const lines = ['Via: SIP/2.0/UDP c.example.com;branch=z9hG4bKkdjuw', 'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=1', 'To: <sip:b@example.org>', 'Call-ID: x1@c.example.com', 'CSeq: 1 OPTIONS', 'Content-Length: 0']
    const version = parseError(sip(['OPTIONS sip:b@example.org SIP/3.0', ...lines]))
    assert.equal(version.status, 505)
    assert.equal(answerableRequest(version)?.method, 'OPTIONS')
    const scheme = parseError(sip(['OPTIONS mailto:b@example.org SIP/2.0', ...lines]))
    assert.equal(scheme.status, 416)
    assert.ok(answerableRequest(scheme))
    const latin1 = Buffer.from(`${['OPTIONS sip:b@example.org SIP/2.0', ...lines.slice(0, 2), 'Subject: caf\xe9'].join('\r\n')}\r\n${lines.slice(2).join('\r\n')}\r\n\r\n`, 'latin1')
    const encoding = parseError(latin1)
    assert.equal(encoding.status, 400)
    assert.match(encoding.message, /UTF-8/)
    assert.equal(answerableRequest(encoding)?.headers.get('call-id'), 'x1@c.example.com')
  })

  it('answers insuf and multi01 (RFC 4475 §3.3.1, §3.3.8): what is missing is left out, what is repeated is copied once', () => {
    const insuf = parseError(sip(['INVITE sip:user@example.com SIP/2.0', 'CSeq: 193942 INVITE', 'Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf', 'Content-Type: application/sdp', 'l: 0']))
    assert.equal(insuf.status, 400)
    const insufReply = createResponseTo(answerableRequest(insuf) as SipRequest, 400, {toTag: 'srv1'})
    assert.deepEqual(insufReply.headers.getAll('via'), ['SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf'])
    assert.equal(insufReply.headers.get('cseq'), '193942 INVITE')
    assert.equal(insufReply.headers.has('call-id'), false)
    const multi = parseError(
      sip(['INVITE sip:user@company.com SIP/2.0', 'Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw', 'Max-Forwards: 70', 'CSeq: 5 INVITE', 'Call-ID: multi01.98asdh@192.0.2.1', 'CSeq: 59 INVITE', 'Call-ID: multi01.98asdh@192.0.2.2', 'From: sip:caller@example.com;tag=3413415', 'To: sip:user@example.com', 'To: sip:other@example.net', 'From: sip:caller@example.net;tag=2923420123', 'l: 0']),
    )
    assert.equal(multi.status, 400)
    assert.match(multi.message, /more than one/)
    const multiReply = createResponseTo(answerableRequest(multi) as SipRequest, 400, {toTag: 'srv1'})
    assert.deepEqual(multiReply.headers.getAll('call-id'), ['multi01.98asdh@192.0.2.1'])
    assert.deepEqual(multiReply.headers.getAll('cseq'), ['5 INVITE'])
    assert.deepEqual(multiReply.headers.getAll('to'), ['sip:user@example.com;tag=srv1'])
  })

  it('refuses when the top Via is unusable or the failure was a response', () => {
    assert.equal(answerableRequest(parseError(inviteWith({Via: 'Via: garbage'}))), undefined)
    const lines = ['Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'To: <sip:a@example.com>', 'From: <sip:b@example.com>;tag=1', 'Call-ID: x', 'CSeq: 1 INVITE', 'Content-Length: 5']
    const error = parseError(sip(['SIP/2.0 200 OK', ...lines]))
    assert.equal(error.partial?.kind, 'response')
    assert.equal(answerableRequest(error), undefined)
  })
})

describe('parsed messages are self-consistent', () => {
  it('keeps header order and spelling', () => {
    const message: SipMessage = parseSipMessage(WSINV)
    assert.deepEqual([...message.headers].map((header) => header.name).slice(0, 4), ['TO', 'from', 'MaX-fOrWaRdS', 'Call-ID'])
  })
})
