// oclif's command_not_found hook: an unknown command is a usage error
// (CC_ERR_UNKNOWN_COMMAND, exit 2) that suggests the nearest command id, in
// the --json envelope too. oclif loads this file only when a command is not
// found, so it costs the other commands nothing.
import type {Hook} from '@oclif/core'
import {CCError} from '../../errors.js'
import {closestMatch} from '../../suggest.js'

/** The error for an unknown command id (`calls:tial`), with the nearest known id as the suggestion. */
export const unknownCommandError = (id: string, knownIds: Iterable<string>): CCError => {
  const typed = id.replaceAll(':', ' ')
  const nearest = closestMatch(id, knownIds)
  const spaced = nearest?.replaceAll(':', ' ')
  return new CCError(
    'CC_ERR_UNKNOWN_COMMAND',
    {command: typed, suggestion: spaced === undefined ? '' : `; did you mean \`${spaced}\`?`},
    {data: {did_you_mean: spaced ?? null}},
  )
}

const hook: Hook<'command_not_found'> = async function (options) {
  const error = unknownCommandError(options.id, options.config.commandIDs)
  process.exitCode = error.exitCode
  if ((options.argv ?? []).includes('--json')) {
    process.stdout.write(`${JSON.stringify({status: error.exitCode, error: error.toJSON(), warnings: []}, null, 2)}\n`)
  } else {
    process.stderr.write(`Error (${error.code}): ${error.message}\nTry: ${error.hint}\n`)
  }
  // A result tells oclif the hook handled the command.
  return error.code
}

export default hook
