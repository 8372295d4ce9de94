// `config init` as an operator runs it: the file it writes is accepted by
// `config validate`, and it never replaces a file without --force.
import assert from 'node:assert/strict'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {after, describe, it} from 'node:test'
import {TestHome} from '../helpers/cli.js'

describe('clutchcall config init', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('writes a sample that config validate accepts, mode 0600, and names it in --json', async () => {
    const file = home.path('etc', 'first.yaml')
    const {code, body} = await home.json(['config', 'init', file])
    assert.equal(code, 0)
    assert.deepEqual({file: body.result.file, overwritten: body.result.overwritten}, {file, overwritten: false})
    assert.equal(statSync(file).mode & 0o777, 0o600)
    const validate = await home.json(['config', 'validate', file])
    assert.equal(validate.code, 0, validate.stdout)
    assert.equal(validate.body.result.valid, true)
    assert.deepEqual(validate.body.result.tenants, ['acme'])
  })

  it('refuses to replace an existing file without --force (exit 2), and replaces it with --force', async () => {
    const file = home.writeConfig('metrics:\n  enabled: false\n', 'mine.yaml')
    const refused = await home.json(['config', 'init', file])
    assert.equal(refused.code, 2)
    assert.equal(refused.body.error?.code, 'CC_ERR_CONFIG_EXISTS')
    assert.equal(readFileSync(file, 'utf8'), 'metrics:\n  enabled: false\n', 'the file is untouched')
    const human = await home.run(['config', 'init', file])
    assert.equal(human.code, 2)
    assert.match(human.stderr, /CC_ERR_CONFIG_EXISTS/)
    assert.match(human.stderr, /--force/)
    const forced = await home.json(['config', 'init', file, '--force'])
    assert.equal(forced.code, 0)
    assert.equal(forced.body.result.overwritten, true)
    assert.match(readFileSync(file, 'utf8'), /^tenants:$/m)
  })

  it('without FILE writes clutchcall.yaml in the home, where the daemon finds it', async () => {
    const {code, stdout} = await home.run(['config', 'init'])
    assert.equal(code, 0)
    assert.match(stdout, /^Wrote .*clutchcall\.yaml$/m)
    const validate = await home.json(['config', 'validate'])
    assert.equal(validate.body.result.file, home.path('clutchcall.yaml'))
    assert.equal(validate.body.result.valid, true)
  })

  it('--stdout and "-" print the sample and write nothing', async () => {
    const printed = await home.run(['config', 'init', '--stdout'])
    assert.equal(printed.code, 0)
    assert.match(printed.stdout, /^# ClutchCall gateway config/)
    assert.match(printed.stdout, /^dialplans:$/m)
    const dash = await home.run(['config', 'init', '-'])
    assert.equal(dash.stdout, printed.stdout)
    const json = await home.json(['config', 'init', '--stdout'])
    assert.equal(json.body.result.file, null)
    assert.equal(json.body.result.content, printed.stdout)
    writeFileSync(home.path('printed.yaml'), printed.stdout)
    assert.equal((await home.json(['config', 'validate', home.path('printed.yaml')])).code, 0)
  })

  it('--config names the file to write when FILE is not given', async () => {
    const file = home.path('via-flag.yaml')
    const {code, body} = await home.json(['config', 'init', '--config', file])
    assert.equal(code, 0)
    assert.equal(body.result.file, file)
    assert.equal((await home.json(['config', 'validate', file])).code, 0)
  })
})
