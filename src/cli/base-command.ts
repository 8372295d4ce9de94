// The base of every command: the global flags, the --json envelope, and the
// mapping of every failure to a registry error and its exit code
// (0 ok, 1 failed, 2 usage).
import {Command, Errors, Flags, type Interfaces} from '@oclif/core'
import {loadConfig, type LoadedConfig} from '../config/load.js'
import {CCError, EXIT_USAGE, toCCError} from '../errors.js'
import {isPermissionError, permissionDenied} from '../permissions.js'
import {closestMatch} from '../suggest.js'

/** The one --json envelope: `status` is the exit code; exactly one of result / error is present. */
export type JsonEnvelope<T> =
  | {readonly status: 0; readonly result: T; readonly warnings: readonly string[]}
  | {readonly status: number; readonly error: ReturnType<CCError['toJSON']>; readonly warnings: readonly string[]}

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

export abstract class BaseCommand<T> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({
      char: 'c',
      summary: 'Config file (default: $CLUTCHCALL_CONFIG, else $CLUTCHCALL_HOME/clutchcall.yaml if present, else built-in defaults).',
      helpGroup: 'GLOBAL',
    }),
  }

  private readonly warnings: string[] = []

  abstract override run(): Promise<T>

  /** Loads the same config the daemon would, so the CLI finds the same home and socket. */
  protected loadConfig(file: string | undefined): LoadedConfig {
    return loadConfig({file})
  }

  /** A warning on stderr (or in the envelope's `warnings` with --json). */
  protected note(message: string): void {
    if (this.jsonEnabled()) this.warnings.push(message)
    else process.stderr.write(`${message}\n`)
  }

  protected override toSuccessJson(result: T): JsonEnvelope<T> {
    return {status: 0, result, warnings: this.warnings}
  }

  protected override toErrorJson(error: unknown): JsonEnvelope<T> {
    const failure = asRegistryError(error)
    return {status: failure.exitCode, error: failure.toJSON(), warnings: this.warnings}
  }

  /** An unknown flag, with the nearest flag of this command: `--tennant` → `--tenant`. */
  private unknownFlagError(error: unknown): CCError | undefined {
    const unknown = error instanceof Errors.CLIError && 'flags' in error && Array.isArray(error.flags) ? (error.flags as unknown[]).filter((flag): flag is string => typeof flag === 'string') : []
    if (unknown.length === 0) return undefined
    const known = Object.keys({...this.ctor.baseFlags, ...this.ctor.flags, json: true}).map((name) => `--${name}`)
    const described = unknown.map((flag) => {
      const nearest = flag.startsWith('--') ? closestMatch(flag.split('=')[0] ?? flag, known) : undefined
      return nearest === undefined ? flag : `${flag} (did you mean ${nearest}?)`
    })
    return new CCError('CC_ERR_USAGE', {detail: `Nonexistent flag${unknown.length === 1 ? '' : 's'}: ${described.join(', ')}`})
  }

  override async catch(error: Error & {exitCode?: number}): Promise<void> {
    // oclif signals `this.exit(n)` with an ExitError; it is no failure of ours.
    if (error instanceof Errors.ExitError) throw error
    const failure = this.unknownFlagError(error) ?? asRegistryError(error)
    process.exitCode = failure.exitCode
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(failure))
      return
    }
    process.stderr.write(`Error (${failure.code}): ${failure.message}\nTry: ${failure.hint}\n`)
  }
}

/** What a failed system call was trying to do, in the words of a permission error. */
const SYSCALL_ACTIONS: Readonly<Record<string, string>> = {
  access: 'cannot access',
  connect: 'cannot connect to',
  lstat: 'cannot look at',
  mkdir: 'cannot create',
  open: 'cannot open',
  opendir: 'cannot list',
  rename: 'cannot rename',
  rmdir: 'cannot remove',
  scandir: 'cannot list',
  stat: 'cannot look at',
  unlink: 'cannot remove',
}

/** Flag and argument errors from oclif's parser are usage errors (exit 2); anything unknown is internal. */
export const asRegistryError = (error: unknown): CCError => {
  if (error instanceof CCError) return error
  if (isPermissionError(error) && typeof error.path === 'string') return permissionDenied(error.path, SYSCALL_ACTIONS[error.syscall ?? ''] ?? 'cannot access', error)
  if (error instanceof Errors.CLIError && ('parse' in error || error.oclif?.exit === EXIT_USAGE)) {
    const detail = error.message.split('\n').filter((line) => line.trim().length > 0 && !line.startsWith('See more help'))
    return new CCError('CC_ERR_USAGE', {detail: detail.join(' ').trim()})
  }
  return toCCError(error)
}
