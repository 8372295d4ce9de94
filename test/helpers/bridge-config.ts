// A config where each callee has a tenant, a dialplan and an outbound trunk
// of its own, so each test can bridge to a peer of its own: a call to the
// callee's number (from 127.0.0.1) is bridged over its trunk `out-N`.

export interface BridgeCallee {
  readonly number: string
  readonly port: number
}

/**
 * The YAML of the tenants, trunks and dialplans. `outbound` gives a trunk's `outbound:` value, indented
 * for the trunk's lines (a flow map `{ uri: … }` or a block of `      key: value` lines after a newline).
 */
export const perCalleeBridgeConfig = (callees: readonly BridgeCallee[], outbound: (callee: BridgeCallee) => string = ({port}) => ` { uri: "sip:127.0.0.1:${port}" }`): string => `tenants:
${callees.map((_, index) => `  - { id: bridge-${index}, dialplan: plan-${index} }`).join('\n')}
trunks:
${callees
  .map(
    (callee, index) => `  - id: in-${index}
    tenant: bridge-${index}
    inbound: { cidrs: [127.0.0.1/32], numbers: ["${callee.number}"] }
  - id: out-${index}
    tenant: bridge-${index}
    outbound:${outbound(callee)}`,
  )
  .join('\n')}
dialplans:
${callees
  .map(
    (_, index) => `  plan-${index}:
    start: bridge
    nodes:
      bridge: { type: bridge, trunk: out-${index}, timeout_s: 5, next: { answered: bye, busy: busy, no-answer: noanswer, failed: failed } }
      busy: { type: hangup, cause: 17 }
      noanswer: { type: hangup, cause: 19 }
      failed: { type: hangup, cause: 41 }
      bye: { type: hangup, cause: 16 }`,
  )
  .join('\n')}
`
