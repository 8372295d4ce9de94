// A checker of the Prometheus text exposition format (0.0.4), so `clutchcall
// smoke` can tell a valid /metrics from a broken one without promtool: line
// syntax, metric and label names, label value escapes, values, HELP/TYPE at
// most once and before the family's samples, families not split up, no
// duplicate series, counters not negative, and histograms whole (cumulative
// buckets ending in +Inf, _count equal to the +Inf bucket, a _sum). Then the
// ten families of DESIGN §6 with their types.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped'

export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
  readonly line: number
}

export interface Family {
  readonly name: string
  type: MetricType
  /** A TYPE line was seen. */
  typed: boolean
  help: string | undefined
  readonly samples: Sample[]
}

export interface Exposition {
  readonly families: ReadonlyMap<string, Family>
  readonly sampleCount: number
  /** Everything wrong, `line N: …`; empty for a valid exposition. */
  readonly problems: readonly string[]
}

/** DESIGN §6: the metric families every gateway serves, and their types. */
export const REQUIRED_FAMILIES: Readonly<Record<string, MetricType>> = {
  clutchcall_calls_total: 'counter',
  clutchcall_calls_active: 'gauge',
  clutchcall_call_duration_seconds: 'histogram',
  clutchcall_rtp_packets_total: 'counter',
  clutchcall_rtp_loss_ratio: 'gauge',
  clutchcall_jitter_ms: 'histogram',
  clutchcall_estimated_mos: 'histogram',
  clutchcall_codec_engine_lag_us: 'histogram',
  clutchcall_quic_handshake_seconds: 'histogram',
  clutchcall_admin_requests_total: 'counter',
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const MAX_PROBLEMS = 50

/** A sample value: a float, NaN or ±Inf (Go's ParseFloat spellings). */
export const parseValue = (text: string): number | undefined => {
  if (/^[+-]?(?:inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity
  if (/^nan$/i.test(text)) return Number.NaN
  if (!/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(text)) return undefined
  return Number(text)
}

interface ParsedSample {
  readonly name: string
  readonly labels: Record<string, string>
  readonly value: number
}

/** One sample line: name, optional {labels}, value, optional integer timestamp. Throws a message on bad syntax. */
const parseSampleLine = (line: string): ParsedSample => {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)
  if (nameMatch === null) throw new Error('the line does not start with a metric name')
  const name = nameMatch[0]
  let position = name.length
  const labels: Record<string, string> = {}
  if (line[position] === '{') {
    position++
    for (;;) {
      while (line[position] === ' ') position++
      if (line[position] === '}') {
        position++
        break
      }
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(position))
      if (labelMatch === null) throw new Error(`bad label name at column ${position + 1}`)
      const label = labelMatch[0]
      position += label.length
      if (line[position] !== '=' || line[position + 1] !== '"') throw new Error(`label ${label}: expected ="…"`)
      position += 2
      let value = ''
      for (;;) {
        const char = line[position]
        if (char === undefined) throw new Error(`label ${label}: unterminated value`)
        position++
        if (char === '"') break
        if (char === '\\') {
          const escaped = line[position]
          position++
          if (escaped === '\\') value += '\\'
          else if (escaped === '"') value += '"'
          else if (escaped === 'n') value += '\n'
          else throw new Error(`label ${label}: bad escape \\${escaped ?? ''}`)
        } else {
          value += char
        }
      }
      if (Object.hasOwn(labels, label)) throw new Error(`label ${label} appears twice`)
      labels[label] = value
      while (line[position] === ' ') position++
      if (line[position] === ',') position++
      else if (line[position] !== '}') throw new Error(`expected , or } after label ${label}`)
    }
  }
  const rest = line.slice(position)
  const parts = rest.trim().split(/[ \t]+/)
  if (!/^[ \t]/.test(rest) || parts.length < 1 || parts.length > 2 || parts[0] === '') throw new Error('expected a value (and optionally a timestamp) after the name and labels')
  const value = parseValue(parts[0] as string)
  if (value === undefined) throw new Error(`bad value ${JSON.stringify(parts[0])}`)
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`bad timestamp ${JSON.stringify(parts[1])}`)
  return {name, labels, value}
}

const seriesKey = (name: string, labels: Readonly<Record<string, string>>): string =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((label) => `${label}=${JSON.stringify(labels[label])}`)
    .join(',')}}`

/** The family a sample belongs to: its own name, or the histogram/summary it is a part of. */
const familyOf = (name: string, families: ReadonlyMap<string, Family>): string => {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue
    const base = name.slice(0, -suffix.length)
    const family = families.get(base)
    if (family !== undefined && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return base
  }
  return name
}

const checkHistogram = (family: Family, problem: (message: string) => void): void => {
  const groups = new Map<string, {buckets: Array<{le: number; value: number; line: number}>; count?: number; sum?: number}>()
  const groupOf = (labels: Readonly<Record<string, string>>) => {
    const rest = Object.fromEntries(Object.entries(labels).filter(([label]) => label !== 'le'))
    const key = seriesKey('', rest)
    let group = groups.get(key)
    if (group === undefined) groups.set(key, (group = {buckets: []}))
    return group
  }
  for (const sample of family.samples) {
    const group = groupOf(sample.labels)
    if (sample.name === `${family.name}_bucket`) {
      const le = sample.labels.le === undefined ? undefined : parseValue(sample.labels.le)
      if (le === undefined || Number.isNaN(le)) problem(`line ${sample.line}: ${family.name}_bucket without a numeric le label`)
      else group.buckets.push({le, value: sample.value, line: sample.line})
    } else if (sample.name === `${family.name}_count`) {
      group.count = sample.value
    } else if (sample.name === `${family.name}_sum`) {
      group.sum = sample.value
    } else {
      problem(`line ${sample.line}: ${sample.name} is not a histogram series of ${family.name}`)
    }
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key === '{}' ? '' : key}`
    const buckets = [...group.buckets].sort((a, b) => a.le - b.le)
    const last = buckets[buckets.length - 1]
    if (last === undefined || last.le !== Infinity) problem(`${where}: no le="+Inf" bucket`)
    for (let index = 1; index < buckets.length; index++) {
      if ((buckets[index] as {value: number}).value < (buckets[index - 1] as {value: number}).value) problem(`line ${(buckets[index] as {line: number}).line}: ${where} buckets are not cumulative`)
    }
    if (group.count === undefined) problem(`${where}: no _count`)
    else if (last !== undefined && last.le === Infinity && last.value !== group.count) problem(`${where}: _count ${group.count} differs from the +Inf bucket ${last.value}`)
    if (group.sum === undefined) problem(`${where}: no _sum`)
  }
}

export const parseExposition = (text: string): Exposition => {
  const families = new Map<string, Family>()
  const problems: string[] = []
  const problem = (message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push(message)
  }
  const seriesSeen = new Set<string>()
  const closedFamilies = new Set<string>()
  let currentFamily: string | undefined
  let sampleCount = 0
  const family = (name: string): Family => {
    let found = families.get(name)
    if (found === undefined) families.set(name, (found = {name, type: 'untyped', typed: false, help: undefined, samples: []}))
    return found
  }
  if (text.length > 0 && !text.endsWith('\n')) problem('the exposition does not end with a line feed')
  const lines = text.split('\n')
  if (lines[lines.length - 1] === '') lines.pop()
  lines.forEach((raw, index) => {
    const lineNumber = index + 1
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw
    if (line.trim() === '') return
    if (line.startsWith('#')) {
      const match = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line)
      if (match === null) return
      const [, keyword, name, rest] = match as unknown as [string, 'HELP' | 'TYPE', string, string | undefined]
      if (!METRIC_NAME.test(name)) return problem(`line ${lineNumber}: bad metric name ${JSON.stringify(name)} in # ${keyword}`)
      const target = family(name)
      if (keyword === 'HELP') {
        if (target.help !== undefined) problem(`line ${lineNumber}: second HELP for ${name}`)
        target.help = rest ?? ''
        return
      }
      const type = (rest ?? '').trim() as MetricType
      if (!TYPES.has(type)) return problem(`line ${lineNumber}: unknown type ${JSON.stringify(rest ?? '')} for ${name}`)
      if (target.samples.length > 0) problem(`line ${lineNumber}: TYPE for ${name} after its samples`)
      if (target.typed) problem(`line ${lineNumber}: second TYPE for ${name}`)
      target.typed = true
      target.type = type
      return
    }
    let sample: ParsedSample
    try {
      sample = parseSampleLine(line)
    } catch (error) {
      return problem(`line ${lineNumber}: ${(error as Error).message}`)
    }
    sampleCount++
    const owner = family(familyOf(sample.name, families))
    if (currentFamily !== owner.name) {
      if (closedFamilies.has(owner.name)) problem(`line ${lineNumber}: samples of ${owner.name} are not grouped together`)
      if (currentFamily !== undefined) closedFamilies.add(currentFamily)
      currentFamily = owner.name
    }
    const key = seriesKey(sample.name, sample.labels)
    if (seriesSeen.has(key)) problem(`line ${lineNumber}: duplicate series ${key}`)
    seriesSeen.add(key)
    if (owner.type === 'counter' && !(sample.value >= 0)) problem(`line ${lineNumber}: counter ${sample.name} is ${sample.value}`)
    for (const label of Object.keys(sample.labels)) if (!LABEL_NAME.test(label) || label.startsWith('__')) problem(`line ${lineNumber}: reserved label name ${label}`)
    owner.samples.push({...sample, line: lineNumber})
  })
  for (const entry of families.values()) if (entry.type === 'histogram') checkHistogram(entry, problem)
  return {families, sampleCount, problems}
}

/** Problems with the DESIGN §6 families: missing, or of another type. */
export const missingFamilies = (exposition: Exposition): string[] =>
  Object.entries(REQUIRED_FAMILIES).flatMap(([name, type]) => {
    const found = exposition.families.get(name)
    if (found === undefined) return [`${name} is missing`]
    return found.type === type ? [] : [`${name} is a ${found.type}, not a ${type}`]
  })

/** Sum of a family's samples named `name` whose labels include `labels`. */
export const sumSamples = (exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number => {
  const family = exposition.families.get(name)
  if (family === undefined) return 0
  return family.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([label, value]) => sample.labels[label] === value)).reduce((total, sample) => total + sample.value, 0)
}
