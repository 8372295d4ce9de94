// docs/telemetry-defaults.md states the embedded defaults and the tracing
// rule; this fails when the code changes them and the page was not updated.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {it} from 'node:test'
import {parseConfigText} from '../../../src/config/load.js'
import {DEFAULT_GRPC_TRACING_ENDPOINT, DEFAULT_TRACING_ENDPOINT, TRACING_COLLECTOR_SOURCES, TRACING_OFF_TEXT, TRACING_PROTOCOL_SOURCES, TRACING_PROTOCOLS} from '../../../src/config/tracing.js'
import {ROOT} from '../../helpers/cli.js'

const page = readFileSync(join(ROOT, 'docs', 'telemetry-defaults.md'), 'utf8')

it('docs/telemetry-defaults.md names the listen addresses the defaults bind', () => {
  const defaults = parseConfigText('', '(defaults)')
  assert.ok(page.includes(`\`${defaults.metrics.listen}\``), `metrics.listen ${defaults.metrics.listen}`)
  for (const listen of defaults.sip.listen) assert.ok(page.includes(`\`${listen.address}:${listen.port}\``), `sip.listen ${listen.address}:${listen.port}`)
  assert.ok(page.includes(`UDP ${defaults.rtp.port_min}–${defaults.rtp.port_max}`), 'the RTP range')
  assert.ok(page.includes(`\`${defaults.webrtc.listen}\``), `webrtc.listen ${defaults.webrtc.listen}`)
  assert.equal(defaults.tracing.enabled, false)
  assert.equal(defaults.heplify.enabled, false)
  assert.ok(page.includes(`kept ${defaults.cdr.retention_days} days`))
})

it('docs/telemetry-defaults.md has every tracing reason and source of the rule', () => {
  assert.ok(page.includes(DEFAULT_TRACING_ENDPOINT))
  for (const [reason, text] of Object.entries(TRACING_OFF_TEXT)) {
    assert.ok(page.includes(`\`off (${text})\``), `status text of ${reason}`)
    assert.ok(page.includes(`reason: "${reason}"`), `reason ${reason}`)
  }
  for (const source of TRACING_COLLECTOR_SOURCES) assert.ok(page.includes(`configuredBy: "${source}"`), `configuredBy ${source}`)
})

it('docs/telemetry-defaults.md has the protocol rule: every protocol, the setting that chooses it, the gRPC default endpoint, http/json refused', () => {
  assert.ok(page.includes(DEFAULT_GRPC_TRACING_ENDPOINT))
  for (const protocol of TRACING_PROTOCOLS) assert.ok(page.includes(`\`${protocol}\``), protocol)
  for (const source of TRACING_PROTOCOL_SOURCES) assert.ok(page.includes(`protocolSetBy: "${source}"`), `protocolSetBy ${source}`)
  assert.ok(page.includes('`http/json` is refused'))
})
