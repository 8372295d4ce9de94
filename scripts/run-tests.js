#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test (or under the folders given) with
// node's test runner. Node 20 treats every .js file below a `test` folder as a
// test file, which would run helpers and fixtures too; naming the files avoids that.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--'))
const find = (path) => (statSync(path).isDirectory() ? readdirSync(path).sort().flatMap((entry) => find(join(path, entry))) : path.endsWith('.test.js') ? [path] : [])
const files = (roots.length > 0 ? roots : ['dist/test']).flatMap(find)
if (files.length === 0) {
  process.stderr.write('no test files found\n')
  process.exit(1)
}
const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...passThrough, ...files], {stdio: 'inherit'})
process.exit(result.status ?? 1)
