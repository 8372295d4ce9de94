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
