import {adminCall} from '../../src/admin/client.js'
import type {AdminResult} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'

export type TrunksStatusResult = AdminResult<'trunks.status'>

export default class TrunksStatus extends BaseCommand<TrunksStatusResult> {
  static override summary = 'Show each trunk: registration (state, expiry, last error) and OPTIONS reachability (up/down, RTT, failures).'
  static override description = `Registration is none (no outbound.register), registering, registered (with the time until the binding expires), failed (retried with backoff; the last error says why) or unregistered. Reachability is off (no outbound.keepalive), unknown (no probe finished yet), up or down; off and unknown trunks take calls like up ones. A down trunk gets no new calls: they go to the next trunk of its failover list. See docs/sip-trunks.md.`

  static override examples = [
    {description: 'Every trunk at a glance', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Fail when a trunk is down or not registered', command: "<%= config.bin %> <%= command.id %> --json | jq -e 'all(.result.trunks[]; .reachability.state != \"down\" and .registration.state != \"failed\")'"},
  ]

  async run(): Promise<TrunksStatusResult> {
    const {flags} = await this.parse(TrunksStatus)
    const loaded = this.loadConfig(flags.config)
    const result = await adminCall(loaded.socketPath, 'trunks.status')
    if (!this.jsonEnabled()) {
      const {trunksStatusView} = await import('../../src/cli/output/trunks.js')
      this.log(trunksStatusView(result.trunks))
    }
    return result
  }
}
