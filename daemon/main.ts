// The daemon's process entry. `clutchcall start` spawns this file; it loads the
// config, starts the gateway, reports ready (or why not) to its parent over
// IPC, and handles the signals of DESIGN §3: SIGTERM drains, SIGINT drains and
// a second SIGINT forces; SIGHUP reloads the config (docs/fleet.md).
import {parseArgs} from 'node:util'
import {loadConfig} from '../src/config/load.js'
import type {DaemonStartMessage} from '../src/daemon-ipc.js'
import {toCCError} from '../src/errors.js'
import {homePaths, resolveHome} from '../src/paths.js'
import {Gateway} from './gateway.js'
import {createLogger} from './log.js'

const {values: args} = parseArgs({
  options: {config: {type: 'string'}, foreground: {type: 'boolean', default: false}, 'drain-timeout': {type: 'string', default: '30000'}},
})

const report = (message: DaemonStartMessage): void => {
  if (process.send && process.connected) {
    process.send(message)
    process.disconnect()
  }
}

const main = async (): Promise<void> => {
  const foreground = args.foreground ?? false
  let log = createLogger({foreground, logFile: homePaths(resolveHome()).logFile})
  try {
    const loaded = loadConfig({file: args.config})
    log = createLogger({foreground, logFile: loaded.paths.logFile, node: loaded.config.node.name})
    // A reload reads the config the way the start did: the same --config, the same environment.
    const gateway = new Gateway(loaded, log, {reload: () => loadConfig({file: args.config})})
    const listeners = await gateway.start()
    log.info({listeners, config: loaded.file ?? '(defaults)'}, 'gateway ready')
    report({type: 'ready', pid: process.pid, version: gateway.status().version, listeners})

    const drainTimeoutMs = Number(args['drain-timeout'])
    let interrupts = 0
    const stop = (signal: string) => {
      log.info({signal}, 'stop requested by signal')
      gateway.requestStop(drainTimeoutMs)
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => {
      interrupts += 1
      if (interrupts === 1) stop('SIGINT')
      else void gateway.forceStop()
    })
    // `clutchcall config reload` does the same over the admin socket; the outcome is in the log either way.
    process.on('SIGHUP', () => {
      log.info({signal: 'SIGHUP'}, 'config reload requested by signal')
      try {
        gateway.reloadConfig('SIGHUP')
      } catch (error) {
        // Refused (an invalid file, a drain under way): the running config stays.
        if (toCCError(error).code === 'CC_ERR_DRAINING') log.warn('SIGHUP during a drain: the config is not reloaded')
      }
    })
    process.on('uncaughtException', (error) => {
      log.fatal({err: error}, 'uncaught exception; exiting (the next start cleans up the socket and pid file)')
      process.exit(70)
    })
    // Waits for a stop from the admin socket or a signal.
    await gateway.stopped
    process.exit(0)
  } catch (error) {
    const failure = toCCError(error)
    log.fatal({err: error, code: failure.code}, failure.message)
    report({type: 'failed', code: failure.code, details: failure.details})
    if (!process.send) process.stderr.write(`${failure.code}: ${failure.message}\n${failure.hint}\n`)
    process.exit(1)
  }
}

await main()
