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
