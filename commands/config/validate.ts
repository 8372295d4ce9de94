import {Args} from '@oclif/core'
import {BaseCommand} from '../../src/cli/base-command.js'
import type {ConfigSummary} from '../../src/config/summary.js'

export default class ConfigValidate extends BaseCommand<ConfigSummary> {
  static override summary = 'Check a config file against the schema without starting anything.'
  static override description = `Validates FILE (or, without it, the config the daemon would load: --config, $CLUTCHCALL_CONFIG, $CLUTCHCALL_HOME/clutchcall.yaml, or the built-in defaults). Every problem is reported with its line and key path, such as "line 12: trunks[0].inbound.cidrs[1]: must be an IP address or CIDR". Exits 1 when the file is invalid.`

  static override examples = [
    {description: 'Validate a file before deploying it', command: '<%= config.bin %> <%= command.id %> /etc/clutchcall/clutchcall.yaml'},
    {description: 'Validate in CI and read the problems as JSON', command: "<%= config.bin %> <%= command.id %> clutchcall.yaml --json | jq '.error.data.problems'"},
  ]

  static override args = {
    file: Args.string({description: 'The YAML file to check.', required: false}),
  }

  async run(): Promise<ConfigSummary> {
    const {args, flags} = await this.parse(ConfigValidate)
    const loaded = this.loadConfig(args.file ?? flags.config)
    const {summarizeConfig} = await import('../../src/config/summary.js')
    const summary = summarizeConfig(loaded)
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../../src/cli/output/format.js')
      this.log(`${loaded.file ?? '(built-in defaults)'}: valid`)
      this.log(keyValues([
        ['tenants', summary.tenants.join(', ')],
        ['trunks', summary.trunks.join(', ') || '-'],
        ['dialplans', summary.dialplans.join(', ')],
        ['sip listeners', summary.sipListeners.join(', ')],
        ['telemetry', Object.entries(summary.telemetry).map(([name, on]) => `${name} ${on ? 'on' : 'off'}`).join(', ')],
      ]))
    }
    return summary
  }
}
