// scripts/lib/teardown.js stops what a benchmark part started: every SIPp
// child, admin connection and daemon, and its temporary home unless kept.
import assert from 'node:assert/strict'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {pathToFileURL} from 'node:url'
import {ROOT} from '../../../helpers/cli.js'

interface Teardown {
  running: Set<{kill(signal: string): void}>
  admins: Array<{close(): void}>
  daemons: Array<{stop(): void}>
  isStopping(): boolean
  stop(): void
  finish(): void
}
const {partTeardown} = (await import(pathToFileURL(join(ROOT, 'scripts/lib/teardown.js')).href)) as {partTeardown: (options: {home: string; keep: boolean}) => Teardown}

test('finish stops every child, admin connection and daemon, removes the home and lets go of Ctrl-C', () => {
  const home = mkdtempSync(join(tmpdir(), 'cc-teardown-'))
  const sigintBefore = process.listenerCount('SIGINT')
  const teardown = partTeardown({home, keep: false})
  assert.equal(process.listenerCount('SIGINT'), sigintBefore + 1, 'Ctrl-C is taken while the part runs')
  const done: string[] = []
  teardown.running.add({kill: (signal) => done.push(`sipp ${signal}`)})
  teardown.admins.push({close: () => done.push('admin closed')})
  teardown.daemons.push({stop: () => done.push('daemon a stopped')}, {stop: () => done.push('daemon b stopped')})
  teardown.finish()
  assert.deepEqual(done, ['sipp SIGKILL', 'admin closed', 'daemon a stopped', 'daemon b stopped'])
  assert.equal(existsSync(home), false, 'the temporary home is removed')
  assert.equal(process.listenerCount('SIGINT'), sigintBefore, 'Ctrl-C is let go')
})

test('keep leaves the home; stop() only marks the part as stopping', () => {
  const home = mkdtempSync(join(tmpdir(), 'cc-teardown-'))
  try {
    const teardown = partTeardown({home, keep: true})
    assert.equal(teardown.isStopping(), false)
    teardown.stop()
    assert.equal(teardown.isStopping(), true)
    teardown.finish()
    assert.equal(existsSync(home), true, 'KEEP=1 keeps the home to look at')
  } finally {
    rmSync(home, {recursive: true, force: true})
  }
})
