// Usage errors exit 2 with CC_ERR_USAGE, in the JSON envelope too; help has examples.
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {TestHome} from '../helpers/cli.js'

describe('usage errors and help', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('an unknown flag exits 2', async () => {
    const {code, stderr} = await home.run(['status', '--frobnicate'])
    assert.equal(code, 2)
    assert.match(stderr, /CC_ERR_USAGE/)
    assert.match(stderr, /frobnicate/)
  })

  it('a mistyped flag names the nearest flag of that command, in the envelope too', async () => {
    const {code, stderr} = await home.run(['calls', 'list', '--tennant', 'acme'])
    assert.equal(code, 2)
    assert.match(stderr, /Error \(CC_ERR_USAGE\): Nonexistent flag: --tennant \(did you mean --tenant\?\)/)
    const {body} = await home.json(['cdr', 'query', '--limt', '5'])
    assert.equal(body.status, 2)
    assert.equal(body.error?.code, 'CC_ERR_USAGE')
    assert.match(body.error?.message ?? '', /--limt \(did you mean --limit\?\)/)
    const far = await home.json(['status', '--frobnicate'])
    assert.equal(far.body.error?.message, 'Nonexistent flag: --frobnicate')
  })

  it('a bad flag value exits 2 with the envelope on stdout under --json', async () => {
    const {code, body} = await home.json(['stop', '--timeout', 'soon'])
    assert.equal(code, 2)
    assert.equal(body.status, 2)
    assert.equal(body.error?.code, 'CC_ERR_USAGE')
    assert.match(body.error?.message ?? '', /timeout/)
  })

  it('an out-of-range flag value exits 2', async () => {
    const {code} = await home.run(['stop', '--timeout', '-5'])
    assert.equal(code, 2)
  })

  it('every command has --json and examples in its help', async () => {
    for (const command of [['start'], ['stop'], ['status'], ['config', 'validate'], ['config', 'show']]) {
      const {code, stdout} = await home.run([...command, '--help'])
      assert.equal(code, 0, command.join(' '))
      assert.match(stdout, /--json/, command.join(' '))
      assert.match(stdout, /EXAMPLES/, command.join(' '))
    }
  })
})
