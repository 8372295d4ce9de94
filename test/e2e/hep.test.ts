// The hep commands, built, as an operator runs them: bad --endpoint and --ttl
// values are usage errors (exit 2) with a message that says what is wrong,
// found before anything is sent (no daemon needed to be told); against a
// running daemon, enable / status / disable round-trip and `status` shows the
// HEP state.
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {freePort, testConfig, TestHome} from '../helpers/cli.js'
import {freeUdpPort} from '../helpers/hep.js'

const BAD_ENDPOINTS: ReadonlyArray<readonly [string, RegExp]> = [
  ['', /--endpoint: the endpoint is empty/],
  ['192.0.2.10', /--endpoint: "192\.0\.2\.10" has no port/],
  ['192.0.2.10:', /has no port/],
  ['192.0.2.10:99999', /port 99999 is outside 1-65535/],
  ['192.0.2.10:65536', /port 65536 is outside 1-65535/],
  ['192.0.2.10:0', /port 0 is outside 1-65535/],
  [':9060', /has no host/],
  ['homer example:9060', /"homer example" is not an IPv4 address or a host name/],
  ['300.1.2.3:9060', /"300\.1\.2\.3" is not an IPv4 address or a host name/],
  ['2001:db8::1:9060', /IPv6 address goes in brackets/],
  ['[192.0.2.10]:9060', /in brackets is not an IPv6 address/],
]

describe('hep commands: usage errors without a daemon', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  for (const [endpoint, message] of BAD_ENDPOINTS) {
    it(`--endpoint ${JSON.stringify(endpoint)} is a usage error: ${message.source}`, async () => {
      const {code, body} = await home.json(['hep', 'enable', '--endpoint', endpoint])
      assert.equal(code, 2)
      assert.equal(body.status, 2)
      assert.equal(body.error?.code, 'CC_ERR_USAGE')
      assert.match(body.error?.message ?? '', message)
    })
  }

  it('a bad --ttl is a usage error; so is a capture id out of range', async () => {
    for (const [ttl, message] of [['5x', /--ttl: TTL "5x" is not a duration/], ['0s', /is zero/], ['48h', /longer than 24h/]] as const) {
      const {code, body} = await home.json(['hep', 'enable', '--ttl', ttl])
      assert.equal(code, 2, ttl)
      assert.equal(body.error?.code, 'CC_ERR_USAGE')
      assert.match(body.error?.message ?? '', message)
    }
    const capture = await home.json(['hep', 'enable', '--capture-id', '4294967296'])
    assert.equal(capture.code, 2)
    assert.equal(capture.body.error?.code, 'CC_ERR_USAGE')
  })

  it('without --json the error goes to stderr with what to try', async () => {
    const {code, stdout, stderr} = await home.run(['hep', 'enable', '--endpoint', 'collector'])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /^Error \(CC_ERR_USAGE\): --endpoint: "collector" has no port/m)
    assert.match(stderr, /^Try: /m)
  })

  it('a good value goes to the daemon: with none running, that is CC_ERR_DAEMON_NOT_RUNNING (exit 1)', async () => {
    const {code, body} = await home.json(['hep', 'enable', '--endpoint', '127.0.0.1:9060', '--ttl', '15m'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')
    assert.equal((await home.json(['hep', 'status'])).body.error?.code, 'CC_ERR_DAEMON_NOT_RUNNING')
  })
})

describe('hep commands against a running daemon', () => {
  const home = new TestHome()
  let collectorPort = 0

  before(async () => {
    collectorPort = await freeUdpPort()
    home.writeConfig(testConfig(await freePort(), 'tracing:\n  enabled: false\n'))
    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))
  })
  after(() => home.cleanup())

  it('status says off (from the config) before anything is switched', async () => {
    const {code, body} = await home.json(['hep', 'status'])
    assert.equal(code, 0)
    assert.equal(body.result.state, 'off')
    assert.equal(body.result.endpoint, '127.0.0.1:9060')
    assert.equal(body.result.captureId, 2001)
    assert.equal(body.result.lastOffReason, null)
    assert.equal((await home.json(['status'])).body.result.telemetry.hep.state, 'off')
  })

  it('a bad endpoint leaves the running capture state alone', async () => {
    const {code} = await home.json(['hep', 'enable', '--endpoint', '127.0.0.1:70000'])
    assert.equal(code, 2)
    assert.equal((await home.json(['hep', 'status'])).body.result.state, 'off')
  })

  it('enable with every flag, status, disable; the password is never echoed', async () => {
    const enabled = await home.run(['hep', 'enable', '--endpoint', `127.0.0.1:${collectorPort}`, '--capture-id', '9', '--password', 'pw-123', '--ttl', '1h30m', '--no-rtcp'])
    assert.equal(enabled.code, 0, enabled.stderr)
    assert.match(enabled.stderr, /HEP capture is on for 1h30m\./)
    assert.match(enabled.stdout, /^State\s+on$/m)
    assert.match(enabled.stdout, /^Time left\s+1h 30m/m)
    assert.match(enabled.stdout, /^RTCP\s+off$/m)
    assert.doesNotMatch(enabled.stdout + enabled.stderr, /pw-123/)
    const {body} = await home.json(['hep', 'status'])
    assert.equal(body.result.state, 'on')
    assert.equal(body.result.endpoint, `127.0.0.1:${collectorPort}`)
    assert.equal(body.result.captureId, 9)
    assert.equal(body.result.passwordSet, true)
    assert.equal(body.result.rtcp, false)
    assert.equal(body.result.enabledBy, 'command')
    assert.ok(body.result.timeLeftS > 5390 && body.result.timeLeftS <= 5400, String(body.result.timeLeftS))
    assert.doesNotMatch(JSON.stringify(body), /pw-123/)
    const status = (await home.json(['status'])).body.result.telemetry.hep
    assert.deepEqual(status, {enabled: true, target: `127.0.0.1:${collectorPort}`, state: 'on'})
    const disabled = await home.json(['hep', 'disable'])
    assert.equal(disabled.code, 0)
    assert.equal(disabled.body.result.state, 'off')
    assert.equal(disabled.body.result.lastOffReason, 'disabled')
    assert.equal((await home.json(['hep', 'disable'])).code, 0, 'disabling twice is fine')
  })

  it('a host name that does not resolve fails with CC_ERR_HEP_ENDPOINT_UNRESOLVABLE (exit 1)', async () => {
    const {code, body} = await home.json(['hep', 'enable', '--endpoint', 'collector.invalid:9060'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_HEP_ENDPOINT_UNRESOLVABLE')
    assert.match(body.error?.message ?? '', /collector\.invalid/)
  })
})
