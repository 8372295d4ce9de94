#!/usr/bin/env node
// Bundles the CLI (commands, src/, @oclif/core, zod, yaml, …) into dist/cli/.
// Startup of a command is dominated by module resolution and compilation; one
// file cuts that by more than half (see `npm run bench:status`). With splitting,
// what commands import with `await import()` inside run() goes to chunks that
// only those commands read; cli.js and its static chunks are what every
// command loads (see src/cli/commands.ts).
import {rmSync} from 'node:fs'
import {readFile} from 'node:fs/promises'
import {build} from 'esbuild'

// Two start-up costs of @oclif/core that every command paid, removed at bundle
// time with the same outcome (see "Benchmark" in docs/install.md):
// - checkNodeVersion() loads semver, then throws inside its own try/catch on
//   __dirname, which an ES module bundle does not have: the check never ran.
//   Defining the variable it tests skips it before semver loads (~9 ms).
// - Plugin.load() sorts the command ids with localeCompare, whose first call
//   initialises ICU collation (~15 ms). For ids of lowercase letters, `:` and
//   `-` (every ClutchCall command) ICU's root order is the code-point order,
//   so those are compared directly; any other id still goes to localeCompare.
const OCLIF_ENGINE_CHECK_OFF = {'process.env.OCLIF_DISABLE_ENGINE_WARNING': '"1"'}
const OCLIF_ID_SORT = {
  file: /@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/,
  from: '.sort((a, b) => a.id.localeCompare(b.id))',
  to: '.sort((a, b) => (/^[a-z:-]*$/.test(a.id) && /^[a-z:-]*$/.test(b.id) ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.id.localeCompare(b.id)))',
}
const oclifIdSort = {
  name: 'oclif-id-sort',
  setup(builder) {
    builder.onLoad({filter: OCLIF_ID_SORT.file}, async ({path}) => {
      const source = await readFile(path, 'utf8')
      // An @oclif/core that sorts differently must be looked at again, not bundled as is.
      if (!source.includes(OCLIF_ID_SORT.from)) throw new Error(`${path}: the command sort this build rewrites is gone; check scripts/bundle-cli.js against this @oclif/core`)
      return {contents: source.replace(OCLIF_ID_SORT.from, OCLIF_ID_SORT.to), loader: 'js'}
    })
  },
}

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
  // Half the source to read and compile on every start (1.0 → 0.66 MB for cli.js,
  // ~7 ms of `status --json`); names are kept, so stacks and class names read the same.
  minifyWhitespace: true,
  minifySyntax: true,
  // oclif requires TypeScript only to run commands from .ts sources, which the bundle never does;
  // ink imports react-devtools-core only when DEV=true (an optional peer, not installed);
  // chdb is a native addon (and an optional dependency), loaded from node_modules by `cdr query|stats` only.
  // @matrixai/quic loads its native build (@matrixai/quic-linux-x64) from node_modules: `smoke` only, when it places a QUIC call.
  external: ['typescript', 'react-devtools-core', 'chdb', '@matrixai/quic'],
  logLevel: 'warning',
  define: OCLIF_ENGINE_CHECK_OFF,
  plugins: [oclifIdSort],
  // Code in a bundle still needs `require` for the CommonJS modules it inlines.
  banner: {js: "import {createRequire as __ccCreateRequire} from 'node:module'; const require = __ccCreateRequire(import.meta.url);"},
})
