// The documented install: `npm install -g --ignore-scripts .` links the
// `clutchcall` command (and its man pages) to this checkout, and that command
// works from any working directory. Checked twice: in a private npm prefix,
// and on this machine's PATH, where the test setup put it the documented way.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, realpathSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {it} from 'node:test'
import {promisify} from 'node:util'
import {BIN, ROOT, TestHome} from '../helpers/cli.js'

const run = promisify(execFile)
const {version} = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {version: string}

it('npm install -g links a clutchcall that runs from any directory, with its man pages', async (t) => {
  const prefix = mkdtempSync(join(tmpdir(), 'cc-prefix-'))
  const elsewhere = mkdtempSync(join(tmpdir(), 'cc-cwd-'))
  const home = new TestHome()
  t.after(async () => {
    await home.cleanup()
    rmSync(prefix, {recursive: true, force: true})
    rmSync(elsewhere, {recursive: true, force: true})
  })
  await run('npm', ['install', '-g', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', prefix, ROOT], {cwd: ROOT})
  assert.equal(realpathSync(join(prefix, 'bin', 'clutchcall')), realpathSync(BIN), 'the global bin is a link to bin/run.js: no wrapper process')
  assert.ok(existsSync(join(prefix, 'share', 'man', 'man1', 'clutchcall-start.1')), '`man clutchcall-start` works after the install')

  const env = {...home.env, PATH: `${join(prefix, 'bin')}${delimiter}${process.env.PATH ?? ''}`}
  const {stdout} = await run('clutchcall', ['--version'], {env, cwd: elsewhere})
  assert.match(stdout, new RegExp(`^clutchcall/${version.replace(/\./g, '\\.')} `))
  // A command that loads the config and talks to the admin socket, not only oclif's --version.
  const status = await run('clutchcall', ['status', '--json'], {env, cwd: elsewhere}).then(
    () => assert.fail('status succeeded with no daemon running'),
    (error: {code: number; stdout: string}) => error,
  )
  assert.equal(status.code, 1)
  assert.equal(JSON.parse(status.stdout).error.code, 'CC_ERR_DAEMON_NOT_RUNNING')
})

it('the clutchcall on the PATH is this checkout (the README install ran)', async () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'cc-cwd-'))
  try {
    const found = await run('sh', ['-c', 'command -v clutchcall'], {cwd: elsewhere}).catch(() => ({stdout: ''}))
    assert.notEqual(found.stdout.trim(), '', '`clutchcall` is on the PATH: run `npm install -g --ignore-scripts .` in the checkout')
    assert.equal(realpathSync(found.stdout.trim()), realpathSync(BIN), `${found.stdout.trim()} runs this checkout's bin/run.js`)
    const {stdout} = await run('clutchcall', ['--version'], {cwd: elsewhere})
    assert.match(stdout, new RegExp(`^clutchcall/${version.replace(/\./g, '\\.')} `))
  } finally {
    rmSync(elsewhere, {recursive: true, force: true})
  }
})
