// Types shared by the SIP transport layer (RFC 3261 §18) and the layers
// above it. The transaction layer and the user agent depend on
// SipTransportLike only, so unit tests can drive them with a fake transport.
import type {SipMessage, SipResponse} from '../message.js'

export type SipTransportProtocol = 'udp' | 'tcp' | 'tls'

/** The stream transports: TLS is TCP underneath and shares its connection machinery and limits. */
export type SipStreamProtocol = 'tcp' | 'tls'

export const isStreamProtocol = (transport: SipTransportProtocol): transport is SipStreamProtocol => transport !== 'udp'

/** Where a URI or Via without a port points: 5061 for TLS, 5060 otherwise (RFC 3261 §19.1.2). */
export const defaultSipPort = (transport: SipTransportProtocol): number => (transport === 'tls' ? 5061 : 5060)

export interface ListenSpec {
  readonly transport: SipTransportProtocol
  /** An IP address; 0.0.0.0 or :: listen on every interface of that family (:: is IPv6 only: add 0.0.0.0 for IPv4). */
  readonly address: string
  /** 0 asks the OS for a free port. */
  readonly port: number
  /**
   * Host written in Via sent-by and Contact. Defaults to the bound address,
   * which must then not be a wildcard (0.0.0.0 / ::) to be reachable.
   */
  readonly advertise?: string | undefined
}

export interface SocketAddress {
  readonly address: string
  readonly port: number
}

export interface BoundListener {
  readonly transport: SipTransportProtocol
  readonly address: string
  readonly port: number
  /** What goes into Via sent-by and Contact. */
  readonly advertise: string
}

/** Where an incoming message came from and on what it arrived. */
export interface InboundContext {
  readonly transport: SipTransportProtocol
  readonly local: SocketAddress
  readonly remote: SocketAddress
  /** The TCP or TLS connection that carried it; responses go back over it (RFC 3261 §18.2.2). */
  readonly connectionId?: number | undefined
  /** On TLS: whether the peer presented a certificate our CA verified (sip.tls.verify_client). */
  readonly peerVerified?: boolean | undefined
  /** Wall clock at reception (preciseNow). */
  readonly receivedAt: number
}

/** Where to send a request (or a response routed by the caller). */
export interface SipTarget {
  readonly transport: SipTransportProtocol
  /** An IP address: names are resolved before (see resolveSipTarget). */
  readonly address: string
  readonly port: number
  /** A TCP or TLS connection to prefer while it is open (the flow a dialog was created on). */
  readonly connectionId?: number | undefined
  /** The host name of the URI the address came from: a TLS server's certificate must name it (and it goes in SNI). */
  readonly hostname?: string | undefined
}

/** How a message actually left. */
export interface SentInfo {
  readonly transport: SipTransportProtocol
  readonly local: SocketAddress
  readonly remote: SocketAddress
  readonly connectionId?: number | undefined
}

/**
 * One SIP message on the wire, in either direction: what HEP capture
 * (DESIGN §9) encodes. `message` is absent when the bytes did not parse.
 */
export interface SipPacketEvent {
  readonly direction: 'in' | 'out'
  readonly transport: SipTransportProtocol
  readonly local: SocketAddress
  readonly remote: SocketAddress
  readonly bytes: Buffer
  readonly message?: SipMessage | undefined
  /** Wall clock in milliseconds since the epoch, with microsecond precision. */
  readonly timestamp: number
}

/** A send that could not happen: no route, connection refused, socket closed. */
export class SipTransportError extends Error {
  constructor(message: string, readonly target?: SocketAddress & {transport: SipTransportProtocol}, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'SipTransportError'
  }
}

export type InboundMessageListener = (message: SipMessage, context: InboundContext) => void

/** What the transaction layer and the user agent need from a transport. */
export interface SipTransportLike {
  /** Sends a request or a response to an explicit target. Rejects with SipTransportError. */
  send(message: SipMessage, target: SipTarget, bytes?: Buffer): Promise<SentInfo>
  /** Sends a response to a request received in `context`, routed per RFC 3261 §18.2.2. */
  respond(response: SipResponse, context: InboundContext, bytes?: Buffer): Promise<SentInfo>
  /** The listener whose address goes into Via and Contact for this transport; undefined when none. */
  listenerFor(transport: SipTransportProtocol): BoundListener | undefined
  onMessage(listener: InboundMessageListener): () => void
}

export const isReliable = (transport: SipTransportProtocol): boolean => transport !== 'udp'

/** Wall-clock milliseconds with sub-millisecond precision, for timestamps that are compared. */
export const preciseNow = (): number => performance.timeOrigin + performance.now()

/**
 * The host for Via and Contact when a listener gives none: its own address,
 * or for a wildcard bind the first external address of the family (loopback
 * when the machine has none).
 */
export const defaultAdvertise = (address: string, interfaces: ReturnType<typeof import('node:os').networkInterfaces>): string => {
  if (address !== '0.0.0.0' && address !== '::') return address
  const family = address === '::' ? 'IPv6' : 'IPv4'
  for (const list of Object.values(interfaces)) {
    for (const entry of list ?? []) if (entry.family === family && !entry.internal && !entry.address.startsWith('fe80:')) return entry.address
  }
  return family === 'IPv6' ? '::1' : '127.0.0.1'
}

/** What a TLS listener presents and asks of its clients. */
export interface SipTlsServerOptions {
  /** PEM certificate chain and private key. */
  readonly cert: string | Buffer
  readonly key: string | Buffer
  /** PEM CA certificates client certificates are verified against; absent: Node's bundled roots. */
  readonly ca?: string | Buffer | undefined
  /** Ask every client for a certificate and refuse the handshake without a valid one. */
  readonly verifyClient: boolean
  /** Ask every client for a certificate but let it in without one (or with one that fails): its requests say whether it verified (peerVerified). */
  readonly requestClientCert?: boolean | undefined
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  /** An accepted connection must finish its handshake within this long. */
  readonly handshakeTimeoutMs: number
}

/** How we connect to a TLS server: whom we trust, whether we check, what we present. */
export interface SipTlsClientProfile {
  /** PEM CA certificates the server's certificate is verified against; absent: Node's bundled roots. */
  readonly ca?: string | Buffer | undefined
  /** false accepts any certificate (unsafe: anyone on the path can pose as the server). */
  readonly verifyServer: boolean
  /** A client certificate and key to present when the server asks. */
  readonly cert?: string | Buffer | undefined
  readonly key?: string | Buffer | undefined
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  /** The name the certificate must carry, when it is not the target's host name or address. */
  readonly serverName?: string | undefined
  /** A name for logs and errors (the trunk id). */
  readonly label?: string | undefined
}

/**
 * What the owner of the transport says about a stream connection from an
 * address, before anything is read from it: `admit` counts against the
 * per-source cap, `exempt` (a trusted source) does not; the other verdicts
 * close it at once.
 */
export type ConnectionVerdict = 'admit' | 'exempt' | 'unknown_source' | 'banned'

/** Why a stream connection was closed by a limit (the `reason` of clutchcall_sip_connections_dropped_total). */
export const SIP_CONNECTION_DROP_REASONS = [
  /** The source may send no request at all (security.unknown_sources: drop). */
  'unknown_source',
  /** The source is banned. */
  'banned',
  /** The source already holds security.limits.max_tcp_connections_per_source. */
  'source_limit',
  /** The gateway already holds security.limits.max_tcp_connections. */
  'connection_limit',
  /** A message was started and not finished within security.limits.tcp_message_timeout_ms. */
  'message_timeout',
  /** The peer left more than security.limits.tcp_send_buffer_bytes of our messages unread. */
  'send_buffer',
  /** A TLS connection did not finish its handshake within sip.tls.handshake_timeout_ms. */
  'handshake_timeout',
  /** A TLS handshake failed: plaintext or garbage on the TLS port, no shared version or cipher, a client certificate refused. */
  'handshake_failed',
] as const
export type SipConnectionDropReason = (typeof SIP_CONNECTION_DROP_REASONS)[number]
