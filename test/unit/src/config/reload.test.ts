import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {changedPaths, classifyChanges, mergeReloaded} from '../../../../src/config/reload.js'

const BASE = `node: { name: gw-1 }
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: 5060 }]
tenants: [{ id: acme, dialplan: main }]
trunks:
  - { id: carrier, tenant: acme, inbound: { cidrs: [203.0.113.0/24], numbers: ["+1555*"] } }
dialplans:
  main:
    start: answer
    nodes:
      answer: { type: answer, next: bye }
      bye: { type: hangup, cause: 16 }
`

const config = (yaml: string) => parseConfigText(yaml, 'test.yaml')

describe('config reload: what changed and what applies', () => {
  it('compares objects key by key and lists as a whole', () => {
    assert.deepEqual(changedPaths({a: {b: 1, c: [1, 2]}, d: 'x'}, {a: {b: 2, c: [1, 2]}, d: 'x', e: true}), ['a.b', 'e'])
    assert.deepEqual(changedPaths({a: [{id: 1}]}, {a: [{id: 2}]}), ['a'])
    assert.deepEqual(changedPaths({a: 1}, {a: 1}), [])
  })

  it('applies tenants, trunks, dialplans, security and sip.drain_grace_s; lists listeners, ports, telemetry and the node name as restart-only', () => {
    const running = config(BASE)
    const edited = config(
      BASE.replace('"+1555*"', '"+1666*"')
        .replace('cause: 16', 'cause: 17')
        .replace('port: 5060', 'port: 5070')
        .replace('name: gw-1', 'name: gw-2')
        .concat('security: { rate_limit: { requests: 500 }, limits: { max_dialogs: 10, max_tcp_connections: 50 } }\nrtp: { port_max: 29000 }\n')
        .replace('sip:\n', 'sip:\n  drain_grace_s: 4\n'),
    )
    const {applied, restartRequired} = classifyChanges(running, edited)
    assert.deepEqual(applied.sort(), ['dialplans.main.nodes.bye.cause', 'security.limits.max_dialogs', 'security.rate_limit.requests', 'sip.drain_grace_s', 'trunks'].sort())
    assert.deepEqual(restartRequired.sort(), ['node.name', 'rtp.port_max', 'security.limits.max_tcp_connections', 'sip.listen'].sort())
  })

  it('runs on the new reloadable keys and the old restart-only ones: reloading the same file again applies nothing and still lists what waits for a restart', () => {
    const running = config(BASE)
    const edited = config(`${BASE.replace('port: 5060', 'port: 5070')}security: { limits: { tcp_message_timeout_ms: 1000, max_dialogs: 7 } }\n`)
    const merged = mergeReloaded(running, edited)
    assert.equal(merged.security.limits.max_dialogs, 7)
    assert.equal(merged.security.limits.tcp_message_timeout_ms, running.security.limits.tcp_message_timeout_ms)
    assert.deepEqual(merged.sip.listen, running.sip.listen)
    const again = classifyChanges(merged, edited)
    assert.deepEqual(again.applied, [])
    assert.deepEqual(again.restartRequired.sort(), ['security.limits.tcp_message_timeout_ms', 'sip.listen'])
  })

  it('waits for a restart for the TLS listeners\' certificate and handshake limit; applies a trunk\'s TLS and SRTP settings to new calls', () => {
    const tls = BASE.replace('listen: [{ transport: udp, address: 127.0.0.1, port: 5060 }]', 'listen: [{ transport: udp, address: 127.0.0.1, port: 5060 }, { transport: tls, address: 127.0.0.1, port: 5061 }]\n  tls: { cert: a.crt, key: a.key }')
    const running = config(tls)
    const edited = config(
      tls
        .replace('tls: { cert: a.crt, key: a.key }', 'tls: { cert: b.crt, key: b.key }')
        .replace('numbers: ["+1555*"] } }', 'numbers: ["+1555*"] }, media_encryption: required, outbound: { uri: "sips:sbc.example", tls: { ca: ca.crt } } }')
        .concat('security: { limits: { tls_handshake_timeout_ms: 2000 } }\n'),
    )
    const {applied, restartRequired} = classifyChanges(running, edited)
    assert.deepEqual(applied, ['trunks'])
    assert.deepEqual(restartRequired.sort(), ['security.limits.tls_handshake_timeout_ms', 'sip.tls.cert', 'sip.tls.key'])
  })

  it('an unchanged file changes nothing', () => {
    assert.deepEqual(classifyChanges(config(BASE), config(BASE)), {applied: [], restartRequired: []})
  })
})
