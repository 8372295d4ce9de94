// A SipTransportLike that records what the layers above send and lets a
// test inject what "arrives", so transactions, dialogs and the user agent
// can be tested without sockets.
import type {SipMessage, SipRequest, SipResponse} from '../../../../src/sip/message.js'
import {parseSipMessage} from '../../../../src/sip/parser.js'
import {serializeSipMessage} from '../../../../src/sip/serializer.js'
import {stampTopVia} from '../../../../src/sip/transport/via-routing.js'
import {SipTransportError, type BoundListener, type InboundContext, type InboundMessageListener, type SentInfo, type SipTarget, type SipTransportLike, type SipTransportProtocol} from '../../../../src/sip/transport/types.js'

export interface SentRecord {
  readonly message: SipMessage
  readonly bytes: Buffer
  readonly target: SipTarget | undefined
  readonly context: InboundContext | undefined
  readonly at: number
}

export const PEER = {address: '192.0.2.20', port: 5062}

export class FakeSipTransport implements SipTransportLike {
  readonly sent: SentRecord[] = []
  /** Make every send fail (transport error). */
  failSends = false
  /** What `at` records; tests with mocked timers point it at their virtual clock. */
  clock: () => number = () => performance.now()
  private readonly listeners = new Set<InboundMessageListener>()
  private readonly waiters: Array<{predicate: (record: SentRecord) => boolean; resolve: (record: SentRecord) => void}> = []

  send(message: SipMessage, target: SipTarget, bytes?: Buffer): Promise<SentInfo> {
    return this.record(message, bytes, target, undefined, target.transport)
  }

  respond(response: SipResponse, context: InboundContext, bytes?: Buffer): Promise<SentInfo> {
    return this.record(response, bytes, undefined, context, context.transport)
  }

  private record(message: SipMessage, bytes: Buffer | undefined, target: SipTarget | undefined, context: InboundContext | undefined, transport: SipTransportProtocol): Promise<SentInfo> {
    if (this.failSends) return Promise.reject(new SipTransportError('fake send failure'))
    // Re-parse what went out, as the peer would see it.
    const wire = bytes ?? serializeSipMessage(message)
    const record: SentRecord = {message: parseSipMessage(wire), bytes: wire, target, context, at: this.clock()}
    this.sent.push(record)
    for (const waiter of [...this.waiters]) {
      if (waiter.predicate(record)) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        waiter.resolve(record)
      }
    }
    const remote = target ?? context?.remote ?? PEER
    return Promise.resolve({transport, local: {address: '127.0.0.1', port: 5060}, remote: {address: remote.address, port: remote.port}, connectionId: transport === 'tcp' ? 7 : undefined})
  }

  listenerFor(transport: SipTransportProtocol): BoundListener {
    return {transport, address: '127.0.0.1', port: 5060, advertise: '127.0.0.1'}
  }

  onMessage(listener: InboundMessageListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Delivers a message (text, bytes or parsed) as if it arrived from PEER. */
  inject(message: SipMessage | string | Buffer, transport: SipTransportProtocol = 'udp'): InboundContext {
    const parsed = typeof message === 'string' || Buffer.isBuffer(message) ? parseSipMessage(Buffer.from(message)) : parseSipMessage(serializeSipMessage(message))
    const context: InboundContext = {transport, local: {address: '127.0.0.1', port: 5060}, remote: PEER, connectionId: transport === 'tcp' ? 7 : undefined, receivedAt: Date.now()}
    if (parsed.kind === 'request') stampTopVia(parsed, PEER)
    for (const listener of this.listeners) listener(parsed, context)
    return context
  }

  /** Sent requests of a method / responses with a status. */
  requests(method: string): SipRequest[] {
    return this.sent.flatMap(({message}) => (message.kind === 'request' && message.method === method ? [message] : []))
  }

  responses(status?: number): SipResponse[] {
    return this.sent.flatMap(({message}) => (message.kind === 'response' && (status === undefined || message.status === status) ? [message] : []))
  }

  /** The next record (already sent or to come) matching the predicate. */
  next(predicate: (record: SentRecord) => boolean, timeoutMs = 2_000): Promise<SentRecord> {
    const already = this.sent.find(predicate)
    if (already !== undefined) return Promise.resolve(already)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a sent message')), timeoutMs)
      this.waiters.push({predicate, resolve: (record) => {
        clearTimeout(timer)
        resolve(record)
      }})
    })
  }
}

/** CRLF-joined lines plus a blank line and the body. */
export const wire = (lines: readonly string[], body = ''): string => `${lines.join('\r\n')}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** Drives node:test's mocked setTimeout one millisecond at a time, so each send is stamped with its virtual time. */
export class VirtualClock {
  now = 0

  constructor(private readonly timers: {tick(ms: number): void}) {}

  advance(ms: number): void {
    for (let step = 0; step < ms; step++) {
      this.now++
      this.timers.tick(1)
    }
  }
}
