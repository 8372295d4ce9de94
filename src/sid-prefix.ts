// Short call sids: what `calls tail` and `recordings list` show (the first
// characters of the sid) is accepted wherever a sid is, as long as it names
// exactly one call among the candidates.
import {CALL_SID_PATTERN} from './cdr/record.js'
import {CCError} from './errors.js'

/** How many characters of a sid the narrow views show: `CA` and 8 hex digits (16^8 ≈ 4·10^9 values). */
export const SHORT_SID_LENGTH = 10

export const shortSid = (sid: string): string => sid.slice(0, SHORT_SID_LENGTH)

/** A full sid, or the start of one: `CA` and 1 to 32 lowercase hex digits. */
export const SID_PREFIX_PATTERN = /^CA[0-9a-f]{1,32}$/

export const isFullSid = (value: string): boolean => CALL_SID_PATTERN.test(value)

/**
 * The one candidate that starts with `prefix`. None: undefined (the caller
 * says what was not found). Several: CC_ERR_CALL_SID_AMBIGUOUS listing them.
 */
export const resolveSidPrefix = (
  prefix: string,
  candidates: Iterable<string>,
  context: {what: string; where: string},
): string | undefined => {
  const matches = [...new Set([...candidates].filter((sid) => sid.startsWith(prefix)))].sort()
  if (matches.length <= 1) return matches[0]
  const shown = matches.slice(0, 10).join(', ') + (matches.length > 10 ? `, … (${matches.length - 10} more)` : '')
  throw new CCError('CC_ERR_CALL_SID_AMBIGUOUS', {prefix, count: matches.length, what: context.what, where: context.where, matches: shown}, {data: {matches}})
}
