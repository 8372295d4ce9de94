// Every relative link in README.md and docs/*.md leads to a file of the
// project (and to a heading in it, when it names one), and no page points at the team's design sheet, which users never see.
import assert from 'node:assert/strict'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {describe, it} from 'node:test'
import {ROOT} from '../helpers/cli.js'

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

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
const slug = (heading: string): string =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-')

const anchors = (markdown: string): Set<string> =>
  new Set([...markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} +(.+?) *$/gm)].map((match) => slug(match[1] ?? '')))

describe('documentation links', () => {
  it('every relative link in README.md and docs/ points at an existing file', () => {
    const broken: string[] = []
    for (const page of pages()) {
      for (const target of linkTargets(readFileSync(join(ROOT, page), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue
        const file = target.startsWith('#') ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), decodeURIComponent(target.split('#')[0] ?? ''))
        if (!existsSync(file)) {
          broken.push(`${page}: ${target}`)
          continue
        }
        const anchor = target.split('#')[1]
        if (anchor !== undefined && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(anchor)) broken.push(`${page}: ${target} (no such heading)`)
      }
    }
    assert.deepEqual(broken, [])
  })

  it('the README links every page in docs/', () => {
    const readme = linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((target) => target.split('#')[0])
    const unlinked = pages().filter((page) => page !== 'README.md').filter((page) => !readme.includes(page))
    assert.deepEqual(unlinked, [])
  })

  it('no page refers to the design sheet outside the project (../shared/DESIGN.md)', () => {
    const offending = pages().filter((page) => /shared\/DESIGN\.md|DESIGN\.md|DESIGN §/.test(readFileSync(join(ROOT, page), 'utf8')))
    assert.deepEqual(offending, [])
  })

  it('anchors are spelled as GitHub spells them', () => {
    assert.equal(slug('Tracing cost: `npm run bench:tracing`'), 'tracing-cost-npm-run-benchtracing')
    assert.equal(slug('`daemon.status`'), 'daemonstatus')
    assert.equal(slug('Final status and Q.850 cause'), 'final-status-and-q850-cause')
  })

  it('the link check sees inline and reference links, and skips code', () => {
    assert.deepEqual(linkTargets('see [a](docs/a.md#x) and `[b](b.md)`\n[c]: ../c.md\n```\n[d](d.md)\n```\n'), ['docs/a.md#x', '../c.md'])
  })
})
