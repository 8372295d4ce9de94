// The one place that reads the config file and the environment. Both the CLI
// (to find the socket, for `config validate|show`) and the daemon (at start and
// on reload) call loadConfig; nothing else looks at process.env for settings.
import {existsSync, readFileSync} from 'node:fs'
import {hostname} from 'node:os'
import {dirname, resolve} from 'node:path'
import {isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Alias, type Document, type Node} from 'yaml'
import {CCError} from '../errors.js'
import {closestMatch} from '../suggest.js'
import {expandTilde, homePaths, resolveHome, type HomePaths} from '../paths.js'
import {configSchema, NODE_NAME_PATTERN, NODE_NAME_RULE, type Config, type ConfigFile, type ConfigIssue} from './schema.js'
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
  /** For an unknown key: the allowed key nearest to it, when one is near. */
  readonly suggestion?: string
}

/** Unwraps optional/default/pipe/… to the schema that holds keys or items. */
const innerSchema = (schema: unknown): {type: string; def: Record<string, unknown>} | undefined => {
  let current = schema as {_zod?: {def: Record<string, unknown> & {type: string}}} | undefined
  for (let depth = 0; depth < 20 && current?._zod; depth++) {
    const def = current._zod.def
    if (['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type)) current = def.innerType as typeof current
    else if (def.type === 'pipe') current = def.in as typeof current
    else return {type: def.type, def}
  }
  return undefined
}

/** The keys the schema allows in the object at `path` (every variant's keys under a union). */
export const allowedKeysAt = (schema: unknown, path: readonly PropertyKey[]): string[] => {
  const inner = innerSchema(schema)
  if (!inner) return []
  if (inner.type === 'union') return [...new Set((inner.def.options as unknown[]).flatMap((option) => allowedKeysAt(option, path)))]
  if (path.length === 0) return inner.type === 'object' ? Object.keys(inner.def.shape as object) : []
  const [head, ...rest] = path
  switch (inner.type) {
    case 'object':
      return allowedKeysAt((inner.def.shape as Record<string, unknown>)[String(head)], rest)
    case 'array':
      return allowedKeysAt(inner.def.element, rest)
    case 'record':
      return allowedKeysAt(inner.def.valueType, rest)
    default:
      return []
  }
}

const ALIAS_BOMB = 'too many alias expansions (possible YAML alias bomb): the aliases here expand to more nodes than a config can need'

/** Where an alias bomb sits: the first alias whose anchor itself holds aliases (the nesting that multiplies), else the first alias. */
const aliasBombLine = (doc: Document, lines: LineCounter): number | undefined => {
  const anchored = new Map<string, Node>()
  const aliases: Alias[] = []
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) aliases.push(node)
      else if (node.anchor) anchored.set(node.anchor, node)
    },
  })
  const nested = aliases.find((alias) => {
    const target = anchored.get(alias.source)
    let holdsAlias = false
    if (target) visit(target, {Alias: () => ((holdsAlias = true), visit.BREAK)})
    return holdsAlias
  })
  const culprit = nested ?? aliases[0]
  return culprit?.range ? lines.linePos(culprit.range[0]).line : undefined
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
      const allowed = allowedKeysAt(configSchema, issue.path)
      return issue.keys.map((key) => {
        const suggestion = closestMatch(key, allowed)
        const problem = located([...issue.path, key], suggestion === undefined ? 'unknown key' : `unknown key (did you mean ${suggestion}?)`, true)
        return suggestion === undefined ? problem : {...problem, suggestion}
      })
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
  let raw: unknown
  try {
    raw = doc.toJS() ?? {}
  } catch (error) {
    // yaml refuses to expand more than maxAliasCount (100) alias nodes: a "billion laughs" file would otherwise take all memory.
    if (!(error instanceof ReferenceError) || !/alias/i.test(error.message)) throw error
    const excessive = /excessive alias/i.test(error.message)
    const problem: ConfigProblem = {path: '(aliases)', message: excessive ? ALIAS_BOMB : error.message, line: excessive ? aliasBombLine(doc, lines) : undefined, column: undefined}
    throw new CCError('CC_ERR_CONFIG_INVALID', {file, count: 1, detail: formatProblems([problem])}, {data: {problems: [problem]}, cause: error})
  }
  const result = configSchema.safeParse(raw)
  if (!result.success) {
    const problems = problemsFrom(result.error.issues, doc, lines)
    throw new CCError('CC_ERR_CONFIG_INVALID', {file, count: problems.length, detail: formatProblems(problems)}, {data: {problems}})
  }
  return result.data
}

/**
 * The node name: node.name as written, else this machine's host name. A host name that is no
 * valid node name (longer than 64 characters, odd characters) is a config error naming node.name,
 * so the daemon never runs under a name the rest of the fleet cannot use.
 */
export const resolveNodeName = (parsed: Pick<ConfigFile, 'node'>, file: string, host: string = hostname()): string => {
  if (parsed.node.name !== undefined) return parsed.node.name
  if (NODE_NAME_PATTERN.test(host)) return host
  const problem: ConfigProblem = {path: 'node.name', message: `not set, and the host name ${JSON.stringify(host)} cannot be the default: ${NODE_NAME_RULE}`, line: undefined, column: undefined}
  throw new CCError('CC_ERR_CONFIG_INVALID', {file, count: 1, detail: formatProblems([problem])}, {data: {problems: [problem]}})
}

const effective = (parsed: ConfigFile, tracing: TracingDecision, file: string): Config => ({
  ...parsed,
  tracing: {enabled: tracing.enabled, endpoint: tracing.endpoint, protocol: tracing.protocol},
  node: {name: resolveNodeName(parsed, file)},
})

/**
 * The certificate, key and CA paths of sip.tls and trunks[].outbound.tls
 * made absolute: `~/` is the user's home, a relative path is relative to
 * the folder of the config file (of the home on the embedded defaults), so
 * a config means the same files whatever folder the daemon starts in.
 */
export const resolveConfigPaths = (config: ConfigFile, baseDir: string): ConfigFile => {
  const absolute = (path: string): string => resolve(baseDir, expandTilde(path))
  const maybe = (path: string | undefined): string | undefined => (path === undefined ? undefined : absolute(path))
  const tls = config.sip.tls
  return {
    ...config,
    sip: tls === undefined ? config.sip : {...config.sip, tls: {...tls, cert: absolute(tls.cert), key: absolute(tls.key), ca: maybe(tls.ca)}},
    trunks: config.trunks.map((trunk) => {
      const outboundTls = trunk.outbound?.tls
      if (trunk.outbound === undefined || outboundTls === undefined) return trunk
      return {...trunk, outbound: {...trunk.outbound, tls: {...outboundTls, ca: maybe(outboundTls.ca), cert: maybe(outboundTls.cert), key: maybe(outboundTls.key)}}}
    }),
  }
}

/** Parses and validates config text, with no environment applied (tracing by the file alone). */
export const parseConfigText = (text: string, file: string): Config => {
  const parsed = parseConfigFile(text, file)
  return effective(parsed, resolveTracing(parsed.tracing, {}), file)
}

export const loadConfig = (options: LoadOptions = {}): LoadedConfig => {
  const env = options.env ?? process.env
  const paths = homePaths(resolveHome(env))
  const file = locateFile(options, env, paths)
  const parsed = resolveConfigPaths(file === undefined ? parseConfigFile('', '(defaults)') : parseConfigFile(readFileSync(file, 'utf8'), file), file === undefined ? paths.home : dirname(file))
  const tracing = resolveTracing(parsed.tracing, env)
  const config = effective(parsed, tracing, file ?? '(defaults)')
  const overrides = [...tracing.envOverrides]
  if (env.CLUTCHCALL_HOME) overrides.unshift('CLUTCHCALL_HOME')
  if (options.file === undefined && env.CLUTCHCALL_CONFIG) overrides.unshift('CLUTCHCALL_CONFIG')
  const socketPath = resolve(expandTilde(config.admin.socket ?? paths.defaultSocket))
  return {config, file, paths, socketPath, envOverrides: overrides, tracing}
}
