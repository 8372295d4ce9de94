// Turns EACCES / EPERM on a ClutchCall path (the home, the admin socket, a
// recording) into an error that says which path blocks this user, who owns
// it and with which mode, instead of an internal error.
import {accessSync, constants, readFileSync, statSync} from 'node:fs'
import {userInfo} from 'node:os'
import {dirname, parse, resolve, sep} from 'node:path'
import {CCError} from './errors.js'

export const isPermissionError = (error: unknown): error is NodeJS.ErrnoException & {code: 'EACCES' | 'EPERM'} =>
  error instanceof Error && ((error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'EPERM')

/** The user name of a uid, from /etc/passwd; `uid N` when it has none. */
export const userName = (uid: number): string => {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':')
      if (name && id !== undefined && Number(id) === uid) return name
    }
  } catch {
    // No readable passwd file (containers, macOS): the number still identifies the owner.
  }
  return `uid ${uid}`
}

const currentUser = (): string => {
  try {
    return userInfo().username
  } catch {
    return typeof process.getuid === 'function' ? userName(process.getuid()) : 'this user'
  }
}

/** The first directory on the way to `path` this user may not enter, else the path itself. */
const blockingPath = (path: string): string => {
  const absolute = resolve(path)
  const {root} = parse(absolute)
  const parts = absolute.slice(root.length).split(sep).filter(Boolean)
  let current = root
  for (const part of parts.slice(0, -1)) {
    current = resolve(current, part)
    try {
      accessSync(current, constants.X_OK)
    } catch (error) {
      if (isPermissionError(error)) return current
      break
    }
  }
  return absolute
}

/** The owner and mode of the nearest existing path at or above `path`. */
const ownerOf = (path: string): {path: string; owner: string; mode: string} => {
  for (let current = resolve(path); ; current = dirname(current)) {
    try {
      const stats = statSync(current)
      return {path: current, owner: userName(stats.uid), mode: (stats.mode & 0o7777).toString(8).padStart(4, '0')}
    } catch {
      if (dirname(current) === current) return {path: current, owner: 'unknown', mode: '?'}
    }
  }
}

/** CC_ERR_PERMISSION_DENIED for `path`, naming the path that blocks (the path or a directory above it) and its owner. */
export const permissionDenied = (path: string, action: string, cause?: unknown): CCError => {
  const blocker = ownerOf(blockingPath(path))
  return new CCError(
    'CC_ERR_PERMISSION_DENIED',
    {action, path: resolve(path), user: currentUser(), blocker: blocker.path === resolve(path) ? 'it' : blocker.path, owner: blocker.owner, mode: blocker.mode},
    cause === undefined ? undefined : {cause},
  )
}
