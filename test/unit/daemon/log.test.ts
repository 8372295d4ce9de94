// daemon.log's destination: a turn's lines leave together at the end of the
// turn, in order, and a daemon that exits (process.exit, a fatal error's
// path) writes what is pending first.
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {pathToFileURL} from 'node:url'
import {createLogger} from '../../../daemon/log.js'

const dir = mkdtempSync(join(tmpdir(), 'cc-log-'))
after(() => rmSync(dir, {recursive: true, force: true}))

const linesOf = (file: string): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe('daemon log file', () => {
  it('writes the lines of a turn at its end, in order, into a file only its user reads', async () => {
    const file = join(dir, 'sub', 'daemon.log')
    const log = createLogger({foreground: false, logFile: file, node: 'gw-test'})
    log.info({n: 1}, 'first')
    log.child({call_sid: 'CA1'}).warn({n: 2}, 'second')
    log.info({n: 3}, 'third')
    assert.equal(readFileSync(file, 'utf8'), '', 'nothing written during the turn')
    await new Promise((resolve) => setImmediate(resolve))
    const lines = linesOf(file)
    assert.deepEqual(lines.map((line) => [line.msg, line.n, line.node]), [['first', 1, 'gw-test'], ['second', 2, 'gw-test'], ['third', 3, 'gw-test']])
    assert.equal(lines[1]?.call_sid, 'CA1')
    assert.equal(statSync(file).mode & 0o777, 0o600)
    log.info('next turn')
    log.flush()
    assert.equal(linesOf(file).at(-1)?.msg, 'next turn', 'flush() writes at once')
  })

  it('writes what is pending when the process exits in the same turn', () => {
    const file = join(dir, 'exit.log')
    const script = `import {createLogger} from ${JSON.stringify(pathToFileURL(join(import.meta.dirname, '../../../daemon/log.js')).href)}
const log = createLogger({foreground: false, logFile: ${JSON.stringify(file)}})
log.fatal('about to exit')
process.exit(3)`
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'})
    assert.equal(child.status, 3, child.stderr)
    assert.deepEqual(linesOf(file).map((line) => [line.level, line.msg]), [[60, 'about to exit']])
  })
})
