// Every relative link in README.md and docs/*.md leads to a file of the
// project, and no page points at the team's design sheet, which users never see.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {describe, it} from 'node:test'
import {ROOT} from '../helpers/cli.js'

/**
 * Pages written on other branches at the same time as this test; linked from
 * README.md before they exist here. Delete this list once they are merged.
 */
const PENDING_DOCS: readonly string[] = ['docs/telemetry-defaults.md', 'docs/install.md', 'docs/dashboards.md', 'docs/cli.md', 'docs/call-accounting.md']

const pages = (): string[] => [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
]

/** Markdown link targets outside code: `[text](target)` and `[text]: target`. */
const linkTargets = (markdown: string): string[] => {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)|^\[[^\]]+\]:\s*(\S+)/gm)].map((match) => match[1] ?? match[2] ?? '')
}

describe('documentation links', () => {
  it('every relative link in README.md and docs/ points at an existing file', () => {
    const broken: string[] = []
    for (const page of pages()) {
      for (const target of linkTargets(readFileSync(join(ROOT, page), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue
        const file = resolve(dirname(join(ROOT, page)), decodeURIComponent(target.split('#')[0] ?? ''))
        const fromRoot = relative(ROOT, file)
        if (!existsSync(file) && !PENDING_DOCS.includes(fromRoot)) broken.push(`${page}: ${target}`)
      }
    }
    assert.deepEqual(broken, [])
  })

  it('the README links every page in docs/', () => {
    const readme = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((target) => target.split('#')[0])
    const unlinked = [...pages().filter((page) => page !== 'README.md'), ...PENDING_DOCS].filter((page) => !readme.includes(page))
    assert.deepEqual(unlinked, [])
  })

  it('no page refers to the design sheet outside the project (../shared/DESIGN.md)', () => {
    const offending = pages().filter((page) => /shared\/DESIGN\.md|DESIGN\.md|DESIGN §/.test(readFileSync(join(ROOT, page), 'utf8')))
    assert.deepEqual(offending, [])
  })

  it('the link check sees inline and reference links, and skips code', () => {
    assert.deepEqual(linkTargets('see [a](docs/a.md#x) and `[b](b.md)`\n[c]: ../c.md\n```\n[d](d.md)\n```\n'), ['docs/a.md#x', '../c.md'])
  })
})
