// The one place that reads the config file and the environment. Both the CLI
// (to find the socket, for `config validate|show`) and the daemon (at start and
// on reload) call loadConfig; nothing else looks at process.env for settings.
import {existsSync, readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node} from 'yaml'
import {CCError} from '../errors.js'
import {expandTilde, homePaths, resolveHome, type HomePaths} from '../paths.js'
import {configSchema, type Config, type ConfigFile, type ConfigIssue} from './schema.js'
import {resolveTracing, type TracingDecision} from './tracing.js'

export interface LoadedConfig {
  readonly config: Config
  /** The file read, or undefined when running on the embedded defaults. */
  readonly file: string | undefined
  readonly paths: HomePaths
  readonly socketPath: string
  /** Which environment variables changed the result, for `config show`. */
  readonly envOverrides: readonly string[]
  /** Whether traces are exported, where to, and why (tracing.ts). */
  readonly tracing: TracingDecision
}

export interface LoadOptions {
  /** An explicit --config path; wins over CLUTCHCALL_CONFIG. */
  readonly file?: string | undefined
  readonly env?: NodeJS.ProcessEnv
}

export interface ConfigProblem {
  readonly path: string
  readonly message: string
  readonly line: number | undefined
  readonly column: number | undefined
}

const locateFile = (options: LoadOptions, env: NodeJS.ProcessEnv, paths: HomePaths): string | undefined => {
  const explicit = options.file ?? (env.CLUTCHCALL_CONFIG && env.CLUTCHCALL_CONFIG.length > 0 ? env.CLUTCHCALL_CONFIG : undefined)
  if (explicit !== undefined) {
    const file = resolve(expandTilde(explicit))
    if (!existsSync(file)) throw new CCError('CC_ERR_CONFIG_NOT_FOUND', {file})
    return file
  }
  return existsSync(paths.defaultConfig) ? paths.defaultConfig : undefined
}

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? String(key) : `${text}.${String(key)}`), '')

/** Finds the YAML node at a path: the key when the path ends at a key, else the value. */
const nodeAt = (doc: Document, path: readonly PropertyKey[], wantKey: boolean): Node | undefined => {
  let current: unknown = doc.contents
  let keyNode: Node | undefined
  for (const segment of path) {
    if (isMap(current)) {
      const pair = current.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === segment)
      if (!pair) return keyNode ?? (current as Node)
      keyNode = pair.key as Node
      current = pair.value
    } else if (isSeq(current) && typeof segment === 'number') {
      current = current.items[segment]
      keyNode = undefined
    } else {
      break
    }
  }
  if (wantKey && keyNode) return keyNode
  return (current as Node | undefined) ?? keyNode
}

const problemsFrom = (issues: readonly ConfigIssue[], doc: Document | undefined, lines: LineCounter): ConfigProblem[] => {
  const located = (path: readonly PropertyKey[], message: string, wantKey: boolean): ConfigProblem => {
    const node = doc ? nodeAt(doc, path, wantKey) : undefined
    const position = node?.range ? lines.linePos(node.range[0]) : undefined
    return {path: formatPath(path) || '(top level)', message, line: position?.line, column: position?.col}
  }
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => located([...issue.path, key], 'unknown key', true))
    }
    return [located(issue.path, issue.message, false)]
  })
}

const formatProblems = (problems: readonly ConfigProblem[]): string =>
  problems.map((problem) => `  ${problem.line === undefined ? '' : `line ${problem.line}: `}${problem.path}: ${problem.message}`).join('\n')

/** Parses and validates config text as written; throws CC_ERR_CONFIG_YAML or CC_ERR_CONFIG_INVALID with lines and key paths. */
const parseConfigFile = (text: string, file: string): ConfigFile => {
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: false, uniqueKeys: true})
  const yamlError = doc.errors[0]
  if (yamlError) {
    const position = lines.linePos(yamlError.pos[0])
    throw new CCError('CC_ERR_CONFIG_YAML', {file, line: position.line, column: position.col, detail: yamlError.message.split('\n')[0]})
  }
  const raw: unknown = doc.toJS() ?? {}
  const result = configSchema.safeParse(raw)
  if (!result.success) {
    const problems = problemsFrom(result.error.issues, doc, lines)
    throw new CCError('CC_ERR_CONFIG_INVALID', {file, count: problems.length, detail: formatProblems(problems)}, {data: {problems}})
  }
  return result.data
}

const withTracing = (parsed: ConfigFile, tracing: TracingDecision): Config => ({...parsed, tracing: {enabled: tracing.enabled, endpoint: tracing.endpoint}})

/** Parses and validates config text, with no environment applied (tracing by the file alone). */
export const parseConfigText = (text: string, file: string): Config => {
  const parsed = parseConfigFile(text, file)
  return withTracing(parsed, resolveTracing(parsed.tracing, {}))
}

export const loadConfig = (options: LoadOptions = {}): LoadedConfig => {
  const env = options.env ?? process.env
  const paths = homePaths(resolveHome(env))
  const file = locateFile(options, env, paths)
  const parsed = file === undefined ? parseConfigFile('', '(defaults)') : parseConfigFile(readFileSync(file, 'utf8'), file)
  const tracing = resolveTracing(parsed.tracing, env)
  const config = withTracing(parsed, tracing)
  const overrides = [...tracing.envOverrides]
  if (env.CLUTCHCALL_HOME) overrides.unshift('CLUTCHCALL_HOME')
  if (options.file === undefined && env.CLUTCHCALL_CONFIG) overrides.unshift('CLUTCHCALL_CONFIG')
  const socketPath = resolve(expandTilde(config.admin.socket ?? paths.defaultSocket))
  return {config, file, paths, socketPath, envOverrides: overrides, tracing}
}
