#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test (or under the folders given) with
// node's test runner. Node 20 treats every .js file below a `test` folder as a
// test file, which would run helpers and fixtures too; naming the files avoids that.
import {spawnSync} from 'node:child_process'
import {readdirSync, statSync} from 'node:fs'
import {join, sep} from 'node:path'

const roots = process.argv.slice(2).filter((arg) => !arg.startsWith('--'))
const passThrough = process.argv.slice(2).filter((arg) => arg.startsWith('--'))
const find = (path) => (statSync(path).isDirectory() ? readdirSync(path).sort().flatMap((entry) => find(join(path, entry))) : path.endsWith('.test.js') ? [path] : [])
const files = (roots.length > 0 ? roots : ['dist/test']).flatMap(find)
if (files.length === 0) {
  process.stderr.write('no test files found\n')
  process.exit(1)
}
// Unit test files run two at a time: they start no peers and hold no timing that another file's load
// could upset (measured: 148 files in 43 s instead of 82 s). Integration and e2e files run one at a
// time, as Node's runner does on two cores: they start daemons, SIPp, ClickHouse and load.
const unit = files.filter((file) => file.split(sep).includes('unit'))
const others = files.filter((file) => !unit.includes(file))
let status = 0
for (const [group, concurrency] of [[unit, 2], [others, 1]]) {
  if (group.length === 0) continue
  const concurrencyFlag = passThrough.some((arg) => arg.startsWith('--test-concurrency')) ? [] : [`--test-concurrency=${concurrency}`]
  const result = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...concurrencyFlag, ...passThrough, ...group], {stdio: 'inherit'})
  if (result.status !== 0) status = result.status ?? 1
}
process.exit(status)
