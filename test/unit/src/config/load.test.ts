import assert from 'node:assert/strict'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {hostname} from 'node:os'
import {loadConfig, parseConfigText, resolveNodeName} from '../../../../src/config/load.js'
import {redactSecrets, REDACTED} from '../../../../src/config/redact.js'
import {CCError} from '../../../../src/errors.js'

const home = mkdtempSync(join(tmpdir(), 'cc-config-'))
after(() => rmSync(home, {recursive: true, force: true}))

const failure = (text: string): CCError => {
  try {
    parseConfigText(text, 'test.yaml')
  } catch (error) {
    assert.ok(error instanceof CCError)
    return error
  }
  assert.fail('expected the config to be rejected')
}

describe('config defaults', () => {
  it('an empty file is the embedded default gateway', () => {
    const config = parseConfigText('', 'empty.yaml')
    assert.deepEqual(config.sip.listen, [
      {transport: 'udp', address: '127.0.0.1', port: 5060},
      {transport: 'tcp', address: '127.0.0.1', port: 5060},
    ])
    assert.deepEqual(config.tenants, [{id: 'default', dialplan: 'default'}])
    assert.equal(config.dialplans.default?.start, 'answer')
    assert.equal(config.dialplans.default?.nodes.echo?.type, 'echo')
    assert.equal(config.metrics.listen, '127.0.0.1:9091', 'loopback, like SIP: the scrape has no authentication')
    assert.deepEqual(config.tracing, {enabled: false, endpoint: 'http://localhost:4318', protocol: 'http/protobuf'}, 'no collector configured: no export')
    assert.equal(config.cdr.clickhouse, undefined)
    assert.equal(config.heplify.enabled, false)
    assert.equal(config.rtp.shards, 'auto')
  })

  it('a section given in part keeps the defaults of the rest', () => {
    const config = parseConfigText('heplify:\n  enabled: true\n  endpoint: 192.0.2.10:9060\n', 'hep.yaml')
    assert.deepEqual(config.heplify, {enabled: true, endpoint: '192.0.2.10:9060', capture_id: 2001, password: ''})
  })

  it('accepts the full shape of DESIGN §4', () => {
    const config = parseConfigText(
      `tenants:
  - id: acme
    dialplan: acme-main
trunks:
  - id: carrier-a
    tenant: acme
    inbound:
      cidrs: [203.0.113.0/24]
      numbers: ["+1415555*"]
      auth: { username: acme, password: s3cret }
    outbound:
      uri: sip:sbc.carrier-a.example:5060;transport=udp
      auth: { username: acme, password: s3cret }
dialplans:
  acme-main:
    start: answer
    nodes:
      answer:   { type: answer, next: agent }
      agent:    { type: agent, url: wss://agents.example/voice, agent_id: support-bot, next: { completed: bye, failed: fallback } }
      fallback: { type: bridge, trunk: carrier-a, to: "+14155550100", timeout_s: 30, next: { answered: bye, busy: bye, no-answer: bye, failed: bye } }
      bye:      { type: hangup, cause: 16 }
cdr:
  clickhouse:
    url: http://localhost:8123
auth:
  jwt: { jwks_url: https://auth.example/.well-known/jwks.json, issuer: https://auth.example/, audience: clutchcall }
`,
      'full.yaml',
    )
    assert.equal(config.trunks[0]?.inbound?.cidrs[0], '203.0.113.0/24')
    assert.equal(config.cdr.clickhouse?.table, 'telephony_cdrs')
    assert.equal(config.dialplans['acme-main']?.nodes.fallback?.type, 'bridge')
    assert.ok(config.dialplans.default, 'the built-in dialplan stays available')
  })
})

describe('config errors name the line and the key path', () => {
  it('a wrong type', () => {
    const error = failure('metrics:\n  enabled: true\n  listen: 9091\n')
    assert.equal(error.code, 'CC_ERR_CONFIG_INVALID')
    assert.match(error.message, /line 3: metrics\.listen: /)
    const problems = (error.data as {problems: Array<{path: string; line: number}>}).problems
    assert.deepEqual(problems.map((problem) => [problem.path, problem.line]), [['metrics.listen', 3]])
  })

  it('an unknown key, pointing at the key itself', () => {
    const error = failure('sip:\n  listen:\n    - { transport: udp, address: 127.0.0.1, port: 5060, tls: true }\nmetrix:\n  enabled: false\n')
    assert.match(error.message, /line 3: sip\.listen\[0\]\.tls: unknown key/)
    assert.match(error.message, /line 4: metrix: unknown key \(did you mean metrics\?\)/)
  })

  it('an unknown key suggests the nearest allowed key at its path, dialplan nodes and list items included', () => {
    const error = failure('heplify:\n  capture-id: 5\ntrunks:\n  - { id: a, tenant: default, outbund: { uri: "sip:x" } }\ndialplans:\n  p:\n    start: n\n    nodes:\n      n: { type: hangup, casue: 16 }\n')
    const problems = (error.data as {problems: Array<{path: string; suggestion?: string}>}).problems
    assert.deepEqual(
      problems.map((problem) => [problem.path, problem.suggestion]).sort(),
      [['heplify.capture-id', 'capture_id'], ['trunks[0].outbund', 'outbound'], ['dialplans.p.nodes.n.casue', 'cause']].sort(),
    )
  })

  it('a YAML alias bomb (billion laughs) is a config error with its line, not an internal one', () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h'], ['j', 'i']]) rows.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`)
    const error = failure(`${rows.join('\n')}\n`)
    assert.equal(error.code, 'CC_ERR_CONFIG_INVALID')
    assert.match(error.message, /line 3: \(aliases\): too many alias expansions \(possible YAML alias bomb\)/)
  })

  it('a few aliases (shared credentials) still work', () => {
    const config = parseConfigText('tenants:\n  - &t { id: acme, dialplan: default }\ntrunks:\n  - { id: a, tenant: acme, outbound: { uri: "sip:x", auth: &cred { username: u, password: p } } }\n  - { id: b, tenant: acme, outbound: { uri: "sip:y", auth: *cred } }\n', 'test.yaml')
    assert.equal(config.trunks[1]?.outbound?.auth?.username, 'u')
  })

  it('bad YAML', () => {
    const error = failure('metrics:\n  enabled: true\n  listen: a: b\n')
    assert.equal(error.code, 'CC_ERR_CONFIG_YAML')
    assert.equal(error.details.line, 3)
    assert.match(error.message, /^test\.yaml:3:11: invalid YAML: Nested mappings/)
    const tabs = failure('metrics:\n  enabled: true\n\tlisten: x\n')
    assert.match(tabs.message, /^test\.yaml:3:1: invalid YAML: Tabs/)
  })

  it('a duplicate key is an error, not a silent override', () => {
    const error = failure('metrics:\n  enabled: true\n  enabled: false\n')
    assert.equal(error.code, 'CC_ERR_CONFIG_YAML')
  })

  it('values out of range and malformed addresses', () => {
    const error = failure('rtp:\n  port_min: 30000\n  port_max: 20000\nsip:\n  listen:\n    - { transport: sctp, address: not-an-ip, port: 70000 }\n')
    assert.match(error.message, /rtp\.port_min: port_min must be below port_max/)
    assert.match(error.message, /sip\.listen\[0\]\.transport/)
    assert.match(error.message, /sip\.listen\[0\]\.address: must be an IPv4 or IPv6 address/)
    assert.match(error.message, /sip\.listen\[0\]\.port/)
  })

  it('references to undefined tenants, dialplans, nodes and trunks', () => {
    const error = failure(`tenants:
  - { id: acme, dialplan: missing-plan }
trunks:
  - { id: t1, tenant: nobody }
dialplans:
  p:
    start: nowhere
    nodes:
      a: { type: answer, next: ghost }
      b: { type: bridge, trunk: t9 }
`)
    assert.match(error.message, /tenants\[0\]\.dialplan: dialplan "missing-plan" is not defined/)
    assert.match(error.message, /trunks\[0\]\.tenant: tenant "nobody" is not defined/)
    assert.match(error.message, /dialplans\.p\.start: start node "nowhere"/)
    assert.match(error.message, /dialplans\.p\.nodes\.a\.next: next node "ghost"/)
    assert.match(error.message, /dialplans\.p\.nodes\.b: trunk "t9" is not defined/)
  })
})

describe('loadConfig: files and environment', () => {
  it('runs on defaults when no file exists, and names the home', () => {
    const loaded = loadConfig({env: {CLUTCHCALL_HOME: home}})
    assert.equal(loaded.file, undefined)
    assert.equal(loaded.paths.home, home)
    assert.equal(loaded.socketPath, join(home, 'admin.sock'))
  })

  it('finds clutchcall.yaml in the home, CLUTCHCALL_CONFIG over it, --config over both', () => {
    const inHome = join(home, 'clutchcall.yaml')
    const viaEnv = join(home, 'env.yaml')
    const viaFlag = join(home, 'flag.yaml')
    writeFileSync(inHome, 'metrics: { listen: 127.0.0.1:1001 }\n')
    writeFileSync(viaEnv, 'metrics: { listen: 127.0.0.1:1002 }\n')
    writeFileSync(viaFlag, 'metrics: { listen: 127.0.0.1:1003 }\n')
    try {
      assert.equal(loadConfig({env: {CLUTCHCALL_HOME: home}}).config.metrics.listen, '127.0.0.1:1001')
      assert.equal(loadConfig({env: {CLUTCHCALL_HOME: home, CLUTCHCALL_CONFIG: viaEnv}}).config.metrics.listen, '127.0.0.1:1002')
      assert.equal(loadConfig({file: viaFlag, env: {CLUTCHCALL_HOME: home, CLUTCHCALL_CONFIG: viaEnv}}).config.metrics.listen, '127.0.0.1:1003')
    } finally {
      rmSync(inHome)
    }
  })

  it('a missing explicit file is an error, not a silent fallback to defaults', () => {
    assert.throws(() => loadConfig({file: join(home, 'nope.yaml'), env: {CLUTCHCALL_HOME: home}}), (error: CCError) => error.code === 'CC_ERR_CONFIG_NOT_FOUND')
  })

  it('OTEL_EXPORTER_OTLP_ENDPOINT overrides tracing.endpoint and is reported', () => {
    const loaded = loadConfig({env: {CLUTCHCALL_HOME: home, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318'}})
    assert.equal(loaded.config.tracing.endpoint, 'http://collector:4318')
    assert.ok(loaded.envOverrides.includes('OTEL_EXPORTER_OTLP_ENDPOINT'))
    assert.throws(() => loadConfig({env: {CLUTCHCALL_HOME: home, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318'}}), (error: CCError) => error.code === 'CC_ERR_ENV_INVALID')
  })

  it('admin.socket with ~ is expanded', () => {
    const file = join(home, 'socket.yaml')
    writeFileSync(file, 'admin:\n  socket: ~/x/admin.sock\n')
    const loaded = loadConfig({file, env: {CLUTCHCALL_HOME: home}})
    assert.ok(loaded.socketPath.endsWith('/x/admin.sock'))
    assert.ok(!loaded.socketPath.includes('~'))
  })
})

describe('node identity and drain keys', () => {
  it('node.name defaults to the host name, keeps a name given, and refuses one outside the rule with its line', () => {
    const defaults = parseConfigText('', 'empty.yaml')
    assert.equal(defaults.node.name, hostname())
    assert.equal(defaults.sip.drain_grace_s, 10)
    assert.equal(parseConfigText('node: { name: gw-fra-1.example }\n', 'n.yaml').node.name, 'gw-fra-1.example')
    for (const bad of ['-gw', 'gw 1', 'gw/1', 'x'.repeat(65), '""']) {
      assert.throws(
        () => parseConfigText(`node:\n  name: ${bad}\n`, 'bad.yaml'),
        (error: CCError) => error.code === 'CC_ERR_CONFIG_INVALID' && /line 2: node\.name: must be 1-64 characters/.test(error.message),
        bad,
      )
    }
  })

  it('a host name that cannot be a node name is a config error naming node.name, unless node.name is set', () => {
    assert.equal(resolveNodeName({node: {name: undefined}}, 'f.yaml', 'gw-1'), 'gw-1')
    assert.equal(resolveNodeName({node: {name: 'set'}}, 'f.yaml', 'bad host'), 'set')
    assert.throws(
      () => resolveNodeName({node: {name: undefined}}, 'f.yaml', 'bad host'),
      (error: CCError) => error.code === 'CC_ERR_CONFIG_INVALID' && /node\.name: not set, and the host name "bad host" cannot be the default/.test(error.message),
    )
  })

  it('heplify.capture_id takes a number or `node`, nothing else', () => {
    assert.equal(parseConfigText('heplify: { capture_id: node }\n', 'h.yaml').heplify.capture_id, 'node')
    assert.equal(parseConfigText('heplify: { capture_id: 7 }\n', 'h.yaml').heplify.capture_id, 7)
    assert.throws(() => parseConfigText('heplify: { capture_id: host }\n', 'h.yaml'), (error: CCError) => error.code === 'CC_ERR_CONFIG_INVALID' && /heplify\.capture_id/.test(error.message))
    assert.throws(() => parseConfigText('sip: { drain_grace_s: -1 }\n', 'd.yaml'), (error: CCError) => /sip\.drain_grace_s/.test(error.message))
  })
})

describe('redaction', () => {
  it('replaces every non-empty password at any depth and leaves the rest', () => {
    const config = parseConfigText('trunks:\n  - { id: t, tenant: default, outbound: { uri: "sip:x", auth: { username: u, password: s3cret } } }\ncdr:\n  clickhouse: { password: hunter2 }\n', 'r.yaml')
    const redacted = redactSecrets(config)
    assert.equal(redacted.trunks[0]?.outbound?.auth?.password, REDACTED)
    assert.equal(redacted.trunks[0]?.outbound?.auth?.username, 'u')
    assert.equal(redacted.cdr.clickhouse?.password, REDACTED)
    assert.equal(redacted.heplify.password, '', 'an empty password stays visibly empty')
    assert.equal(config.cdr.clickhouse?.password, 'hunter2', 'the original is untouched')
    assert.doesNotMatch(JSON.stringify(redacted), /s3cret|hunter2/)
  })
})
