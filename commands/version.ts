import {ADMIN_PROTOCOL_VERSION} from '../src/admin/protocol.js'
import {BaseCommand} from '../src/cli/base-command.js'

export interface VersionResult {
  readonly version: string
  /** The admin protocol this CLI speaks; a daemon of another protocol refuses it. */
  readonly admin_protocol: number
  readonly node: string
  readonly platform: string
  readonly arch: string
}

export default class Version extends BaseCommand<VersionResult> {
  static override summary = 'Show the version of this CLI (also -v and --version).'
  static override description = 'Prints the clutchcall version, the admin protocol it speaks, and the Node.js version and platform it runs on. It does not ask the daemon: `clutchcall status` shows the version of the running gateway.'

  static override examples = [
    {description: 'The version', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'The same, short', command: '<%= config.bin %> -v'},
    {description: 'Only the version number, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq -r '.result.version'"},
  ]

  async run(): Promise<VersionResult> {
    await this.parse(Version)
    const result: VersionResult = {version: this.config.version, admin_protocol: ADMIN_PROTOCOL_VERSION, node: process.versions.node, platform: process.platform, arch: process.arch}
    if (!this.jsonEnabled()) this.log(`${this.config.bin} ${result.version} (admin protocol ${result.admin_protocol}, node ${result.node}, ${result.platform}-${result.arch})`)
    return result
  }
}
