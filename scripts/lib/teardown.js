// What a benchmark part starts (SIPp children, admin connections, daemons,
// its temporary home), stopped in one place: when the part ends, or at once
// on Ctrl-C (exit 130), so no daemon or SIPp outlives the script.
import {rmSync} from 'node:fs'

/**
 * `home`: the part's temporary home, removed unless `keep`. Add to `running` (SIPp children), `admins` and
 * `daemons` as they start; `stop()` (from the part itself, e.g. calls stuck up) and Ctrl-C make `isStopping()`
 * true; `finish()` stops everything and lets go of Ctrl-C.
 */
export const partTeardown = ({home, keep}) => {
  const running = new Set()
  const admins = []
  const daemons = []
  let stopping = false
  const cleanup = () => {
    for (const child of running) child.kill('SIGKILL')
    for (const admin of admins) admin.close()
    for (const daemon of daemons) daemon.stop()
    if (!keep) rmSync(home, {recursive: true, force: true})
  }
  const onSigint = () => {
    stopping = true
    cleanup()
    process.exit(130)
  }
  process.once('SIGINT', onSigint)
  return {
    running,
    admins,
    daemons,
    isStopping: () => stopping,
    stop: () => {
      stopping = true
    },
    finish: () => {
      cleanup()
      process.off('SIGINT', onSigint)
    },
  }
}
