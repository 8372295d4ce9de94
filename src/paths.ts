// Where ClutchCall keeps its state. The home directory holds the admin socket,
// the pid file, the daemon log, the CDR spool, the active-call journal, recordings
// and the generated QUIC certificate.
import {mkdirSync, statSync, chmodSync} from 'node:fs'
import {homedir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {CCError} from './errors.js'
import {isPermissionError, permissionDenied, userName} from './permissions.js'

export interface HomePaths {
  readonly home: string
  readonly pidFile: string
  readonly logFile: string
  readonly defaultSocket: string
  readonly defaultConfig: string
  readonly spoolDir: string
  /** The active-call journal (crash-safe billing: src/cdr/journal-format.ts). */
  readonly journalDir: string
  readonly recordingsDir: string
  /** The generated QUIC certificate and key, when quic.cert / quic.key are not configured. */
  readonly quicDir: string
}

/** Expands a leading `~/` the way a shell would, so config values like `~/.clutchcall/admin.sock` work. */
export const expandTilde = (path: string): string => (path === '~' || path.startsWith('~/') ? join(homedir(), path.slice(1)) : path)

export const homePaths = (home: string): HomePaths => ({
  home,
  pidFile: join(home, 'daemon.pid'),
  logFile: join(home, 'daemon.log'),
  defaultSocket: join(home, 'admin.sock'),
  defaultConfig: join(home, 'clutchcall.yaml'),
  spoolDir: join(home, 'cdr-spool'),
  journalDir: join(home, 'journal'),
  recordingsDir: join(home, 'recordings'),
  quicDir: join(home, 'quic'),
})

/** `$CLUTCHCALL_HOME`, else `~/.clutchcall`. System services set CLUTCHCALL_HOME=/var/lib/clutchcall in their unit. */
export const resolveHome = (env: NodeJS.ProcessEnv = process.env): string =>
  resolve(expandTilde(env.CLUTCHCALL_HOME && env.CLUTCHCALL_HOME.length > 0 ? env.CLUTCHCALL_HOME : '~/.clutchcall'))

/** Creates the home directory with mode 0700, and refuses one that others can read. */
export const ensureHome = (home: string): void => {
  let stats
  try {
    mkdirSync(home, {recursive: true, mode: 0o700})
    stats = statSync(home)
  } catch (error) {
    if (isPermissionError(error)) throw permissionDenied(home, 'cannot create or enter the home', error)
    throw error
  }
  if (!stats.isDirectory()) throw new CCError('CC_ERR_HOME_UNSAFE', {path: home, detail: 'not a directory'})
  if (typeof process.getuid === 'function' && stats.uid !== process.getuid()) {
    throw new CCError('CC_ERR_HOME_UNSAFE', {path: home, detail: `owned by ${userName(stats.uid)} (uid ${stats.uid}), not by this user (uid ${process.getuid()})`})
  }
  if ((stats.mode & 0o077) !== 0) chmodSync(home, 0o700)
}

/** The package root, found from this file's location in `dist/src/`. */
export const packageRoot = (): string => resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** The compiled daemon entry point; the CLI spawns it by path and never imports it. */
export const daemonEntry = (): string => join(packageRoot(), 'dist', 'daemon', 'main.js')
