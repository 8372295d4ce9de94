import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {completionScript, completionTable} from '../../../../src/cli/completion.js'

const COMMANDS = [
  {id: 'status', flags: ['json', 'config', 'c']},
  {id: 'calls:tail', flags: ['tenant', 'json']},
  {id: 'calls:hangup', flags: ['cause']},
  {id: 'autocomplete', flags: [], argValues: ['bash', 'zsh']},
]

describe('completion', () => {
  it('the table maps each path to its next words: topics, sub-commands, flags, argument values', () => {
    const table = completionTable(COMMANDS)
    assert.deepEqual(table.get(''), ['--help', '--version', 'autocomplete', 'calls', 'status'])
    assert.deepEqual(table.get('calls'), ['hangup', 'tail'])
    assert.deepEqual(table.get('calls tail'), ['--json', '--tenant'])
    assert.deepEqual(table.get('status'), ['--config', '--json', '-c'])
    assert.deepEqual(table.get('autocomplete'), ['bash', 'zsh'])
  })

  it('bash and zsh scripts register the same function; zsh through bashcompinit', () => {
    const bash = completionScript('bash', 'clutchcall', COMMANDS)
    const zsh = completionScript('zsh', 'clutchcall', COMMANDS)
    assert.match(bash, /^complete -o default -F _clutchcall_complete clutchcall$/m)
    assert.doesNotMatch(bash, /bashcompinit/)
    assert.match(zsh, /^bashcompinit$/m)
    assert.match(zsh, /^complete -o default -F _clutchcall_complete clutchcall$/m)
    assert.match(bash, /^ {4}'calls tail'\) words='--json --tenant' ;;$/m)
  })
})
