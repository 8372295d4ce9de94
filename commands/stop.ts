import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import type {StopOutcome} from '../src/cli/daemon-control.js'

export default class Stop extends BaseCommand<StopOutcome> {
  static override summary = 'Stop the gateway daemon, draining calls first.'
  static override description = `Draining: the gateway stops taking new calls, waits up to --timeout seconds for calls in progress to end, hangs up the rest with Q.850 cause 16, flushes CDRs and HEP, and exits. The command returns once the process is gone.

Behind a SIP load balancer that probes the gateway with OPTIONS, the probes get 503 from the first moment of the drain, while new INVITEs are still taken for sip.drain_grace_s (default 10 s, never beyond --timeout): the calls the balancer sends before its next probe are not refused. A gateway no OPTIONS probe reached in the last 60 s refuses new INVITEs at once. See docs/fleet.md.

--force skips the wait (calls are hung up at once) and kills a daemon that does not answer or exit. Stopping when no daemon runs is not an error: it says so, removes stale socket and pid files, and exits 0.`

  static override examples = [
    {description: 'Drain for up to 30 seconds, then stop', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Give calls five minutes to finish', command: '<%= config.bin %> <%= command.id %> --timeout 300'},
    {description: 'Stop now', command: '<%= config.bin %> <%= command.id %> --force'},
  ]

  static override flags = {
    timeout: Flags.integer({summary: 'Seconds to wait for calls to end before hanging them up.', default: 30, min: 0, max: 3600}),
    force: Flags.boolean({summary: 'Hang up every call now; kill the daemon if it does not exit.', default: false}),
  }

  async run(): Promise<StopOutcome> {
    const {flags} = await this.parse(Stop)
    const loaded = this.loadConfig(flags.config)
    const {stopDaemon} = await import('../src/cli/daemon-control.js')
    const outcome = await stopDaemon(loaded, {timeoutMs: flags.timeout * 1000, force: flags.force})
    if (!outcome.wasRunning) this.note('The gateway daemon is not running; nothing to stop.')
    for (const file of outcome.cleaned) this.note(`Removed stale ${file}`)
    if (outcome.wasRunning && !this.jsonEnabled()) {
      const {keyValues} = await import('../src/cli/output/format.js')
      this.log(keyValues([
        ['state', outcome.forced ? 'killed' : 'stopped'],
        ['pid', outcome.pid ?? '-'],
        ['calls at stop', outcome.activeCallsAtStop],
        ['drain grace', outcome.drainGraceMs > 0 ? `${(outcome.drainGraceMs / 1000).toFixed(1)}s (new calls taken while health probes got 503)` : 'none (new calls refused at once)'],
        ['took', `${(outcome.stoppedInMs / 1000).toFixed(1)}s`],
      ]))
    }
    return outcome
  }
}
