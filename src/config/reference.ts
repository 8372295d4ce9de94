// Walks the config schema into a flat list of key paths with their type, default
// and whether they must be given, for docs/configuration.md (scripts/gen-docs.js)
// and for the test that every key has a description. Reads zod's public
// definition objects (`schema._zod.def`), so the reference follows the schema
// without the schema carrying any documentation itself.
import type * as z from 'zod/mini'

export interface SchemaKey {
  /** Key path: `.` between keys, `[]` for list items, `<plan>` for map keys, `[type=play]` for one variant of a node. */
  readonly path: string
  /** What the value must be, in words (backticks around literal values). */
  readonly type: string
  /** True when the key has a default (the value the schema fills in when the key is absent). */
  readonly hasDefault: boolean
  readonly defaultValue: unknown
  /** True when the key must be given whenever its parent is. */
  readonly required: boolean
  /** False for sections, lists of objects and maps: their keys are listed separately. */
  readonly leaf: boolean
  /** The key's own schema, for checking an example value against it; undefined for a union's discriminator and list items. */
  readonly schema: unknown
}

interface Def {
  readonly type: string
  readonly [key: string]: unknown
}

interface CheckDef {
  readonly check: string
  readonly value?: number
  readonly inclusive?: boolean
  readonly minimum?: number
  readonly maximum?: number
  readonly format?: string
  readonly error?: unknown
}

const defOf = (schema: unknown): Def => (schema as {_zod: {def: Def}})._zod.def
const checksOf = (def: Def): CheckDef[] => ((def.checks as Array<{_zod: {def: CheckDef}}> | undefined) ?? []).map((check) => check._zod.def)

/** What map keys stand for, by the path of the map; others read `<name>`. */
const MAP_KEY_NAMES: Readonly<Record<string, string>> = {
  dialplans: '<plan>',
  'dialplans.<plan>.nodes': '<node>',
}

const messageOf = (check: CheckDef): string | undefined => {
  if (typeof check.error === 'string') return check.error
  if (typeof check.error === 'function') {
    const message: unknown = (check.error as (issue: object) => unknown)({})
    return typeof message === 'string' ? message : undefined
  }
  return undefined
}

const numberType = (def: Def): string => {
  const integer = def.format === 'safeint' || def.format === 'int32' || def.format === 'uint32'
  let low: string | undefined
  let high: string | undefined
  let lowValue: number | undefined
  let highValue: number | undefined
  for (const check of checksOf(def)) {
    if (check.check === 'greater_than' && check.value !== undefined) {
      lowValue = check.value
      low = check.inclusive ? undefined : `> ${check.value}`
    }
    if (check.check === 'less_than' && check.value !== undefined) {
      highValue = check.value
      high = check.inclusive ? undefined : `< ${check.value}`
    }
  }
  const name = integer ? 'integer' : 'number'
  const range = (value: number) => String(value)
  if (lowValue !== undefined && highValue !== undefined && low === undefined && high === undefined) return `${name} ${range(lowValue)}–${range(highValue)}`
  const bounds = [
    lowValue === undefined ? undefined : (low ?? `≥ ${range(lowValue)}`),
    highValue === undefined ? undefined : (high ?? `≤ ${range(highValue)}`),
  ].filter((part) => part !== undefined)
  return bounds.length === 0 ? name : `${name} ${bounds.join(', ')}`
}

const stringType = (def: Def): string => {
  const rules = checksOf(def).flatMap((check) => {
    if (check.check === 'min_length' && check.minimum === 1) return ['not empty']
    if (check.check === 'min_length') return [`at least ${check.minimum} characters`]
    if (check.check === 'max_length') return [`at most ${check.maximum} characters`]
    const message = messageOf(check)
    return message === undefined ? [] : [message]
  })
  return rules.length === 0 ? 'string' : `string: ${rules.join('; ')}`
}

const listSuffix = (def: Def): string => {
  const min = checksOf(def).find((check) => check.check === 'min_length')?.minimum
  return min === undefined || min === 0 ? '' : min === 1 ? ', at least one' : `, at least ${min}`
}

/** Unwraps defaults, optionals and pipes, noting what they say about the key. */
const unwrap = (schema: unknown): {inner: Def; hasDefault: boolean; defaultValue: unknown; optional: boolean} => {
  let def = defOf(schema)
  let hasDefault = false
  let defaultValue: unknown
  let optional = false
  for (;;) {
    if ((def.type === 'default' || def.type === 'prefault') && !hasDefault) {
      hasDefault = true
      defaultValue = def.defaultValue
      def = defOf(def.innerType)
    } else if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable') {
      if (def.type === 'optional') optional = true
      def = defOf(def.innerType)
    } else if (def.type === 'pipe') {
      def = defOf(def.in)
    } else {
      return {inner: def, hasDefault, defaultValue, optional}
    }
  }
}

/** Schemas used in many places, named once in the reference instead of spelled out at each key. */
export type NamedTypes = ReadonlyMap<unknown, string>

/** The type of a value in words; `nested` says whether its keys are listed separately. */
const typeOf = (def: Def, names: NamedTypes): {text: string; nested: boolean} => {
  const named = [...names].find(([schema]) => defOf(schema) === def)
  if (named) return {text: named[1], nested: false}
  switch (def.type) {
    case 'string':
      return {text: stringType(def), nested: false}
    case 'number':
      return {text: numberType(def), nested: false}
    case 'boolean':
      return {text: 'boolean', nested: false}
    case 'enum':
      return {text: `one of ${Object.values(def.entries as Record<string, string>).map((value) => `\`${value}\``).join(', ')}`, nested: false}
    case 'literal':
      return {text: (def.values as unknown[]).map((value) => `\`${String(value)}\``).join(' or '), nested: false}
    case 'object':
      return {text: defOf(def.catchall ?? {_zod: {def: {type: 'never'}}}).type === 'never' ? 'section' : 'object (other members allowed)', nested: true}
    case 'array': {
      const element = unwrap(def.element).inner
      const inner = typeOf(element, names)
      return {text: `list of ${element.type === 'object' ? 'objects' : inner.text}${listSuffix(def)}`, nested: inner.nested}
    }
    case 'record': {
      const value = unwrap(def.valueType).inner
      const inner = typeOf(value, names)
      return {text: `map of name → ${value.type === 'object' ? 'object' : value.type === 'union' && value.discriminator !== undefined ? 'object' : inner.text}`, nested: inner.nested}
    }
    case 'union':
      if (def.discriminator !== undefined) return {text: `object, by \`${String(def.discriminator)}\``, nested: true}
      return {text: (def.options as unknown[]).map((option) => typeOf(unwrap(option).inner, names).text).join(', or '), nested: false}
    default:
      return {text: def.type, nested: false}
  }
}

const walk = (schema: unknown, path: string, required: boolean, keys: SchemaKey[], names: NamedTypes): void => {
  const {inner, hasDefault, defaultValue, optional} = unwrap(schema)
  const {text, nested} = typeOf(inner, names)
  if (path !== '') keys.push({path, type: text, hasDefault, defaultValue, required: required && !hasDefault && !optional, leaf: !nested, schema})
  if (!nested) return
  if (inner.type === 'object') {
    for (const [key, value] of Object.entries(inner.shape as Record<string, unknown>)) walk(value, path === '' ? key : `${path}.${key}`, true, keys, names)
  } else if (inner.type === 'array') {
    walkItem(unwrap(inner.element).inner, `${path}[]`, keys, names)
  } else if (inner.type === 'record') {
    walkItem(unwrap(inner.valueType).inner, `${path}.${MAP_KEY_NAMES[path] ?? '<name>'}`, keys, names)
  } else if (inner.type === 'union') {
    walkVariants(inner, path, keys, names)
  }
}

/** The keys of a list item or map value, which has no entry of its own. */
const walkItem = (def: Def, path: string, keys: SchemaKey[], names: NamedTypes): void => {
  if (def.type === 'union' && def.discriminator !== undefined) {
    keys.push({path, type: typeOf(def, names).text, hasDefault: false, defaultValue: undefined, required: true, leaf: false, schema: undefined})
    walkVariants(def, path, keys, names)
    return
  }
  for (const [key, value] of Object.entries(def.shape as Record<string, unknown>)) walk(value, `${path}.${key}`, true, keys, names)
}

/** A discriminated union: the discriminator once, with every value, then each variant's own keys. */
const walkVariants = (def: Def, path: string, keys: SchemaKey[], names: NamedTypes): void => {
  const discriminator = String(def.discriminator)
  const variants = (def.options as unknown[]).map((option) => defOf(option))
  const values = variants.map((variant) => (defOf((variant.shape as Record<string, unknown>)[discriminator]).values as unknown[])[0])
  keys.push({path: `${path}.${discriminator}`, type: `one of ${values.map((value) => `\`${String(value)}\``).join(', ')}`, hasDefault: false, defaultValue: undefined, required: true, leaf: true, schema: undefined})
  variants.forEach((variant, index) => {
    for (const [key, value] of Object.entries(variant.shape as Record<string, unknown>)) {
      if (key !== discriminator) walk(value, `${path}[${discriminator}=${String(values[index])}].${key}`, true, keys, names)
    }
  })
}

/** Every key path of a config schema, parents before their keys, in schema order. */
export const schemaKeys = (schema: z.ZodMiniType, named: NamedTypes = new Map()): SchemaKey[] => {
  const keys: SchemaKey[] = []
  walk(schema, '', true, keys, named)
  return keys
}
