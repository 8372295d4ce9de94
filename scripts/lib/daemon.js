// A daemon in a temporary home for the benchmark scripts, driven through the
// CLI (`clutchcall start|stop --json`) as a user would.
import {spawnSync} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const bin = join(fileURLToPath(new URL('../..', import.meta.url)), 'bin', 'run.js')

/**
 * The CLI against the daemon of `home` (CLUTCHCALL_HOME; CLUTCHCALL_CONFIG and
 * the names in `unset` removed from the environment).
 */
export const daemonIn = (home, {unset = []} = {}) => {
  const env = {...process.env, CLUTCHCALL_HOME: home}
  for (const name of ['CLUTCHCALL_CONFIG', ...unset]) delete env[name]
  const cli = (args) => JSON.parse(spawnSync(process.execPath, [bin, ...args, '--json'], {env, encoding: 'utf8'}).stdout)
  return {
    env,
    cli,
    /** Starts the daemon: its pid, SIP UDP port and metrics URL (the whole `start` result as `result`); throws when it did not start. */
    start() {
      const started = cli(['start'])
      if (started.status !== 0) throw new Error(`the daemon did not start: ${JSON.stringify(started.error)}`)
      const {listeners} = started.result
      return {
        result: started.result,
        pid: started.result.pid,
        sipPort: listeners.find((listener) => listener.name === 'sip' && listener.transport === 'udp').port,
        metricsUrl: listeners.find((listener) => listener.name === 'metrics')?.url,
      }
    },
    /** Stops it (forced after 5 s). */
    stop() {
      spawnSync(process.execPath, [bin, 'stop', '--force', '--timeout', '5', '--json'], {env, stdio: 'ignore'})
    },
  }
}
