import {adminCall} from '../../src/admin/client.js'
import type {HepStatus} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'

export default class HepStatusCommand extends BaseCommand<HepStatus> {
  static override summary = 'Show HEPv3 capture: state, collector, capture id, frames sent, send errors, time left.'
  static override description = `State is on or off (and why it went off: hep disable, or the TTL expired). Frames sent and send errors count since the daemon started, SIP and RTCP. Send errors are frames that could not leave or that the collector refused: with its port closed, the kernel reports each refused frame (ICMP port unreachable), so errors grow with the frames sent while calls go on unaffected. Time left is the TTL given to \`hep enable --ttl\`. The auth key is never shown, only whether one is set.`

  static override examples = [
    {description: 'Capture at a glance', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Alert when capture was left on', command: "<%= config.bin %> <%= command.id %> --json | jq -e '.result.state == \"off\"'"},
  ]

  async run(): Promise<HepStatus> {
    const {flags} = await this.parse(HepStatusCommand)
    const loaded = this.loadConfig(flags.config)
    const status = await adminCall(loaded.socketPath, 'hep.status')
    if (!this.jsonEnabled()) {
      const {hepStatusBlock} = await import('../../src/cli/output/hep.js')
      this.log(hepStatusBlock(status))
    }
    return status
  }
}
