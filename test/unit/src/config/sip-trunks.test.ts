// The trunk keys of docs/sip-trunks.md: outbound.register (credentials from
// register or outbound.auth, a usable and unique contact user, retry bounds
// in order), outbound.keepalive defaults, and outbound.failover (defined
// trunks with an outbound section, not itself, no repeats, at most 8).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {CCError} from '../../../../src/errors.js'

const TENANT = 'tenants: [{ id: acme, dialplan: default }]\n'

const problems = (text: string): string[] => {
  try {
    parseConfigText(TENANT + text, 'test.yaml')
  } catch (error) {
    assert.ok(error instanceof CCError)
    return (error.data as {problems: Array<{path: string; message: string}>}).problems.map((problem) => `${problem.path}: ${problem.message}`)
  }
  assert.fail('expected the config to be rejected')
}

describe('trunks[].outbound.register', () => {
  it('takes its credentials from outbound.auth, with the documented defaults', () => {
    const config = parseConfigText(`${TENANT}trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:sbc.example", auth: { username: acme, password: pw }, register: {} } }\n`, 'test.yaml')
    assert.deepEqual(config.trunks[0]?.outbound?.register, {expires_s: 3600, retry_min_s: 5, retry_max_s: 300})
    assert.deepEqual(config.trunks[0]?.outbound?.failover, [])
  })

  it('needs a username and a password from somewhere', () => {
    const found = problems('trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:sbc.example", register: {} } }\n')
    assert.ok(found.some((line) => /register\.username: registering needs a username/.test(line)), found.join('\n'))
    assert.ok(found.some((line) => /register\.password: registering needs a password/.test(line)), found.join('\n'))
  })

  it('a username that cannot be a contact user asks for contact_user; contact users are unique', () => {
    const bad = problems('trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:sbc.example", register: { username: "a@b", password: p } } }\n')
    assert.ok(bad.some((line) => /cannot be the contact user.*set register\.contact_user/.test(line)), bad.join('\n'))
    const twice = problems('trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", register: { username: u, password: p } } }\n  - { id: b, tenant: acme, outbound: { uri: "sip:b.example", register: { username: x, password: p, contact_user: u } } }\n')
    assert.ok(twice.some((line) => /contact user "u" is already bound by trunk "a"/.test(line)), twice.join('\n'))
    const escaped = problems('trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", register: { username: u, password: p, contact_user: "a b" } } }\n')
    assert.ok(escaped.some((line) => /contact_user: must be 1-64 characters/.test(line)), escaped.join('\n'))
  })

  it('bounds expires_s and orders the retry bounds; a TLS registrar needs a TLS listener', () => {
    const found = problems('trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", register: { username: u, password: p, expires_s: 5, retry_min_s: 60, retry_max_s: 10, registrar: "sips:reg.example" } } }\n')
    assert.ok(found.some((line) => /expires_s/.test(line)), found.join('\n'))
    assert.ok(found.some((line) => /retry_min_s must not be above retry_max_s/.test(line)), found.join('\n'))
    assert.ok(found.some((line) => /registrar: a call over TLS/.test(line)), found.join('\n'))
  })
})

describe('trunks[].outbound.keepalive and failover', () => {
  it('keepalive defaults: every 30 s, 5 s timeout, down after 3, up after 2', () => {
    const config = parseConfigText(`${TENANT}trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", keepalive: {} } }\n`, 'test.yaml')
    assert.deepEqual(config.trunks[0]?.outbound?.keepalive, {interval_s: 30, timeout_ms: 5000, down_after: 3, up_after: 2})
  })

  it('failover names defined trunks with an outbound section, never itself, never twice', () => {
    const found = problems(`trunks:
  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", failover: [a, nope, in-only, b, b] } }
  - { id: b, tenant: acme, outbound: { uri: "sip:b.example" } }
  - { id: in-only, tenant: acme, inbound: { cidrs: [192.0.2.1] } }
`)
    assert.ok(found.some((line) => /failover\[0\]: a trunk cannot be its own failover/.test(line)), found.join('\n'))
    assert.ok(found.some((line) => /failover\[1\]: trunk "nope" is not defined/.test(line)), found.join('\n'))
    assert.ok(found.some((line) => /failover\[2\]: trunk "in-only" has no outbound section/.test(line)), found.join('\n'))
    assert.ok(found.some((line) => /failover\[4\]: trunk "b" is named twice/.test(line)), found.join('\n'))
    assert.ok(!found.some((line) => /failover\[3\]/.test(line)), found.join('\n'))
  })

  it('at most 8 failover trunks', () => {
    const ids = Array.from({length: 9}, (_, index) => `t${index}`)
    const found = problems(`trunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:a.example", failover: [${ids.join(', ')}] } }\n${ids.map((id) => `  - { id: ${id}, tenant: acme, outbound: { uri: "sip:${id}.example" } }\n`).join('')}`)
    assert.ok(found.some((line) => /failover/.test(line)), found.join('\n'))
  })
})
