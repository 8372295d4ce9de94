// What an operator expects of any CLI: version, help, completion, and a
// helpful answer to a mistyped command.
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {ROOT, runProgram, TestHome} from '../helpers/cli.js'

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}).version

describe('version and help', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('`version`, -v and --version print the version', async () => {
    const command = await home.run(['version'])
    assert.equal(command.code, 0)
    assert.match(command.stdout, new RegExp(`^clutchcall ${VERSION.replaceAll('.', '\\.')} \\(admin protocol \\d+, node `))
    for (const flag of ['-v', '--version']) {
      const short = await home.run([flag])
      assert.equal(short.code, 0, flag)
      assert.ok(short.stdout.startsWith(`clutchcall/${VERSION} `), short.stdout)
    }
    const {code, body} = await home.json(['version'])
    assert.equal(code, 0)
    assert.equal(body.result.version, VERSION)
    assert.equal(body.result.node, process.versions.node)
  })

  it('`help` lists the topics, `help TOPIC` its commands, `help COMMAND` its flags; -h works too', async () => {
    const all = await home.run(['help'])
    assert.equal(all.code, 0)
    for (const word of ['calls', 'cdr', 'recordings', 'status', 'version', 'autocomplete']) assert.match(all.stdout, new RegExp(`\\b${word}\\b`), word)
    const topic = await home.run(['help', 'calls'])
    assert.match(topic.stdout, /calls tail\s+Follow live calls/)
    const command = await home.run(['help', 'calls', 'hangup'])
    assert.equal(command.code, 0)
    assert.match(command.stdout, /--cause/)
    const short = await home.run(['status', '-h'])
    assert.equal(short.code, 0)
    assert.match(short.stdout, /USAGE/)
    const {body} = await home.json(['help', 'cdr', 'query'])
    assert.equal(body.result.command, 'cdr query')
    assert.ok(body.result.flags.some((flag: {name: string}) => flag.name === '--after'))
    const listing = await home.json(['help', 'recordings'])
    assert.deepEqual(listing.body.result.commands.map((entry: {command: string}) => entry.command), ['recordings list', 'recordings path'])
  })

  it('`help` of an unknown command is CC_ERR_UNKNOWN_COMMAND with a suggestion', async () => {
    const {code, body} = await home.json(['help', 'cdr', 'qeury'])
    assert.equal(code, 2)
    assert.equal(body.error?.code, 'CC_ERR_UNKNOWN_COMMAND')
    assert.equal(body.error?.data.did_you_mean, 'cdr query')
  })
})

describe('unknown commands', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  it('a typo gets exit 2, CC_ERR_UNKNOWN_COMMAND and the nearest command on stderr', async () => {
    const {code, stdout, stderr} = await home.run(['stauts'])
    assert.equal(code, 2)
    assert.equal(stdout, '')
    assert.match(stderr, /^Error \(CC_ERR_UNKNOWN_COMMAND\): Unknown command `stauts`; did you mean `status`\?\nTry: /)
  })

  it('with --json: exactly one envelope on stdout, the suggestion in data', async () => {
    const {code, body, stderr} = await home.json(['calls', 'tial'])
    assert.equal(code, 2)
    assert.equal(stderr, '')
    assert.equal(body.status, 2)
    assert.equal(body.error?.code, 'CC_ERR_UNKNOWN_COMMAND')
    assert.equal(body.error?.exitCode, 2)
    assert.match(body.error?.message ?? '', /Unknown command `calls tial`; did you mean `calls tail`\?/)
    assert.equal(body.error?.data.did_you_mean, 'calls tail')
  })

  it('a name like no command gets no suggestion', async () => {
    const {code, body} = await home.json(['frobnicate'])
    assert.equal(code, 2)
    assert.equal(body.error?.message, 'Unknown command `frobnicate`')
    assert.equal(body.error?.data.did_you_mean, null)
  })
})

describe('shell completion', () => {
  const home = new TestHome()
  after(() => home.cleanup())

  /** Sources the generated script in bash and asks it to complete `words` (the last one partial). */
  const complete = async (script: string, words: string[]): Promise<string[]> => {
    const line = ['clutchcall', ...words].map((word) => `'${word}'`).join(' ')
    const program = `${script}\nCOMP_WORDS=(${line}); COMP_CWORD=${words.length}; _clutchcall_complete; printf '%s\\n' "\${COMPREPLY[@]}"`
    const {code, stdout, stderr} = await runProgram('bash', ['--norc', '--noprofile', '-c', program])
    assert.equal(code, 0, stderr)
    return stdout.split('\n').filter(Boolean).sort()
  }

  it('the bash script completes commands, sub-commands and flags', async () => {
    const {code, stdout} = await home.run(['autocomplete', 'bash'])
    assert.equal(code, 0)
    assert.match(stdout, /complete -o default -F _clutchcall_complete clutchcall/)
    assert.deepEqual(await complete(stdout, ['st']), ['start', 'status', 'stop'])
    assert.deepEqual(await complete(stdout, ['calls', 't']), ['tail'])
    assert.deepEqual(await complete(stdout, ['rec']), ['recordings'])
    assert.deepEqual(await complete(stdout, ['cdr', 'query', '--tenant', 'acme', '--af']), ['--after'])
    assert.deepEqual(await complete(stdout, ['calls', 'hangup', '--c']), ['--cause', '--config'])
    assert.deepEqual(await complete(stdout, ['autocomplete', '']), ['--config', '--json', '-c', 'bash', 'zsh'])
  })

  it('zsh gets the same completion through bashcompinit; --json carries the script', async () => {
    const {code, body} = await home.json(['autocomplete', 'zsh'])
    assert.equal(code, 0)
    assert.equal(body.result.shell, 'zsh')
    assert.match(body.result.script, /bashcompinit/)
    assert.match(body.result.script, /'calls tail'\) words=/)
  })

  it('an unknown shell is a usage error', async () => {
    const {code, body} = await home.json(['autocomplete', 'fish'])
    assert.equal(code, 2)
    assert.equal(body.error?.code, 'CC_ERR_USAGE')
    assert.match(body.error?.message ?? '', /fish/)
  })
})
