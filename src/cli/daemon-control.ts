// Starting and stopping the daemon process from the CLI. The daemon is spawned
// by file path (never imported): detached, its output appended to daemon.log,
// and it says "ready" or "failed" over an IPC channel that is closed after.
import {spawn, type ChildProcess} from 'node:child_process'
import {closeSync, openSync} from 'node:fs'
import type {Listener, StopResult} from '../admin/protocol.js'
import {AdminClient} from '../admin/client.js'
import type {LoadedConfig} from '../config/load.js'
import {isDaemonStartMessage, type DaemonStartMessage} from '../daemon-ipc.js'
import {CCError} from '../errors.js'
import {inspectInstance, isProcessAlive} from '../instance.js'
import {daemonEntry, ensureHome} from '../paths.js'

export interface StartResult {
  readonly alreadyRunning: boolean
  readonly pid: number
  readonly version: string
  readonly home: string
  readonly configFile: string | null
  readonly listeners: readonly Listener[]
  readonly logFile: string
}

const daemonArgs = (loaded: LoadedConfig, foreground: boolean): string[] => [
  // The daemon collects every thread's heap once a load is over (daemon/memory/idle-collection.ts).
  '--expose-gc',
  daemonEntry(),
  ...(loaded.file === undefined ? [] : ['--config', loaded.file]),
  ...(foreground ? ['--foreground'] : []),
]

/** Resolves with the daemon's first IPC message, or rejects when it exits or times out first. */
const awaitStartMessage = (child: ChildProcess, loaded: LoadedConfig, timeoutMs: number): Promise<DaemonStartMessage> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new CCError('CC_ERR_DAEMON_START_TIMEOUT', {seconds: timeoutMs / 1000, log: loaded.paths.logFile}))
    }, timeoutMs)
    child.once('message', (message) => {
      clearTimeout(timer)
      if (isDaemonStartMessage(message)) resolve(message)
      else reject(new CCError('CC_ERR_DAEMON_START_FAILED', {detail: 'unexpected message from the daemon', log: loaded.paths.logFile}))
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new CCError('CC_ERR_DAEMON_START_FAILED', {detail: `the process exited (${signal ?? `code ${code}`}) before it was ready`, log: loaded.paths.logFile}))
    })
  })

const throwIfFailed = (message: DaemonStartMessage): Extract<DaemonStartMessage, {type: 'ready'}> => {
  if (message.type === 'failed') throw new CCError(message.code, message.details)
  return message
}

/** Describes the daemon already running for this home, when there is one. */
export const runningDaemon = async (loaded: LoadedConfig): Promise<StartResult | undefined> => {
  const instance = await inspectInstance({pidFile: loaded.paths.pidFile, socketPath: loaded.socketPath})
  if (!instance.running) return undefined
  const client = await AdminClient.connect(loaded.socketPath)
  try {
    const status = await client.call('daemon.status')
    return {alreadyRunning: true, pid: status.pid, version: status.version, home: status.home, configFile: status.configFile, listeners: status.listeners, logFile: loaded.paths.logFile}
  } finally {
    client.close()
  }
}

/** Spawns the daemon detached and resolves once it reports ready. */
export const startDetached = async (loaded: LoadedConfig, timeoutMs: number): Promise<StartResult> => {
  ensureHome(loaded.paths.home)
  const logFd = openSync(loaded.paths.logFile, 'a', 0o600)
  let child: ChildProcess
  try {
    child = spawn(process.execPath, daemonArgs(loaded, false), {detached: true, stdio: ['ignore', logFd, logFd, 'ipc'], env: process.env})
  } finally {
    closeSync(logFd)
  }
  const ready = throwIfFailed(await awaitStartMessage(child, loaded, timeoutMs))
  child.removeAllListeners('exit')
  if (child.connected) child.disconnect()
  child.unref()
  return {alreadyRunning: false, pid: ready.pid, version: ready.version, home: loaded.paths.home, configFile: loaded.file ?? null, listeners: ready.listeners, logFile: loaded.paths.logFile}
}

/**
 * Runs the daemon attached (systemd, containers): its logs go to this terminal,
 * signals to this process are passed on once, and the exit code is the daemon's.
 * The daemon gets its own process group so a terminal's Ctrl-C reaches it once, through us.
 */
export const runForeground = async (loaded: LoadedConfig, timeoutMs: number, onReady: (result: StartResult) => void): Promise<number> => {
  ensureHome(loaded.paths.home)
  const child = spawn(process.execPath, daemonArgs(loaded, true), {detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env})
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal)
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [signal, forward(signal)] as const)
  for (const [signal, handler] of handlers) process.on(signal, handler)
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))))
  try {
    const ready = throwIfFailed(await awaitStartMessage(child, loaded, timeoutMs))
    onReady({alreadyRunning: false, pid: ready.pid, version: ready.version, home: loaded.paths.home, configFile: loaded.file ?? null, listeners: ready.listeners, logFile: '(stdout)'})
    return await exited
  } finally {
    for (const [signal, handler] of handlers) process.off(signal, handler)
  }
}

export interface StopOutcome {
  readonly wasRunning: boolean
  readonly pid: number | null
  readonly activeCallsAtStop: number
  /** How long the daemon still took new INVITEs while its health probes answered 503 (sip.drain_grace_s; 0 when nobody probed it). */
  readonly drainGraceMs: number
  readonly forced: boolean
  readonly stoppedInMs: number
  readonly cleaned: readonly string[]
}

const waitForExit = async (pid: number, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return !isProcessAlive(pid)
}

/** Grace beyond the drain timeout for flushing telemetry and closing listeners. */
const EXIT_GRACE_MS = 15_000
/** How long a forced stop waits for the daemon to exit before it kills it. */
const FORCED_EXIT_WAIT_MS = 5000

/**
 * Asks the daemon to drain and waits for its process to exit. With force the
 * drain timeout is 0 and a daemon that does not answer or exit is killed.
 */
export const stopDaemon = async (loaded: LoadedConfig, options: {timeoutMs: number; force: boolean}): Promise<StopOutcome> => {
  const began = Date.now()
  const instance = await inspectInstance({pidFile: loaded.paths.pidFile, socketPath: loaded.socketPath})
  if (!instance.running) return {wasRunning: false, pid: null, activeCallsAtStop: 0, drainGraceMs: 0, forced: false, stoppedInMs: 0, cleaned: instance.cleaned}
  let stop: StopResult | undefined
  let pid = instance.pid
  try {
    const client = await AdminClient.connect(loaded.socketPath, {timeoutMs: 5000})
    pid = client.hello?.pid ?? pid
    stop = await client.call('daemon.stop', {timeout_ms: options.force ? 0 : options.timeoutMs})
    // Forced: a daemon whose drain hangs is killed below rather than waited for.
    await (options.force ? Promise.race([client.closed(), new Promise((resolve) => setTimeout(resolve, FORCED_EXIT_WAIT_MS).unref())]) : client.closed())
    client.close()
  } catch (error) {
    if (!options.force || pid === undefined) throw error
  }
  if (pid === undefined) throw new CCError('CC_ERR_INTERNAL', {detail: 'the daemon answered but its pid is unknown'})
  const drainMs = options.force ? 0 : options.timeoutMs
  let exited = await waitForExit(pid, drainMs + (options.force ? FORCED_EXIT_WAIT_MS : EXIT_GRACE_MS))
  let forced = false
  if (!exited && options.force) {
    process.kill(pid, 'SIGKILL')
    forced = true
    exited = await waitForExit(pid, 5000)
  }
  if (!exited) throw new CCError('CC_ERR_STOP_TIMEOUT', {pid, seconds: Math.round((drainMs + EXIT_GRACE_MS) / 1000)})
  // A killed daemon leaves its files behind: clean them now rather than at the next start.
  const after = forced ? await inspectInstance({pidFile: loaded.paths.pidFile, socketPath: loaded.socketPath}) : {running: false as const, cleaned: []}
  return {wasRunning: true, pid, activeCallsAtStop: stop?.activeCalls ?? 0, drainGraceMs: stop?.graceMs ?? 0, forced, stoppedInMs: Date.now() - began, cleaned: after.running ? [] : after.cleaned}
}
