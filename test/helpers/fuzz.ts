// Bad input for a running gateway: SIP requests broken on purpose (each case
// says what a carrier-grade UAS must answer), seeded random mutations of valid
// requests, and garbage for RTP/RTCP ports. Everything is deterministic for a
// seed, so a failure reproduces. Every SIP message carries its index in the
// Call-ID and in the Via branch (`fz<index>`), so an answer can be matched to
// what was sent even when one of the two was mutated.

/** mulberry32: small, fast and good enough to pick mutations. */
export const prng = (seed: number): (() => number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

export type Random = () => number
const pickOf = (random: Random, n: number): number => Math.floor(random() * n)
const oneOf = <T>(random: Random, items: readonly T[]): T => items[pickOf(random, items.length)] as T
const randomBytes = (random: Random, length: number): Buffer => {
  const bytes = Buffer.allocUnsafe(length)
  for (let index = 0; index < length; index++) bytes[index] = pickOf(random, 256)
  return bytes
}

/** Where the fuzzer sends from and the gateway sends answers to. */
export interface FuzzPeer {
  readonly transport: 'UDP' | 'TCP'
  readonly host: string
  readonly port: number
  /** The gateway's SIP address, for Request-URIs. */
  readonly target: string
}

/**
 * SDP with no codec the gateway takes (G.729 and iLBC only): an INVITE mutant
 * that still parses is refused with 488 instead of becoming an answered call.
 */
export const UNUSABLE_SDP = 'v=0\r\no=fuzz 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 18 97\r\na=rtpmap:18 G729/8000\r\na=rtpmap:97 iLBC/8000\r\n'

export type BaseMethod = 'INVITE' | 'OPTIONS' | 'BYE' | 'CANCEL' | 'ACK' | 'REGISTER' | 'INFO'

export interface RequestParts {
  method: string
  uri: string
  version: string
  /** Header lines in order, as `Name: value`. */
  headers: string[]
  body: string
  /** Content-Length written as is; undefined: the exact body length. Null: no header. */
  contentLength?: string | null
}

export const callIdFor = (index: number): string => `fz-${index}-c0ffee@fuzz.invalid`
export const branchFor = (index: number): string => `z9hG4bKfz${index}x`

/** A valid request of `method`, as parts to break. */
export const baseRequest = (method: BaseMethod, index: number, peer: FuzzPeer): RequestParts => {
  const inDialog = method === 'BYE' || method === 'INFO'
  const headers = [
    `Via: SIP/2.0/${peer.transport} ${peer.host}:${peer.port};branch=${branchFor(index)};rport`,
    'Max-Forwards: 70',
    `From: "Fuzz ${index}" <sip:fuzz@${peer.host}>;tag=f${index}`,
    `To: <sip:echo@${peer.target}>${inDialog ? `;tag=nodialog${index}` : ''}`,
    `Call-ID: ${callIdFor(index)}`,
    `CSeq: ${method === 'ACK' || method === 'CANCEL' ? 1 : 1 + (index % 1000)} ${method}`,
    `Contact: <sip:fuzz@${peer.host}:${peer.port}${peer.transport === 'TCP' ? ';transport=tcp' : ''}>`,
    'User-Agent: clutchcall-fuzz',
  ]
  const withSdp = method === 'INVITE'
  if (withSdp) headers.push('Content-Type: application/sdp')
  if (method === 'REGISTER') headers.push('Expires: 60')
  return {method, uri: `sip:echo@${peer.target}`, version: 'SIP/2.0', headers, body: withSdp ? UNUSABLE_SDP : ''}
}

export const serializeParts = (parts: RequestParts): Buffer => {
  const body = Buffer.from(parts.body, 'latin1')
  const length = parts.contentLength === undefined ? [`Content-Length: ${body.length}`] : parts.contentLength === null ? [] : [`Content-Length: ${parts.contentLength}`]
  const head = [`${parts.method} ${parts.uri} ${parts.version}`, ...parts.headers, ...length].join('\r\n')
  return Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), body])
}

/** A broken request and what the gateway must do with it. */
export interface StructuredCase {
  readonly name: string
  readonly bytes: Buffer
  /**
   * Final statuses acceptable as the answer. Empty: the request is not
   * answerable (no usable Via/From/To/Call-ID/CSeq) and must be dropped.
   */
  readonly expect: readonly number[]
  /** The bytes keep exact stream framing (true Content-Length): also usable pipelined on TCP. */
  readonly framed: boolean
}

const replaceHeader = (parts: RequestParts, name: string, value: string | null): RequestParts => {
  const lower = `${name.toLowerCase()}:`
  const headers = parts.headers.flatMap((line) => (line.toLowerCase().startsWith(lower) ? (value === null ? [] : [`${name}: ${value}`]) : [line]))
  return {...parts, headers}
}
const addHeaders = (parts: RequestParts, ...lines: string[]): RequestParts => ({...parts, headers: [...parts.headers, ...lines]})

/**
 * Requests that keep a routable Via (so a response can go back) but are wrong
 * in one definite way, with the status RFC 3261 / RFC 4475 ask for; then
 * requests that cannot be answered at all.
 */
export const structuredCases = (index: number, peer: FuzzPeer): StructuredCase[] => {
  const options = (): RequestParts => baseRequest('OPTIONS', index, peer)
  const invite = (): RequestParts => baseRequest('INVITE', index, peer)
  const framed = (name: string, parts: RequestParts, expect: readonly number[]): StructuredCase => ({name, bytes: serializeParts(parts), expect, framed: true})
  const unframed = (name: string, bytes: Buffer, expect: readonly number[]): StructuredCase => ({name, bytes, expect, framed: false})
  const bodyLength = Buffer.byteLength(UNUSABLE_SDP)
  const padding = (bytes: number) => 'x'.repeat(bytes)
  return [
    // Answerable: a 4xx/5xx naming the fault, never a 2xx.
    unframed('Content-Length larger than the body', serializeParts({...invite(), contentLength: String(bodyLength + 40)}), [400]),
    unframed('Content-Length not a number', serializeParts({...invite(), contentLength: 'eleventy'}), [400]),
    unframed('Content-Length negative', serializeParts({...options(), contentLength: '-5'}), [400]),
    unframed('two contradicting Content-Length', serializeParts(addHeaders({...options(), contentLength: '0'}, 'Content-Length: 12')), [400]),
    framed('SIP version 3.0', {...options(), version: 'SIP/3.0'}, [505]),
    framed('SIP version 1.0 on an INVITE', {...invite(), version: 'SIP/1.0'}, [505]),
    framed('Max-Forwards not a number', replaceHeader(options(), 'Max-Forwards', 'lots'), [400, 483]),
    framed('two contradicting Max-Forwards', addHeaders(options(), 'Max-Forwards: 3'), [400]),
    framed('CSeq method differs from the request method', replaceHeader(options(), 'CSeq', '7 REGISTER'), [400]),
    framed('CSeq number not a number', replaceHeader(invite(), 'CSeq', 'one INVITE'), [400]),
    framed('one header line of 9 000 bytes', addHeaders(options(), `Subject: ${padding(9_000)}`), [513, 400]),
    framed('200 header lines', addHeaders(options(), ...Array.from({length: 200}, (_, n) => `X-Fuzz-${n}: ${n}`)), [513, 400]),
    // Over the limit the stream framer itself enforces: on TCP it cannot be skipped, so not pipelined.
    unframed('header section over 16 KiB', serializeParts(addHeaders(invite(), ...Array.from({length: 12}, (_, n) => `X-Pad-${n}: ${padding(1_500)}`))), [513, 400]),
    framed('http: Request-URI', {...options(), uri: 'http://fuzz.invalid/'}, [416]),
    framed('Request-URI without a host', {...invite(), uri: 'sip:@'}, [400, 416]),
    framed('From without its closing >', replaceHeader(options(), 'From', `<sip:fuzz@${peer.host};tag=f${index}`), [400]),
    framed('malformed Contact on an INVITE', replaceHeader(invite(), 'Contact', '<sip:fuzz@@@;;>'), [400]),
    framed('second Via unparsable', {...options(), headers: [options().headers[0] as string, 'Via: SIP/2.0/UDP', ...options().headers.slice(1)]}, [400]),
    framed('Call-ID with a space', replaceHeader(options(), 'Call-ID', `fz-${index}-c0ffee broken@fuzz.invalid`), [400]),
    framed('header line without a colon', addHeaders(options(), 'This line is not a header'), [400]),
    framed('To tag without a value', replaceHeader(options(), 'To', `<sip:echo@${peer.target}>;tag`), [400]),
    framed('unknown method', {...replaceHeader(options(), 'CSeq', '1 FROBNICATE'), method: 'FROBNICATE'}, [501, 405]),
    framed('REGISTER to a gateway that is no registrar', baseRequest('REGISTER', index, peer), [405, 501, 403, 404]),
    framed('Require of an unknown extension', addHeaders(options(), 'Require: fuzz-extension'), [420]),
    framed('BYE for a dialog that does not exist', baseRequest('BYE', index, peer), [481]),
    framed('INFO for a dialog that does not exist', baseRequest('INFO', index, peer), [481]),
    framed('CANCEL for an INVITE that does not exist', baseRequest('CANCEL', index, peer), [481]),
    framed('INVITE with a text/plain body', replaceHeader(invite(), 'Content-Type', 'text/plain'), [415]),
    framed('INVITE without an offer', {...replaceHeader(invite(), 'Content-Type', null), body: ''}, [488, 400, 415]),
    // An offer is answered once a media stream is open, so in a flood of INVITEs these can also meet 503 (no RTP port left).
    framed('INVITE offering no codec the gateway has', invite(), [488, 503]),
    framed('INVITE whose SDP is garbage', {...invite(), body: 'hello, this is not SDP\r\n'}, [400, 488, 503]),
    framed('INVITE whose SDP is binary', {...invite(), body: randomBytes(prng(index), 300).toString('latin1')}, [400, 488, 503]),
    // Not answerable: nothing can carry a response back, the request is dropped.
    // Missing or repeated headers a response copies: answered 400 all the same, as RFC 4475 asks (insuf §3.3.1, multi01 §3.3.8).
    framed('no Call-ID', replaceHeader(options(), 'Call-ID', null), [400]),
    framed('two contradicting Call-IDs', addHeaders(options(), `Call-ID: other-${index}@fuzz.invalid`), [400]),
    framed('two contradicting CSeq', addHeaders(options(), 'CSeq: 99 OPTIONS'), [400]),
    framed('no From', replaceHeader(options(), 'From', null), [400]),
    framed('two To', addHeaders(options(), `To: <sip:other@${peer.target}>`), [400]),
    framed('INVITE that accepts no SDP', addHeaders(invite(), 'Accept: text/nobodyKnowsThis'), [406]),
    framed('no Via', replaceHeader(options(), 'Via', null), []),
    framed('ACK that matches nothing', baseRequest('ACK', index, peer), []),
    // Not UTF-8 (a Latin-1 display name, as old PBXs send): malformed, but every header a response needs is intact.
    unframed('Latin-1 byte in the From display name', Buffer.from(serializeParts(replaceHeader(options(), 'From', `"Jos\xe9 ${index}" <sip:fuzz@${peer.host}>;tag=f${index}`)).toString('latin1'), 'latin1'), [400]),
    unframed('HTTP request', Buffer.from(`GET / HTTP/1.1\r\nHost: ${peer.target}\r\nX-Index: fz${index}\r\n\r\n`), []),
    unframed('binary junk', randomBytes(prng(index * 7 + 1), 64 + (index % 900)), []),
    unframed('stray 200 OK answering nothing', Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/${peer.transport} ${peer.target};branch=${branchFor(index)}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: ${callIdFor(index)}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`), []),
  ]
}

const INTERESTING = ['', ' ', '\t', ':', ';', ',', '"', '<', '>', '\\', '%', '\r', '\n', '\r\n', '\r\n ', '\0', '@', '=', '/', '\xff', '999999999999999999999', '-1', 'SIP/2.0', '\r\n\r\n', '%00', '\x1b[2J']
const BAD_VERSIONS = ['SIP/2.1', 'SIP/1.0', 'HTTP/1.1', 'sip/2.0', 'SIP/2.0x', 'SIP/', 'SIP/99999999999.0', '']
const BAD_LENGTHS = ['-1', '99999', 'abc', '', '1e3', '0x10', '4294967296', ' 5 5', '+3']

/** One random mutation operator applied to a serialized request. */
const mutateOnce = (input: Buffer, random: Random): {bytes: Buffer; op: string} => {
  const text = input.toString('latin1')
  const lines = (): string[] => text.split('\r\n')
  const join = (list: string[]): Buffer => Buffer.from(list.join('\r\n'), 'latin1')
  const at = pickOf(random, input.length + 1)
  switch (pickOf(random, 14)) {
    case 0: {
      const bytes = Buffer.from(input)
      const flips = 1 + pickOf(random, 8)
      for (let n = 0; n < flips && bytes.length > 0; n++) bytes[pickOf(random, bytes.length)] = pickOf(random, 256)
      return {bytes, op: 'byte-flip'}
    }
    case 1: {
      const bytes = Buffer.from(input)
      if (bytes.length > 0) bytes[Math.min(at, bytes.length - 1)]! ^= 1 << pickOf(random, 8)
      return {bytes, op: 'bit-flip'}
    }
    case 2:
      return {bytes: input.subarray(0, at), op: 'truncate'}
    case 3:
      return {bytes: Buffer.concat([input.subarray(0, at), randomBytes(random, 1 + pickOf(random, 64)), input.subarray(at)]), op: 'insert-junk'}
    case 4: {
      const list = lines()
      const line = list[1 + pickOf(random, Math.max(1, list.length - 3))] ?? ''
      const colon = line.indexOf(':')
      // The same header again, with a value that contradicts the first.
      const contradiction = colon > 0 ? `${line.slice(0, colon)}: ${oneOf(random, ['0', 'x', '<sip:other@fuzz.invalid>', '2 OPTIONS', 'SIP/2.0/UDP 10.0.0.1:1;branch=z9hG4bKother', ''])}` : line
      list.splice(1 + pickOf(random, Math.max(1, list.length - 3)), 0, contradiction)
      return {bytes: join(list), op: 'duplicate-header'}
    }
    case 5: {
      const list = lines()
      list.splice(1 + pickOf(random, Math.max(1, list.length - 3)), 1)
      return {bytes: join(list), op: 'drop-header'}
    }
    case 6: {
      const list = lines()
      list.splice(1 + pickOf(random, Math.max(1, list.length - 3)), 0, `${oneOf(random, ['Subject', 'X-Huge', 'Via', 'Contact', 'Route'])}: ${'A'.repeat(1 + pickOf(random, 20_000))}`)
      return {bytes: join(list), op: 'huge-header'}
    }
    case 7: {
      const replaced = text.replace(/Content-Length: *[^\r\n]*/i, `Content-Length: ${oneOf(random, BAD_LENGTHS)}`)
      return {bytes: Buffer.from(replaced === text ? text.replace('\r\n', `\r\nContent-Length: ${oneOf(random, BAD_LENGTHS)}\r\n`) : replaced, 'latin1'), op: 'bad-content-length'}
    }
    case 8:
      return {bytes: Buffer.from(text.replace(/SIP\/2\.0(?=\r\n)/, oneOf(random, BAD_VERSIONS)), 'latin1'), op: 'bad-version'}
    case 9:
      return {bytes: Buffer.from(text.replace(/\r\n/g, () => (random() < 0.3 ? oneOf(random, ['\n', '\r', '\r\r\n', '\n\r']) : '\r\n')), 'latin1'), op: 'line-endings'}
    case 10:
      return {bytes: Buffer.concat([input.subarray(0, at), Buffer.from(oneOf(random, INTERESTING), 'latin1'), input.subarray(at)]), op: 'insert-token'}
    case 11: {
      const list = lines()
      const a = 1 + pickOf(random, Math.max(1, list.length - 3))
      const b = pickOf(random, list.length)
      ;[list[a], list[b]] = [list[b] ?? '', list[a] ?? '']
      return {bytes: join(list), op: 'swap-lines'}
    }
    case 12: {
      const digits = [...text.matchAll(/\d+/g)]
      const match = digits[pickOf(random, digits.length)]
      if (match?.index === undefined) return {bytes: input, op: 'number'}
      return {bytes: Buffer.from(text.slice(0, match.index) + oneOf(random, ['0', '4294967296', '18446744073709551616', '65536', '-1', '00000000000000000000001']) + text.slice(match.index + match[0].length), 'latin1'), op: 'number'}
    }
    default:
      return {bytes: Buffer.from(text.replace(/^[A-Z]+/, oneOf(random, ['invite', 'INV ITE', '', 'INVITEINVITEINVITE', 'BYE', 'ACK', 'PRACK', 'SUBSCRIBE', '\x00'])), 'latin1'), op: 'method'}
  }
}

export interface Mutant {
  readonly index: number
  readonly base: BaseMethod | 'junk'
  readonly ops: readonly string[]
  readonly bytes: Buffer
}

const BASES: readonly BaseMethod[] = ['INVITE', 'INVITE', 'OPTIONS', 'OPTIONS', 'BYE', 'CANCEL', 'ACK', 'REGISTER', 'INFO']

/** A valid request broken by 1–3 random operators, or (1 in 12) pure junk. */
export const randomMutant = (index: number, peer: FuzzPeer, random: Random, maxBytes = 60_000): Mutant => {
  if (random() < 1 / 12) {
    const junk = random() < 0.5 ? randomBytes(random, 1 + pickOf(random, 1400)) : Buffer.from(Array.from({length: 1 + pickOf(random, 600)}, () => String.fromCharCode(32 + pickOf(random, 95))).join(''))
    return {index, base: 'junk', ops: ['junk'], bytes: junk}
  }
  const base = oneOf(random, BASES)
  let bytes = serializeParts(baseRequest(base, index, peer))
  const ops: string[] = []
  const rounds = 1 + pickOf(random, 3)
  for (let round = 0; round < rounds; round++) {
    const step = mutateOnce(bytes, random)
    bytes = step.bytes
    ops.push(step.op)
  }
  return {index, base, ops, bytes: bytes.length > maxBytes ? bytes.subarray(0, maxBytes) : bytes}
}

/**
 * The index a response answers, by majority of every place the request
 * carried it (Call-ID, Via branch, From tag and display name), so that one
 * mutated digit cannot pin one request's answer on another; a tie is no answer.
 */
export const indexOfAnswer = (text: string): number | undefined => {
  const votes = new Map<string, number>()
  for (const pattern of [/fz-(\d+)-c0ffee/, /bKfz(\d+)x/, /;tag=f(\d+)\b/, /"Fuzz (\d+)"/]) {
    const match = pattern.exec(text)?.[1]
    if (match !== undefined) votes.set(match, (votes.get(match) ?? 0) + 1)
  }
  const ranked = [...votes].sort((a, b) => b[1] - a[1])
  if (ranked.length === 0 || (ranked.length > 1 && ranked[0]![1] === ranked[1]![1])) return undefined
  return Number(ranked[0]![0])
}

export interface SipAnswer {
  readonly status: number
  readonly method: string
  readonly text: string
}

/** The status line and CSeq method of a response; undefined for anything else. */
export const parseAnswer = (bytes: Buffer): SipAnswer | undefined => {
  const text = bytes.toString('latin1')
  const status = /^SIP\/2\.0 (\d{3}) /.exec(text)
  if (!status) return undefined
  const method = /\r\nCSeq:\s*\d+\s+(\S+)/i.exec(text)?.[1] ?? ''
  return {status: Number(status[1]), method: method.toUpperCase(), text}
}

/** Header lines of a response, by lower-case name, for building an ACK. */
const headerLines = (text: string, name: string): string[] => {
  const head = text.split('\r\n\r\n')[0] ?? ''
  return head.split('\r\n').filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
}

/**
 * The ACK for a non-2xx final response to an INVITE (RFC 3261 §17.1.1.3):
 * same Via branch, From, To with its tag, Call-ID and CSeq number; it stops
 * the gateway's retransmissions of that response.
 */
export const ackForFailure = (response: SipAnswer, uri: string): Buffer | undefined => {
  const via = headerLines(response.text, 'via')[0]
  const from = headerLines(response.text, 'from')[0]
  const to = headerLines(response.text, 'to')[0]
  const callId = headerLines(response.text, 'call-id')[0]
  const cseq = /^CSeq:\s*(\d+)/i.exec(headerLines(response.text, 'cseq')[0] ?? '')?.[1]
  if (!via || !from || !to || !callId || !cseq) return undefined
  return Buffer.from([`ACK ${uri} SIP/2.0`, via, 'Max-Forwards: 70', from, to, callId, `CSeq: ${cseq} ACK`, 'Content-Length: 0', '', ''].join('\r\n'), 'latin1')
}

/** ACK and BYE for a 2xx that a mutant INVITE got after all, so no call is left up. */
export const hangUpAnswered = (response: SipAnswer, peer: FuzzPeer, index: number): Buffer[] => {
  const from = headerLines(response.text, 'from')[0]
  const to = headerLines(response.text, 'to')[0]
  const callId = headerLines(response.text, 'call-id')[0]
  const cseq = Number(/^CSeq:\s*(\d+)/i.exec(headerLines(response.text, 'cseq')[0] ?? '')?.[1] ?? 1)
  const contact = /<([^>]+)>/.exec(headerLines(response.text, 'contact')[0] ?? '')?.[1] ?? `sip:${peer.target}`
  if (!from || !to || !callId) return []
  const request = (method: string, number: number, branch: string) =>
    Buffer.from([`${method} ${contact} SIP/2.0`, `Via: SIP/2.0/${peer.transport} ${peer.host}:${peer.port};branch=${branch};rport`, 'Max-Forwards: 70', from, to, callId, `CSeq: ${number} ${method}`, 'Content-Length: 0', '', ''].join('\r\n'), 'latin1')
  return [request('ACK', cseq, `z9hG4bKfzack${index}`), request('BYE', cseq + 1, `z9hG4bKfzbye${index}`)]
}

// ---- RTP / RTCP garbage ----

const rtpHeader = (random: Random, options: {version?: number; payloadType?: number; csrcCount?: number; extension?: boolean; padding?: boolean} = {}): Buffer => {
  const header = Buffer.alloc(12)
  header[0] = ((options.version ?? 2) << 6) | ((options.padding ? 1 : 0) << 5) | ((options.extension ? 1 : 0) << 4) | ((options.csrcCount ?? 0) & 0x0f)
  header[1] = (options.payloadType ?? 8) & 0x7f
  header.writeUInt16BE(pickOf(random, 0x10000), 2)
  header.writeUInt32BE(pickOf(random, 0x1_0000_0000), 4)
  header.writeUInt32BE(pickOf(random, 0x1_0000_0000), 8)
  return header
}

export interface MediaGarbage {
  readonly kind: string
  readonly bytes: Buffer
}

/** One datagram of media garbage: random bytes, broken RTP, RTP that is valid but not ours, broken RTCP. */
export const mediaGarbage = (random: Random): MediaGarbage => {
  const payload = (length: number) => randomBytes(random, length)
  switch (pickOf(random, 12)) {
    case 11: {
      // A well-formed receiver report (RFC 3550 §6.4.2) about a source that is not the gateway, from a port that is not the caller's.
      const report = Buffer.alloc(32)
      report[0] = 0x81
      report[1] = 201
      report.writeUInt16BE(7, 2)
      report.writeUInt32BE(pickOf(random, 0x1_0000_0000), 4)
      report.writeUInt32BE(pickOf(random, 0x1_0000_0000), 8)
      return {kind: 'valid RTCP receiver report from a foreign port', bytes: report}
    }
    case 0:
      return {kind: 'random bytes', bytes: payload(1 + pickOf(random, 1500))}
    case 1:
      return {kind: 'truncated RTP header', bytes: rtpHeader(random).subarray(0, pickOf(random, 12))}
    case 2:
      return {kind: 'wrong RTP version', bytes: Buffer.concat([rtpHeader(random, {version: oneOf(random, [0, 1, 3])}), payload(160)])}
    case 3:
      return {kind: 'valid-looking PCMA RTP from a foreign port', bytes: Buffer.concat([rtpHeader(random, {payloadType: 8}), payload(160)])}
    case 4:
      return {kind: 'RTP with a payload type never negotiated', bytes: Buffer.concat([rtpHeader(random, {payloadType: oneOf(random, [0, 3, 18, 34, 96, 127])}), payload(160)])}
    case 5:
      return {kind: 'RTP claiming 15 CSRCs it lacks', bytes: Buffer.concat([rtpHeader(random, {csrcCount: 15}), payload(pickOf(random, 40))])}
    case 6: {
      const extension = Buffer.alloc(4)
      extension.writeUInt16BE(0xbede, 0)
      extension.writeUInt16BE(0xffff, 2)
      return {kind: 'RTP header extension longer than the packet', bytes: Buffer.concat([rtpHeader(random, {extension: true}), extension, payload(8)])}
    }
    case 7: {
      const bytes = Buffer.concat([rtpHeader(random, {padding: true}), payload(20)])
      bytes[bytes.length - 1] = 200
      return {kind: 'RTP padding longer than the packet', bytes}
    }
    case 8: {
      // RTCP-looking: version 2, packet type 200..204, a length word that lies.
      const bytes = Buffer.concat([Buffer.from([0x80 | pickOf(random, 32), 200 + pickOf(random, 5)]), Buffer.from([pickOf(random, 256), pickOf(random, 256)]), payload(pickOf(random, 60))])
      return {kind: 'RTCP with a lying length', bytes}
    }
    case 9:
      return {kind: 'empty datagram', bytes: Buffer.alloc(0)}
    default:
      return {kind: 'SIP at a media port', bytes: Buffer.from('OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9\r\n\r\n')}
  }
}
