import {adminCall} from '../../src/admin/client.js'
import type {HepStatus} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'

export default class HepDisable extends BaseCommand<HepStatus> {
  static override summary = 'Switch HEPv3 SIP capture off.'
  static override description = `No frame is sent from now on; calls are not affected. Switching off capture that is off already is no error (exit 0). Capture switched on by heplify.enabled in the config comes back on at the next start of the daemon.`

  static override examples = [
    {description: 'Stop capturing', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Stop capturing and print the final counters, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq '.result | {framesSent, sendErrors}'"},
  ]

  async run(): Promise<HepStatus> {
    const {flags} = await this.parse(HepDisable)
    const loaded = this.loadConfig(flags.config)
    const status = await adminCall(loaded.socketPath, 'hep.disable')
    if (!this.jsonEnabled()) {
      const {hepStatusBlock} = await import('../../src/cli/output/hep.js')
      this.logToStderr('HEP capture is off.')
      this.log(hepStatusBlock(status))
    }
    return status
  }
}
