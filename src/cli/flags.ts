// Flags and arguments shared by the `calls` commands. Bad values fail in
// oclif's parser, so BaseCommand reports them as usage errors (exit 2).
import {Args, Flags} from '@oclif/core'
import {CALL_SID_PATTERN} from '../cdr/record.js'
import {CCError} from '../errors.js'

/** `--tenant` / `--trunk`: the filter of `calls.list` and `calls.subscribe`. */
export const callFilterFlags = {
  tenant: Flags.string({summary: 'Only calls of this tenant (its id in the config).', helpValue: 'TENANT'}),
  trunk: Flags.string({summary: 'Only calls through this trunk (its id in the config, or `none`).', helpValue: 'TRUNK'}),
}

/** The filter as the admin methods take it, and as a human reads it. */
export const callFilter = (flags: {tenant?: string | undefined; trunk?: string | undefined}): {tenant?: string; trunk?: string} => ({
  ...(flags.tenant === undefined ? {} : {tenant: flags.tenant}),
  ...(flags.trunk === undefined ? {} : {trunk: flags.trunk}),
})

export const describeCallFilter = (filter: {tenant?: string; trunk?: string}): string =>
  [filter.tenant === undefined ? '' : `tenant ${filter.tenant}`, filter.trunk === undefined ? '' : `trunk ${filter.trunk}`].filter(Boolean).join(', ')

/** A call sid (DESIGN §5), checked before anything is sent to the daemon. */
export const parseCallSid = async (input: string): Promise<string> => {
  if (!CALL_SID_PATTERN.test(input)) throw new CCError('CC_ERR_USAGE', {detail: `SID must be CA followed by 32 lowercase hex digits, got ${JSON.stringify(input)}`})
  return input
}

export const callSidArg = Args.string({description: 'The call sid: CA followed by 32 lowercase hex digits (see `calls list`).', required: true, parse: parseCallSid})

/** A full call sid or its start (`CA` and at least 1 hex digit), as the short sids `calls tail` and `recordings list` show. */
export const parseCallSidPrefix = async (input: string): Promise<string> => {
  if (!/^CA[0-9a-f]{1,32}$/.test(input)) {
    throw new CCError('CC_ERR_USAGE', {detail: `SID must be CA followed by up to 32 lowercase hex digits (a full sid, or the start of one as \`calls tail\` shows it), got ${JSON.stringify(input)}`})
  }
  return input
}

export const callSidPrefixArg = Args.string({
  description: 'The call sid (CA followed by 32 lowercase hex digits), or its start as `calls tail` shows it (CA and 8 hex digits), if that names one call.',
  required: true,
  parse: parseCallSidPrefix,
})
