// `config validate` and `config show` as an operator runs them.
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {TestHome} from '../helpers/cli.js'

describe('clutchcall config validate', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('a good file is valid, with a summary', async () => {
    const file = home.writeConfig('tenants:\n  - { id: acme, dialplan: default }\n', 'good.yaml')
    const {code, body} = await home.json(['config', 'validate', file])
    assert.equal(code, 0)
    assert.equal(body.result.valid, true)
    assert.deepEqual(body.result.tenants, ['acme'])
    const human = await home.run(['config', 'validate', file])
    assert.match(human.stdout, /good\.yaml: valid/)
  })

  it('a wrong type names the line and key path and exits 1', async () => {
    const file = home.writeConfig('metrics:\n  enabled: "yes"\n', 'type.yaml')
    const {code, stderr} = await home.run(['config', 'validate', file])
    assert.equal(code, 1)
    assert.match(stderr, /CC_ERR_CONFIG_INVALID/)
    assert.match(stderr, /line 2: metrics\.enabled: /)
  })

  it('an unknown key is reported with its line, in the JSON problems too', async () => {
    const file = home.writeConfig('heplify:\n  enabled: true\n  capture-id: 2001\n', 'unknown.yaml')
    const {code, body} = await home.json(['config', 'validate', file])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_CONFIG_INVALID')
    assert.deepEqual(body.error?.data.problems, [{path: 'heplify.capture-id', message: 'unknown key (did you mean capture_id?)', line: 3, column: 3, suggestion: 'capture_id'}])
  })

  it('a key that resembles no allowed key gets no suggestion', async () => {
    const file = home.writeConfig('heplify:\n  enabled: true\n  frobnicate: 1\n', 'unknown2.yaml')
    const {code, body} = await home.json(['config', 'validate', file])
    assert.equal(code, 1)
    assert.deepEqual(body.error?.data.problems, [{path: 'heplify.frobnicate', message: 'unknown key', line: 3, column: 3}])
  })

  it('a YAML alias bomb is refused with its line, quickly', async () => {
    const rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for (const [name, prev] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e'], ['g', 'f'], ['h', 'g'], ['i', 'h']]) rows.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`)
    const file = home.writeConfig(`${rows.join('\n')}\n`, 'laughs.yaml')
    const started = Date.now()
    const {code, body} = await home.json(['config', 'validate', file])
    assert.ok(Date.now() - started < 20_000, 'refused without expanding')
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_CONFIG_INVALID')
    assert.match(body.error?.message ?? '', /line 3: \(aliases\): too many alias expansions \(possible YAML alias bomb\)/)
    assert.equal(body.error?.data.problems[0].line, 3)
  })

  it('bad YAML names the file, line and column', async () => {
    const file = home.writeConfig('sip:\n  listen: [ { transport: udp\n', 'bad.yaml')
    const {code, stderr} = await home.run(['config', 'validate', file])
    assert.equal(code, 1)
    assert.match(stderr, /CC_ERR_CONFIG_YAML/)
    assert.match(stderr, /bad\.yaml:\d+:\d+: invalid YAML/)
  })

  it('a missing file is a usage error (exit 2)', async () => {
    const {code, body} = await home.json(['config', 'validate', home.path('nope.yaml')])
    assert.equal(code, 2)
    assert.equal(body.error?.code, 'CC_ERR_CONFIG_NOT_FOUND')
  })

  it('start refuses an invalid config before spawning anything', async () => {
    const file = home.writeConfig('rtp:\n  shards: lots\n', 'start-bad.yaml')
    const {code, body} = await home.json(['start', '--config', file])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_CONFIG_INVALID')
    assert.match(body.error?.message ?? '', /rtp\.shards/)
    const status = await home.json(['status'])
    assert.equal(status.body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')
  })
})

describe('clutchcall config show', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('prints the effective config with defaults filled in and secrets redacted', async () => {
    home.writeConfig('cdr:\n  clickhouse:\n    url: http://ch.example:8123\n    password: hunter2\nheplify:\n  password: hepsecret\n')
    const {code, body, stdout} = await home.json(['config', 'show'])
    assert.equal(code, 0)
    assert.equal(body.result.config.cdr.clickhouse.password, '********')
    assert.equal(body.result.config.heplify.password, '********')
    assert.equal(body.result.config.cdr.batch_size, 1000)
    assert.equal(body.result.file, home.path('clutchcall.yaml'))
    assert.doesNotMatch(stdout, /hunter2|hepsecret/)
    const human = await home.run(['config', 'show'])
    assert.doesNotMatch(human.stdout, /hunter2|hepsecret/)
    assert.match(human.stdout, /password: "\*{8}"|password: '\*{8}'|password: \*{8}/)
  })

  it('names environment overrides and applies them', async () => {
    const {body} = await home.json(['config', 'show'], {OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel.example:4318'})
    assert.equal(body.result.config.tracing.endpoint, 'http://otel.example:4318')
    assert.equal(body.result.config.tracing.enabled, true, 'a collector named in the environment switches export on')
    assert.ok(body.result.envOverrides.includes('OTEL_EXPORTER_OTLP_ENDPOINT'))
    const without = await home.json(['config', 'show'])
    assert.deepEqual(without.body.result.config.tracing, {enabled: false, endpoint: 'http://localhost:4318', protocol: 'http/protobuf'}, 'no collector configured: tracing off')
  })

  it('--section prints one section and refuses an unknown one with exit 2', async () => {
    const {code, stdout} = await home.run(['config', 'show', '--section', 'metrics'])
    assert.equal(code, 0)
    assert.match(stdout, /^metrics:\n {2}enabled: true/m)
    assert.doesNotMatch(stdout, /^sip:/m)
    const bad = await home.json(['config', 'show', '--section', 'nope'])
    assert.equal(bad.code, 2)
    assert.equal(bad.body.error?.code, 'CC_ERR_USAGE')
  })
})

describe('clutchcall config reload with no daemon', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('says no daemon runs (exit 1), and with a broken file names the file\'s problems instead', async () => {
    const {code, body} = await home.json(['config', 'reload'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')
    home.writeConfig('sip:\n  drain_grace_s: soon\n')
    const broken = await home.json(['config', 'reload'])
    assert.equal(broken.code, 1)
    assert.equal(broken.body.error?.code, 'CC_ERR_CONFIG_INVALID')
    assert.match(broken.body.error?.message ?? '', /line 2: sip\.drain_grace_s/)
  })
})
