// The checked-in man pages must match what the command metadata generates now.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {it} from 'node:test'
import {ROOT} from '../helpers/cli.js'

it('man/ is up to date with the commands (run `npm run man` after changing a command)', (t) => {
  const fresh = mkdtempSync(join(tmpdir(), 'cc-man-'))
  t.after(() => rmSync(fresh, {recursive: true, force: true}))
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-man.js'), fresh])
  const generated = readdirSync(fresh).sort()
  const checkedIn = readdirSync(join(ROOT, 'man')).filter((file) => file.endsWith('.1')).sort()
  assert.deepEqual(checkedIn, generated, 'one page per command, no leftovers')
  assert.ok(generated.includes('clutchcall-config-validate.1'))
  for (const file of generated) {
    assert.equal(readFileSync(join(ROOT, 'man', file), 'utf8'), readFileSync(join(fresh, file), 'utf8'), `man/${file} is stale`)
  }
  // `npm install -g` links exactly the pages package.json lists into the system's man path.
  const pjson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {man?: string[]}
  assert.deepEqual(pjson.man, generated.map((file) => `./man/${file}`), 'package.json "man" lists every page')
})
