// JUnit XML, the report format every CI server reads (Jenkins, GitLab,
// GitHub Actions reporters, Buildkite): one <testsuite> with one <testcase>
// per synthetic call (or per smoke check), a <failure> naming the threshold
// that failed, <skipped> for a check that did not apply, and the measured
// figures in <system-out>. Written to a temporary file and renamed, so a
// reader never sees half a report.
import {existsSync, mkdirSync, renameSync, writeFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {dirname, resolve} from 'node:path'
import {CCError} from '../errors.js'

export interface JunitCase {
  readonly name: string
  readonly classname: string
  readonly timeS: number
  /** Absent: passed. */
  readonly failure?: {readonly type: string; readonly message: string; readonly text: string} | undefined
  readonly skipped?: string | undefined
  readonly systemOut?: string | undefined
}

export interface JunitSuite {
  readonly name: string
  readonly timestamp: string
  readonly timeS: number
  readonly properties: ReadonlyArray<readonly [string, string]>
  readonly cases: readonly JunitCase[]
}

// XML 1.0 allows tab, LF, CR and everything from U+0020 except the surrogates and U+FFFE/U+FFFF.
const INVALID_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu

/** Text or attribute content, escaped; characters XML cannot carry at all become U+FFFD. */
export const xmlEscape = (text: string): string =>
  text.replace(INVALID_XML, '\uFFFD').replace(/[&<>"']/g, (char) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;'})[char] as string)

const attrs = (pairs: ReadonlyArray<readonly [string, string | number]>): string => pairs.map(([name, value]) => ` ${name}="${xmlEscape(String(value))}"`).join('')

const seconds = (value: number): string => (Number.isFinite(value) && value > 0 ? value.toFixed(3) : '0.000')

export const junitXml = (suite: JunitSuite): string => {
  const failures = suite.cases.filter((test) => test.failure !== undefined).length
  const skipped = suite.cases.filter((test) => test.failure === undefined && test.skipped !== undefined).length
  const counts: Array<readonly [string, string | number]> = [['tests', suite.cases.length], ['failures', failures], ['errors', 0], ['skipped', skipped], ['time', seconds(suite.timeS)]]
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs([['name', suite.name], ...counts])}>`,
    `  <testsuite${attrs([['name', suite.name], ...counts, ['timestamp', suite.timestamp.replace(/\.\d+Z$/, '')], ['hostname', hostname()]])}>`,
  ]
  if (suite.properties.length > 0) {
    lines.push('    <properties>')
    for (const [name, value] of suite.properties) lines.push(`      <property${attrs([['name', name], ['value', value]])}/>`)
    lines.push('    </properties>')
  }
  for (const test of suite.cases) {
    const open = `    <testcase${attrs([['name', test.name], ['classname', test.classname], ['time', seconds(test.timeS)]])}`
    const body: string[] = []
    if (test.failure !== undefined) body.push(`      <failure${attrs([['message', test.failure.message], ['type', test.failure.type]])}>${xmlEscape(test.failure.text)}</failure>`)
    else if (test.skipped !== undefined) body.push(`      <skipped${attrs([['message', test.skipped]])}/>`)
    if (test.systemOut !== undefined && test.systemOut !== '') body.push(`      <system-out>${xmlEscape(test.systemOut)}</system-out>`)
    if (body.length === 0) lines.push(`${open}/>`)
    else lines.push(`${open}>`, ...body, '    </testcase>')
  }
  lines.push('  </testsuite>', '</testsuites>', '')
  return lines.join('\n')
}

/** mkdir -p, one level at a time (Node's recursive mkdir loops forever under /proc). */
const makeFolders = (folder: string): void => {
  if (existsSync(folder)) return
  const parent = dirname(folder)
  if (parent !== folder) makeFolders(parent)
  mkdirSync(folder)
}

/** Writes the report (creating its folder); CC_ERR_SYNTH_JUNIT_WRITE when that fails. */
export const writeJunit = (file: string, suite: JunitSuite): string => {
  const path = resolve(file)
  const temporary = `${path}.${process.pid}.tmp`
  try {
    makeFolders(dirname(path))
    writeFileSync(temporary, junitXml(suite))
    renameSync(temporary, path)
  } catch (error) {
    throw new CCError('CC_ERR_SYNTH_JUNIT_WRITE', {file: path, detail: (error as Error).message}, {cause: error})
  }
  return path
}
