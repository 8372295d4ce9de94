// The clutchcall.yaml lines of a gateway that bridges SIPp's calls to SIPp
// callees on this host (bench:vs-kamailio, bench:quic bridged): tenant
// `bench`, an inbound trunk `caller` from 127.0.0.1 for `service`, an
// outbound trunk per callee, and the dialplan `to-callee` bridging to the
// first. The load comes from this host: it is no scanner, so 127.0.0.1 is
// trusted (no per-source limits).

/**
 * `callees`: [{id, port, codecs?}], each an outbound trunk to sip:127.0.0.1:<port> (with `codecs`, the
 * trunk's own codec list: a callee on other codecs than the caller's makes the gateway transcode); the
 * dialplan bridges to the first. `overload`: false turns overload control off. Returns the `security`,
 * `tenants`, `trunks` and `dialplans` sections.
 */
export const bridgeConfig = ({service, callees, overload = true}) =>
  'security:\n  trusted_cidrs: [127.0.0.1/32]\n' +
  (overload ? '' : '  overload: { enabled: false }\n') +
  'tenants:\n  - { id: bench, dialplan: to-callee }\n' +
  `trunks:\n  - { id: caller, tenant: bench, inbound: { cidrs: [127.0.0.1/32], numbers: ["${service}"] } }\n` +
  callees.map(({id, port, codecs}) => `  - { id: ${id}, tenant: bench, outbound: { uri: "sip:127.0.0.1:${port}" }${codecs ? `, codecs: [${codecs.join(', ')}]` : ''} }\n`).join('') +
  'dialplans:\n  to-callee:\n    start: bridge\n    nodes:\n' +
  `      bridge: { type: bridge, trunk: ${callees[0].id}, timeout_s: 30, next: { answered: bye, failed: failed } }\n` +
  '      failed: { type: hangup, cause: 41 }\n      bye: { type: hangup, cause: 16 }\n'
