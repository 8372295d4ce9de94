// A raw SIP peer on a UDP socket of its own: sends exactly the bytes a test
// writes (torture messages the project's UA would never produce) and hands
// back whatever arrives, parsed just enough to check status and headers.
import {createSocket, type Socket} from 'node:dgram'
import {waitFor} from './gateway.js'

export interface ReceivedSip {
  readonly text: string
  /** The status of a response; undefined for a request. */
  readonly status: number | undefined
  /** The method of a request; undefined for a response. */
  readonly method: string | undefined
  /** Every value of a header, by name (case-insensitive; compact forms are not expanded). */
  header(name: string): string[]
}

const parse = (bytes: Buffer): ReceivedSip => {
  const text = bytes.toString('latin1')
  const [head = ''] = text.split('\r\n\r\n')
  const [startLine = '', ...lines] = head.split('\r\n')
  const status = /^SIP\/2\.0 (\d{3})/.exec(startLine)?.[1]
  return {
    text,
    status: status === undefined ? undefined : Number(status),
    method: status === undefined ? startLine.split(' ')[0] : undefined,
    header: (name) =>
      lines.filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`)).map((line) => line.slice(line.indexOf(':') + 1).trim()),
  }
}

export class UdpSipPeer {
  readonly received: ReceivedSip[] = []

  private constructor(private readonly socket: Socket) {
    socket.on('message', (bytes) => this.received.push(parse(bytes)))
  }

  static async open(address = '127.0.0.1', port = 0): Promise<UdpSipPeer> {
    const socket = createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, address, () => resolve())
    })
    return new UdpSipPeer(socket)
  }

  get port(): number {
    return this.socket.address().port
  }

  /** Sends one datagram; `\n` line ends are turned into CRLF unless the text already has CRLF. */
  send(target: string, message: string | Buffer): void {
    const [host = '127.0.0.1', port = '5060'] = target.split(':')
    const bytes = typeof message === 'string' ? Buffer.from(message.includes('\r\n') ? message : message.replace(/\n/g, '\r\n'), 'latin1') : message
    this.socket.send(bytes, Number(port), host)
  }

  /** The first message received that matches, waiting up to timeoutMs. */
  next(what: string, matches: (message: ReceivedSip) => boolean, timeoutMs = 5_000): Promise<ReceivedSip> {
    return waitFor(what, () => this.received.find(matches), timeoutMs)
  }

  close(): void {
    this.socket.close()
  }
}

/** A final response to a received request (RFC 3261 §8.2.6.2: Via, From, To with a tag, Call-ID, CSeq copied). */
export const responseTo = (request: ReceivedSip, status: number, reason: string): string => {
  const to = request.header('To')[0] ?? ''
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...request.header('Via').map((via) => `Via: ${via}`),
    `From: ${request.header('From')[0] ?? ''}`,
    `To: ${to.includes(';tag=') ? to : `${to};tag=peer${status}`}`,
    `Call-ID: ${request.header('Call-ID')[0] ?? ''}`,
    `CSeq: ${request.header('CSeq')[0] ?? ''}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n')
}

/** An INVITE with a PCMU offer from `peer` to `target`, with extra header lines. */
export const inviteFrom = (peer: UdpSipPeer, target: string, options: {callId: string; to?: string; extraHeaders?: readonly string[]}): string => {
  const sdp = ['v=0', 'o=test 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${peer.port + 2} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', ''].join('\r\n')
  return [
    `INVITE sip:${options.to ?? 'test'}@${target} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK${options.callId.replace(/[^A-Za-z0-9]/g, '')}`,
    'Max-Forwards: 70',
    `From: <sip:caller@127.0.0.1:${peer.port}>;tag=caller1`,
    `To: <sip:${options.to ?? 'test'}@${target}>`,
    `Call-ID: ${options.callId}`,
    'CSeq: 1 INVITE',
    `Contact: <sip:caller@127.0.0.1:${peer.port}>`,
    ...(options.extraHeaders ?? []),
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(sdp)}`,
    '',
    sdp,
  ].join('\r\n')
}
