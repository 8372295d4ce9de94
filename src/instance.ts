// Is a daemon running for this home? Both the CLI (`start`, `stop`) and the
// daemon (before it binds) ask, and both clean up a stale socket or pid file
// rather than trust it: a file with no live daemon behind it means nothing.
import {readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {createConnection} from 'node:net'

export const readPidFile = (pidFile: string): number | undefined => {
  try {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10)
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

export const writePidFile = (pidFile: string, pid: number): void => {
  const temporary = `${pidFile}.${pid}.tmp`
  writeFileSync(temporary, `${pid}\n`, {mode: 0o600})
  renameSync(temporary, pidFile)
}

/** A zombie has exited but waits for its parent (or a slow init) to reap it: it counts as gone. */
const isZombie = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}

export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return !isZombie(pid)
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Whether a live pid is a ClutchCall daemon and not an unrelated process that reused the pid. */
export const isDaemonProcess = (pid: number): boolean => {
  if (!isProcessAlive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon/main.js')
  } catch {
    // No /proc (not Linux): a live pid is the best evidence there is.
    return true
  }
}

/** `answering` when a process accepts connections on the socket. */
export const probeSocket = (socketPath: string, timeoutMs = 1000): Promise<'answering' | 'absent' | 'stale'> =>
  new Promise((resolve) => {
    const socket = createConnection(socketPath)
    const timer = setTimeout(() => {
      socket.destroy()
      resolve('answering')
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      socket.destroy()
      resolve('answering')
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(error.code === 'ENOENT' ? 'absent' : 'stale')
    })
  })

export type InstanceState = {readonly running: true; readonly pid: number | undefined} | {readonly running: false; readonly cleaned: readonly string[]}

/**
 * Finds the running daemon, if any. When none answers, removes a stale socket
 * and a pid file whose process is gone (or is not a ClutchCall daemon).
 */
export const inspectInstance = async (paths: {readonly pidFile: string; readonly socketPath: string}): Promise<InstanceState> => {
  const pid = readPidFile(paths.pidFile)
  const socketState = await probeSocket(paths.socketPath)
  if (socketState === 'answering') return {running: true, pid}
  const cleaned: string[] = []
  if (socketState === 'stale') {
    rmSync(paths.socketPath, {force: true})
    cleaned.push(paths.socketPath)
  }
  if (pid !== undefined) {
    if (isDaemonProcess(pid)) return {running: true, pid}
    rmSync(paths.pidFile, {force: true})
    cleaned.push(paths.pidFile)
  }
  return {running: false, cleaned}
}
