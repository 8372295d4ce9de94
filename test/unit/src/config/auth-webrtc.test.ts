import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {redactSecrets, REDACTED} from '../../../../src/config/redact.js'
import {CCError} from '../../../../src/errors.js'

const failure = (text: string): CCError => {
  try {
    parseConfigText(text, 'test.yaml')
  } catch (error) {
    assert.ok(error instanceof CCError)
    return error
  }
  assert.fail('expected the config to be rejected')
}

const problemPaths = (error: CCError): string[] => (error.data as {problems: Array<{path: string}>}).problems.map((problem) => problem.path)

const JWT = 'issuer: https://auth.example/, audience: clutchcall'

describe('auth.jwt', () => {
  it('needs exactly one of jwks_url and keys', () => {
    const both = failure(`auth:\n  jwt: { jwks_url: https://auth.example/jwks.json, keys: [{ kty: oct, k: c2VjcmV0 }], ${JWT} }\n`)
    assert.equal(both.code, 'CC_ERR_CONFIG_INVALID')
    assert.deepEqual(problemPaths(both), ['auth.jwt'])
    assert.match(both.message, /auth\.jwt: give exactly one of jwks_url and keys/)
    const neither = failure(`auth:\n  jwt: { ${JWT} }\n`)
    assert.deepEqual(problemPaths(neither), ['auth.jwt'])
    assert.match(neither.message, /auth\.jwt: give exactly one of jwks_url and keys/)
  })

  it('can never allow the none algorithm', () => {
    const error = failure(`auth:\n  jwt: { jwks_url: https://auth.example/jwks.json, ${JWT}, algorithms: [none] }\n`)
    assert.deepEqual(problemPaths(error), ['auth.jwt.algorithms[0]'])
    assert.match(error.message, /line 2: auth\.jwt\.algorithms\[0\]/)
  })

  it('a full config parses with the defaults filled in', () => {
    const config = parseConfigText(
      `webrtc:\n  enabled: true\nauth:\n  jwt:\n    keys:\n      - { kty: EC, crv: P-256, x: f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU, y: x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0, kid: k1 }\n    ${JWT.replace(', ', '\n    ')}\n`,
      'full.yaml',
    )
    assert.equal(config.webrtc.enabled, true)
    assert.equal(config.webrtc.listen, '127.0.0.1:8089')
    assert.deepEqual(config.auth.jwt?.algorithms, ['RS256', 'ES256', 'EdDSA'])
    assert.equal(config.auth.jwt?.tenant_claim, 'tenant')
    assert.equal(config.auth.jwt?.clock_tolerance_s, 30)
    assert.equal(config.auth.jwt?.issuer, 'https://auth.example/')
    assert.equal(config.auth.jwt?.keys?.[0]?.kid, 'k1', 'JWK members other than kty are kept')
  })

  it('config show hides the secret of an oct key', () => {
    const config = parseConfigText(`auth:\n  jwt: { keys: [{ kty: oct, kid: shared, k: c3VwZXItc2VjcmV0LXNoYXJlZA }], ${JWT}, algorithms: [HS256] }\n`, 'oct.yaml')
    const redacted = redactSecrets(config)
    assert.equal(redacted.auth.jwt?.keys?.[0]?.k, REDACTED)
    assert.equal(redacted.auth.jwt?.keys?.[0]?.kid, 'shared')
    assert.doesNotMatch(JSON.stringify(redacted), /c3VwZXItc2VjcmV0LXNoYXJlZA/)
    assert.equal(config.auth.jwt?.keys?.[0]?.k, 'c3VwZXItc2VjcmV0LXNoYXJlZA', 'the original is untouched')
  })
})

describe('webrtc', () => {
  it('is off by default', () => {
    const config = parseConfigText('', 'empty.yaml')
    assert.equal(config.webrtc.enabled, false)
    assert.equal(config.auth.jwt, undefined)
  })

  it('cannot be enabled without auth.jwt', () => {
    const error = failure('webrtc:\n  enabled: true\n')
    assert.deepEqual(problemPaths(error), ['webrtc.enabled'])
    assert.match(error.message, /line 2: webrtc\.enabled: .*configure auth\.jwt/)
  })
})

describe('quic', () => {
  it('is off by default, on 127.0.0.1:4433, with limits that bound a hostile peer', () => {
    const config = parseConfigText('', 'empty.yaml')
    assert.equal(config.quic.enabled, false)
    assert.equal(config.quic.listen, '127.0.0.1:4433')
    assert.equal(config.quic.cert, undefined)
    assert.deepEqual(config.quic.limits, {
      max_connections: 1000,
      max_connections_per_source: 10,
      max_streams_per_connection: 16,
      max_stream_buffer_bytes: 65_536,
      handshake_timeout_ms: 5000,
      idle_timeout_ms: 30_000,
      auth_timeout_ms: 5000,
    })
  })

  it('cannot be enabled without auth.jwt', () => {
    const error = failure('quic:\n  enabled: true\n')
    assert.deepEqual(problemPaths(error), ['quic.enabled'])
    assert.match(error.message, /line 2: quic\.enabled: .*configure auth\.jwt/)
  })

  it('serves WebTransport only beside the QUIC listener, on 127.0.0.1:4434 and /v1/rpc by default', () => {
    const config = parseConfigText('', 'empty.yaml')
    assert.deepEqual(config.quic.webtransport, {enabled: false, listen: '127.0.0.1:4434', path: '/v1/rpc'})
    const alone = failure('quic:\n  webtransport:\n    enabled: true\n')
    assert.deepEqual(problemPaths(alone), ['quic.webtransport.enabled'])
    assert.match(alone.message, /set quic\.enabled too/)
    assert.deepEqual(problemPaths(failure('quic:\n  webtransport:\n    path: v1\n')), ['quic.webtransport.path'])
  })

  it('takes a certificate only with its key, and limits only in their ranges', () => {
    const certOnly = failure('quic:\n  cert: /etc/clutchcall/quic.crt\n')
    assert.deepEqual(problemPaths(certOnly), ['quic.key'])
    assert.match(certOnly.message, /give both quic\.cert and quic\.key, or neither/)
    const zero = failure('quic:\n  limits:\n    max_streams_per_connection: 0\n    unknown_limit: 1\n')
    assert.deepEqual(problemPaths(zero).sort(), ['quic.limits.max_streams_per_connection', 'quic.limits.unknown_limit'])
  })
})
