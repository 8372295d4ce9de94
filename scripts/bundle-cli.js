#!/usr/bin/env node
// Bundles the CLI (commands, src/, @oclif/core, zod, yaml, …) into dist/cli/.
// Startup of a command is dominated by module resolution and compilation; one
// file cuts that by more than half (see `npm run bench:status`). With splitting,
// what commands import with `await import()` inside run() goes to chunks that
// only those commands read; cli.js and its static chunks are what every
// command loads (see src/cli/commands.ts).
import {rmSync} from 'node:fs'
import {build} from 'esbuild'

// A fresh folder each build: chunks of earlier builds must not linger and ship.
rmSync('dist/cli', {recursive: true, force: true})
await build({
  entryPoints: {cli: 'dist/src/cli/commands.js'},
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // oclif requires TypeScript only to run commands from .ts sources, which the bundle never does;
  // ink imports react-devtools-core only when DEV=true (an optional peer, not installed);
  // chdb is a native addon (and an optional dependency), loaded from node_modules by `cdr query|stats` only.
  external: ['typescript', 'react-devtools-core', 'chdb'],
  logLevel: 'warning',
  // Code in a bundle still needs `require` for the CommonJS modules it inlines.
  banner: {js: "import {createRequire as __ccCreateRequire} from 'node:module'; const require = __ccCreateRequire(import.meta.url);"},
})
