// Query parameters written into the SQL text as literals, for ClickHouse
// servers older than 19.x (Debian's 18.16), which have no `{name:Type}`
// binding. Every placeholder is replaced once, left to right, by a literal of
// its declared type: a value is never scanned again, so nothing it contains can
// become a placeholder or SQL. Strings escape the two characters that end or
// escape a ClickHouse string literal (`\` and `'`); numbers must be finite and,
// for integer types, safe integers in range; anything else is refused.
import {CCError} from '../errors.js'
import type {BuiltSql, SqlParam} from './query-sql.js'

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*):([A-Za-z0-9_()]+)\}/g

/** A ClickHouse single-quoted string literal of any text. */
export const stringLiteral = (text: string): string => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

const INTEGER_RANGES: Readonly<Record<string, readonly [number, number]>> = {
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UInt32: [0, 2 ** 32 - 1],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
}

const refuse = (name: string, type: string, value: unknown): never => {
  throw new CCError('CC_ERR_CDR_QUERY_FAILED', {detail: `parameter ${name} of type ${type} cannot be written as a literal (${typeof value})`})
}

const literalOf = (name: string, type: string, value: SqlParam | undefined): string => {
  if (type === 'String') return typeof value === 'string' ? stringLiteral(value) : refuse(name, type, value)
  if (type === 'Array(String)') {
    // An IN list: 18.16 takes a tuple there, not an array.
    if (!Array.isArray(value) || value.length === 0 || !value.every((item) => typeof item === 'string')) return refuse(name, type, value)
    return `(${value.map((item) => stringLiteral(item)).join(', ')})`
  }
  const range = INTEGER_RANGES[type]
  if (range !== undefined) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < range[0] || value > range[1]) return refuse(name, type, value)
    return String(value)
  }
  if (type === 'Float64') return typeof value === 'number' && Number.isFinite(value) ? `toFloat64(${String(value)})` : refuse(name, type, value)
  return refuse(name, type, value)
}

/** The SQL of `built` with every `{name:Type}` placeholder replaced by the literal of its parameter. */
export const inlineParameters = (built: BuiltSql): string =>
  built.sql.replace(PLACEHOLDER, (_, name: string, type: string) => {
    if (!Object.hasOwn(built.params, name)) return refuse(name, type, undefined)
    return literalOf(name, type, built.params[name])
  })
