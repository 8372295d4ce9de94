// Sample SIP messages shared by the parser, serializer, framer and fuzz tests.
// Several are reproductions of RFC 4475 torture tests.

/** Joins header lines with CRLF, adds the blank line and the body. `{length}` in a line becomes the body's byte length. */
export const sip = (lines: readonly string[], body = ''): Buffer =>
  Buffer.from(`${lines.map((line) => line.replace('{length}', String(Buffer.byteLength(body)))).join('\r\n')}\r\n\r\n${body}`)

export const SDP_BODY = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.10',
  's=-',
  'c=IN IP4 192.0.2.10',
  't=0 0',
  'm=audio 49170 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=sendrecv',
  '',
].join('\r\n')

export const INVITE_LINES = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Content-Type: application/sdp',
  'Content-Length: {length}',
]

export const INVITE = sip(INVITE_LINES, SDP_BODY)

export const BYE = sip([
  'BYE sip:alice@pc33.atlanta.example.com SIP/2.0',
  'Via: SIP/2.0/TCP 192.0.2.4;branch=z9hG4bKnashds10',
  'Via: SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKfirst;received=2001:db8::9:255;rport=5070',
  'Max-Forwards: 69',
  'From: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
  'To: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 231 BYE',
  'Content-Length: 0',
])

export const OK_RESPONSE = sip([
  'SIP/2.0 200 OK',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1;rport=5060',
  'To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf',
  'From: "Alice A." <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:bob@192.0.2.4>',
  'Content-Type: application/sdp',
  'Content-Length: {length}',
], SDP_BODY)

export const COMPACT_INVITE = sip([
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'v: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bKcompact',
  't: <sip:bob@biloxi.example.com>',
  'f: <sip:alice@atlanta.example.com>;tag=88',
  'i: compact-1@atlanta.example.com',
  'CSeq: 1 INVITE',
  'm: <sip:alice@pc33.atlanta.example.com>',
  'c: application/sdp',
  'k: timer, 100rel',
  'l: {length}',
], SDP_BODY)

/** RFC 4475 §3.1.1.1 "wsinv": a short tortuous INVITE. */
export const WSINV_BODY = 'v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n'
export const WSINV = sip([
  'INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0',
  'TO :',
  ' sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n',
  'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>',
  '  ;',
  '  tag = 98asjd8',
  'MaX-fOrWaRdS: 0068',
  'Call-ID: wsinv.ndaksdj@192.0.2.1',
  'Content-Length   : {length}',
  'cseq: 0009',
  '  INVITE',
  'Via  : SIP  /   2.0',
  ' /UDP',
  '    192.0.2.2;branch=390skdjuw',
  's :',
  'NewFangledHeader:   newfangled value',
  ' continued newfangled value',
  'UnknownHeaderWithUnusualValue: ;;,,;;,;',
  'Content-Type: application/sdp',
  'Route:',
  ' <sip:services.example.com;lr;unknownwith=value;unknown-no-value>',
  'v:  SIP  / 2.0  / TCP     spindle.example.com   ;',
  '  branch  =   z9hG4bK9ikj8  ,',
  ' SIP  /    2.0   / UDP  192.168.255.111   ; branch=',
  ' z9hG4bK30239',
  'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =',
  '      newvalue ;',
  '  secondparam ; q = 0.33',
], WSINV_BODY)

/** RFC 4475 §3.1.1.2 "intmeth": a wide range of valid characters. */
export const INTMETH = sip([
  "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0",
  "Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~",
  'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7F" <sip:1_unusual.URI~(to-be!sure)&isn\'t+it$/crazy?,/;;*@example.com>',
  "From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439\";tag=_token~1'+`*%!-.",
  'Call-ID: intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{',
  "CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~",
  'Max-Forwards: 255',
  "extensionHeader-!.%*+_`'~:\ufeff\u5927\u505c\u96fb",
  'Content-Length: 0',
])

/** RFC 4475 §3.1.1.3 "esc01": valid use of the % escaping mechanism. */
export const ESC01 = sip([
  'INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0',
  'To: sip:%75se%72@example.com',
  'From: <sip:I%20have%20spaces@example.net>;tag=938',
  'Max-Forwards: 87',
  'i: esc01.239409asdfakjkn23onasd0-3234',
  'CSeq: 234234 INVITE',
  'Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw',
  'C: application/sdp',
  'Contact:',
  '  <sip:cal%6Cer@host5.example.net;%6C%72=v%61lue%25%34%31>',
  'l: {length}',
], 'v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0\r\n')

/** RFC 4475 §3.1.1.4 "esc02": % that is not an escape, in a method and header names. */
export const ESC02 = sip([
  'RE%47IST%45R sip:registrar.example.com SIP/2.0',
  'To: "%Z%45" <sip:resource@example.com>',
  'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23',
  'Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf',
  'Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209824',
  'CSeq: 29344 RE%47IST%45R',
  'Max-Forwards: 70',
  'Contact: <sip:alias1@host1.example.com>',
  'C%6Fntact: <sip:alias2@host2.example.com>',
  'Contact: <sip:alias3@host3.example.com>',
  'l: 0',
])

/** RFC 4475 §3.1.1.11-style: unknown URI schemes in header fields are fine. */
export const UNKNOWN_SCHEMES_IN_HEADERS = sip([
  'OPTIONS sip:user@example.com SIP/2.0',
  'To: isbn:2983792873',
  'From: <http://www.example.com>;tag=3234233',
  'Call-ID: unksm2.daksdj@hyphenated-host.example.com',
  'CSeq: 234902 OPTIONS',
  'Max-Forwards: 70',
  'Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw',
  'Contact: <name:John_Smith>',
  'l: 0',
])

/** The valid messages the fuzz and round-trip tests start from. */
export const VALID_MESSAGES: ReadonlyArray<readonly [string, Buffer]> = [
  ['INVITE', INVITE],
  ['BYE', BYE],
  ['200 OK', OK_RESPONSE],
  ['compact INVITE', COMPACT_INVITE],
  ['wsinv', WSINV],
  ['intmeth', INTMETH],
  ['esc01', ESC01],
  ['esc02', ESC02],
  ['unknown schemes', UNKNOWN_SCHEMES_IN_HEADERS],
]
