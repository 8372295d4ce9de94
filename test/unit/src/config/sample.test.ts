// The sample `clutchcall config init` writes must load as it is and show each
// part of a real deployment.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {SAMPLE_CONFIG} from '../../../../src/config/sample.js'

describe('the config init sample', () => {
  const config = parseConfigText(SAMPLE_CONFIG, 'sample.yaml')

  it('has a tenant on its own dialplan', () => {
    assert.deepEqual(config.tenants, [{id: 'acme', dialplan: 'acme-main'}])
  })

  it('has an inbound trunk with a CIDR and digest auth, with an obviously sample password', () => {
    const inbound = config.trunks.find((trunk) => trunk.inbound !== undefined)
    assert.ok(inbound, 'an inbound trunk')
    assert.ok((inbound.inbound?.cidrs.length ?? 0) > 0)
    assert.equal(inbound.inbound?.auth?.password, 'change-me')
  })

  it('has an outbound trunk that the dialplan bridges to', () => {
    const outbound = config.trunks.find((trunk) => trunk.outbound !== undefined)
    assert.match(outbound?.outbound?.uri ?? '', /^sip:/)
    const bridges = Object.values(config.dialplans['acme-main']?.nodes ?? {}).filter((node) => node.type === 'bridge')
    assert.deepEqual(bridges.map((node) => node.type === 'bridge' && node.trunk), [outbound?.id])
  })

  it('has a dialplan with answer, play, agent, bridge and hangup nodes', () => {
    const types = new Set(Object.values(config.dialplans['acme-main']?.nodes ?? {}).map((node) => node.type))
    for (const type of ['answer', 'play', 'agent', 'bridge', 'hangup'] as const) assert.ok(types.has(type), `a ${type} node`)
  })

  it('keeps CDRs in the embedded store, with the ClickHouse section commented out', () => {
    assert.equal(config.cdr.enabled, true)
    assert.equal(config.cdr.clickhouse, undefined)
    assert.match(SAMPLE_CONFIG, /^ {2}# clickhouse:\n {2}# {3}url: http:\/\/localhost:8123$/m)
  })

  it('has HEP capture off, and tracing ready to point at a collector', () => {
    assert.equal(config.heplify.enabled, false)
    assert.match(SAMPLE_CONFIG, /^heplify:$/m)
    // Commented out: a sample must not send traces to a collector the user may not run.
    const tracing = /^# tracing:\n((?:# {3}.*\n)+)/m.exec(SAMPLE_CONFIG)?.[1] ?? ''
    assert.deepEqual(parseConfigText(`tracing:\n${tracing.replace(/^# /gm, '')}`, 'tracing.yaml').tracing, {enabled: true, endpoint: 'http://localhost:4318', protocol: 'http/protobuf'})
  })

  it('names the node by its host name, with node.name commented out to set it', () => {
    const node = /^# node:\n((?:# {3}.*\n)+)/m.exec(SAMPLE_CONFIG)?.[1] ?? ''
    assert.equal(parseConfigText(`node:\n${node.replace(/^# /gm, '')}`, 'node.yaml').node.name, 'gw-fra-1')
  })

  it('explains each section in a comment above it', () => {
    for (const section of ['sip', '# node', 'rtp', 'tenants', 'trunks', 'dialplans', 'metrics', '# tracing', 'cdr', 'heplify']) {
      assert.match(SAMPLE_CONFIG, new RegExp(`# [^\\n]+\\n(?:#[^\\n]*\\n)*${section}:\\n`), `a comment above ${section}:`)
    }
  })
})
