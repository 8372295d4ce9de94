// A home or admin socket this user may not use is a permission error that
// names the path and its owner, not an internal error. Runs the CLI as the
// unprivileged user `nobody` (setpriv), so it needs root.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {chmodSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {after, describe, it} from 'node:test'
import {BIN, type CliResult, type JsonEnvelope, TestHome} from '../helpers/cli.js'

const asNobody = (home: TestHome, args: readonly string[]): Promise<CliResult & {body: JsonEnvelope}> =>
  new Promise((resolve) => {
    const command = ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, BIN, ...args, '--json']
    execFile('setpriv', command, {env: {...home.env, HOME: '/tmp'}, timeout: 60_000}, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0
      let body: JsonEnvelope
      try {
        body = JSON.parse(stdout) as JsonEnvelope
      } catch {
        throw new Error(`stdout is not one envelope (exit ${code}):\n${stdout}\n${stderr}`)
      }
      resolve({code, stdout, stderr, body})
    })
  })

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0

describe('permission errors', {skip: isRoot ? false : 'needs root to run the CLI as nobody'}, () => {
  const home = new TestHome()
  let server: Server | undefined
  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    await home.cleanup()
  })

  it('a home of another user (mode 0700) names the home and its owner', async () => {
    chmodSync(home.dir, 0o700)
    const {code, body} = await asNobody(home, ['status'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_PERMISSION_DENIED')
    assert.equal(body.error?.details.path, home.path('admin.sock'))
    assert.equal(body.error?.details.blocker, home.dir)
    assert.equal(body.error?.details.owner, 'root')
    assert.equal(body.error?.details.user, 'nobody')
    assert.match(body.error?.message ?? '', new RegExp(`cannot connect to ${home.path('admin.sock')} \\(as nobody\\); ${home.dir} belongs to root with mode 0700`))
    const listing = await asNobody(home, ['recordings', 'list'])
    assert.equal(listing.body.error?.code, 'CC_ERR_PERMISSION_DENIED')
    assert.match(listing.body.error?.message ?? '', /cannot list .*recordings/)
  })

  it('an admin socket of another user (mode 0600) names the socket and its owner', async () => {
    chmodSync(home.dir, 0o755)
    server = createServer()
    await new Promise<void>((resolve) => server?.listen(home.path('admin.sock'), resolve))
    chmodSync(home.path('admin.sock'), 0o600)
    const {code, body} = await asNobody(home, ['calls', 'list'])
    assert.equal(code, 1)
    assert.equal(body.error?.code, 'CC_ERR_PERMISSION_DENIED')
    assert.equal(body.error?.details.blocker, 'it')
    assert.match(body.error?.message ?? '', /admin\.sock \(as nobody\); it belongs to root with mode 0600/)
    assert.match(body.error?.hint ?? '', /Run the command as root/)
  })
})
