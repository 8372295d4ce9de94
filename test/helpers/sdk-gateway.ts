// A test daemon set up for SDK clients: the WebRTC endpoint on a free port,
// traces to a test receiver, the tenants and outbound trunks a test names, and
// auth.jwt trusting a test issuer. Resolves with the offer endpoint's URL.
import assert from 'node:assert/strict'
import type {TestGateway} from './gateway.js'
import type {TestIssuer} from './jwt.js'

export interface SdkGatewayOptions {
  readonly tracingEndpoint: string
  readonly tenants: readonly string[]
  /** Outbound trunks: id, tenant, and the loopback port of the SIP callee behind it. */
  readonly trunks: ReadonlyArray<{readonly id: string; readonly tenant: string; readonly port: number}>
  readonly issuer: TestIssuer
}

export const startSdkGateway = async (gw: TestGateway, options: SdkGatewayOptions): Promise<string> => {
  const tenants = options.tenants.map((id) => `  - { id: ${id}, dialplan: default }`).join('\n')
  const trunks = options.trunks.map((trunk) => `  - { id: ${trunk.id}, tenant: ${trunk.tenant}, outbound: { uri: "sip:127.0.0.1:${trunk.port}" } }`).join('\n')
  await gw.start(`tracing:
  endpoint: ${options.tracingEndpoint}
webrtc:
  enabled: true
  listen: 127.0.0.1:0
tenants:
${tenants}
trunks:
${trunks}
${options.issuer.configYaml()}`)
  const listener = gw.listeners.find((candidate) => candidate.name === 'webrtc') as {url?: string} | undefined
  assert.ok(listener?.url, `no webrtc listener in ${JSON.stringify(gw.listeners)}`)
  return listener.url
}

export interface QuicGatewayOptions extends Omit<SdkGatewayOptions, 'tracingEndpoint'> {
  /** Traces to this OTLP receiver; none (tracing off) when not given. */
  readonly tracingEndpoint?: string
  /** quic.limits overrides, e.g. {idle_timeout_ms: 2000}. */
  readonly limits?: Readonly<Record<string, number>>
  /** Also serve WebRTC (to compare the transports on one gateway). */
  readonly webrtc?: boolean
  /** Also serve WebTransport (quic.webtransport) on a free port. */
  readonly webtransport?: boolean
}

/** The daemon with the QUIC listener on a free port; resolves with its port and the SHA-256 `status --json` shows for its certificate. */
export const startQuicGateway = async (gw: TestGateway, options: QuicGatewayOptions): Promise<{port: number; sha256: string; webTransportUrl: string}> => {
  const tenants = options.tenants.map((id) => `  - { id: ${id}, dialplan: default }`).join('\n')
  const trunks = options.trunks.map((trunk) => `  - { id: ${trunk.id}, tenant: ${trunk.tenant}, outbound: { uri: "sip:127.0.0.1:${trunk.port}" } }`).join('\n')
  const limits = Object.entries(options.limits ?? {})
    .map(([key, value]) => `    ${key}: ${value}`)
    .join('\n')
  await gw.start(`${options.tracingEndpoint === undefined ? '' : `tracing:\n  endpoint: ${options.tracingEndpoint}\n`}quic:
  enabled: true
  listen: 127.0.0.1:0
${options.webtransport ? '  webtransport: {enabled: true, listen: "127.0.0.1:0"}\n' : ''}${limits.length > 0 ? `  limits:\n${limits}\n` : ''}${options.webrtc ? 'webrtc:\n  enabled: true\n  listen: 127.0.0.1:0\n' : ''}tenants:
${tenants}
trunks:${trunks.length > 0 ? `\n${trunks}` : ' []'}
${options.issuer.configYaml()}`)
  const listener = gw.listeners.find((candidate) => candidate.name === 'quic')
  assert.ok(listener?.port, `no quic listener in ${JSON.stringify(gw.listeners)}`)
  assert.equal(listener.transport, 'udp')
  const status = await gw.home.json(['status'])
  assert.equal(status.code, 0, JSON.stringify(status.body))
  const sha256 = String(status.body.result.quic?.certificate?.sha256 ?? '')
  assert.match(sha256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  const webTransportUrl = String(status.body.result.quic?.webtransport?.url ?? '')
  if (options.webtransport) assert.match(webTransportUrl, /^https:\/\/127\.0\.0\.1:\d+\/v1\/rpc$/)
  return {port: listener.port, sha256, webTransportUrl}
}
