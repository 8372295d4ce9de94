// The generated reference pages must match what the code generates now, and
// the hand-written notes beside the generated tables must cover exactly the
// metric families and admin methods the code has.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {Registry} from 'prom-client'
import {createMetricFamilies} from '../../daemon/telemetry/metrics/families.js'
import {ADMIN_METHOD_NAMES} from '../../src/admin/protocol.js'
import {CDR_COLUMN_TYPES} from '../../src/cdr/columns.js'
import {ROOT} from '../helpers/cli.js'

/** The `### \`name\`` headings of a page. */
const sectionNames = (page: string): string[] => [...readFileSync(join(ROOT, 'docs', page), 'utf8').matchAll(/^### `([^`]+)`$/gm)].map((match) => match[1] ?? '')

describe('reference pages', () => {
  it('docs/configuration.md, metrics.md and admin-protocol.md are up to date (run `npm run docs` after changing the config schema, a metric family or an admin method)', (t) => {
    const fresh = mkdtempSync(join(tmpdir(), 'cc-docs-'))
    t.after(() => rmSync(fresh, {recursive: true, force: true}))
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'gen-docs.js'), fresh])
    const generated = readdirSync(fresh).sort()
    assert.deepEqual(generated, ['admin-protocol.md', 'configuration.md', 'metrics.md'])
    for (const file of generated) {
      assert.equal(readFileSync(join(ROOT, 'docs', file), 'utf8'), readFileSync(join(fresh, file), 'utf8'), `docs/${file} is stale`)
    }
  })

  it('docs/metrics.md says when each metric family is recorded, and names no other', () => {
    const registry = new Registry()
    createMetricFamilies(registry)
    const families = registry.getMetricsAsArray().map((metric) => metric.name).sort()
    assert.deepEqual(sectionNames('metrics.md').sort(), families)
  })

  it('docs/admin-protocol.md describes each admin method, and no other', () => {
    assert.deepEqual(sectionNames('admin-protocol.md').sort(), [...ADMIN_METHOD_NAMES].sort())
  })

  it('docs/cdr.md lists every CDR column with its ClickHouse type, in table order', () => {
    const page = readFileSync(join(ROOT, 'docs', 'cdr.md'), 'utf8')
    const rows = [...page.matchAll(/^\| `([a-z0-9_]+)` \| `([^`]+)` \|/gm)].map((match) => [match[1], match[2]])
    assert.deepEqual(rows, Object.entries(CDR_COLUMN_TYPES))
  })
})
