// The config keys of the hardening limits: their defaults and their bounds.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../../../src/config/load.js'
import {CCError} from '../../../../src/errors.js'

const problems = (text: string): string[] => {
  try {
    parseConfigText(text, 'test.yaml')
  } catch (error) {
    assert.ok(error instanceof CCError)
    return (error.data as {problems: Array<{path: string; message: string}>}).problems.map((problem) => `${problem.path}: ${problem.message}`)
  }
  assert.fail('expected the config to be rejected')
}

const JWT = 'keys: [{ kty: oct, k: c2VjcmV0 }], issuer: https://auth.example/, audience: clutchcall'

describe('admin.max_queued_bytes', () => {
  it('defaults to 1 MiB and takes 16 KiB to 1 GiB', () => {
    assert.equal(parseConfigText('', 'empty.yaml').admin.max_queued_bytes, 1_048_576)
    assert.equal(parseConfigText('admin:\n  max_queued_bytes: 16384\n', 'small.yaml').admin.max_queued_bytes, 16_384)
    assert.match(problems('admin:\n  max_queued_bytes: 1000\n').join('\n'), /^admin\.max_queued_bytes: /)
    assert.match(problems('admin:\n  max_queued_bytes: 2000000000\n').join('\n'), /^admin\.max_queued_bytes: /)
  })
})

describe('sip.user_agent', () => {
  it('defaults to ClutchCall, may be empty, and must be one line of printable ASCII', () => {
    assert.equal(parseConfigText('', 'empty.yaml').sip.user_agent, 'ClutchCall')
    assert.equal(parseConfigText('sip:\n  user_agent: ""\n', 'blank.yaml').sip.user_agent, '')
    assert.equal(parseConfigText('sip:\n  user_agent: "Acme SBC/2.1 (edge)"\n', 'set.yaml').sip.user_agent, 'Acme SBC/2.1 (edge)')
    assert.deepEqual(problems('sip:\n  user_agent: "two\\r\\nX-Injected: yes"\n'), ['sip.user_agent: must be printable ASCII on one line'])
    assert.match(problems(`sip:\n  user_agent: "${'x'.repeat(201)}"\n`).join('\n'), /^sip\.user_agent: /)
  })
})

describe('auth.jwt token lifetime', () => {
  it('requires exp and caps the lifetime at 24 h by default', () => {
    const jwt = parseConfigText(`auth:\n  jwt: { ${JWT} }\n`, 'jwt.yaml').auth.jwt
    assert.equal(jwt?.require_exp, true)
    assert.equal(jwt?.max_token_lifetime_s, 86_400)
  })

  it('takes require_exp: false and a lifetime of 1 s to a year', () => {
    const jwt = parseConfigText(`auth:\n  jwt: { ${JWT}, require_exp: false, max_token_lifetime_s: 600 }\n`, 'jwt.yaml').auth.jwt
    assert.equal(jwt?.require_exp, false)
    assert.equal(jwt?.max_token_lifetime_s, 600)
    assert.match(problems(`auth:\n  jwt: { ${JWT}, max_token_lifetime_s: 0 }\n`).join('\n'), /^auth\.jwt\.max_token_lifetime_s: /)
  })
})
