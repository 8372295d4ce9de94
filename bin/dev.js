#!/usr/bin/env node
// Runs the CLI from a fresh build of the TypeScript sources: `npm run build` first
// keeps one compiler (tsc) and no loader hooks between source and what ships.
import {execFileSync} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {execute} from '@oclif/core'

execFileSync('npm', ['run', '--silent', 'build'], {cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: 'inherit'})
await execute({development: false, dir: import.meta.url})
