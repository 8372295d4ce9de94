import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../src/cli/base-command.js'

export interface ConfigInitResult {
  /** The file written; null when the sample went to stdout. */
  readonly file: string | null
  readonly bytes: number
  /** Whether --force replaced an existing file. */
  readonly overwritten: boolean
  /** The sample itself, only when it was asked for on stdout (with --json it travels in the envelope). */
  readonly content?: string
}

export default class ConfigInit extends BaseCommand<ConfigInitResult> {
  static override summary = 'Write an annotated starting config: tenants, trunks, a dialplan, CDRs, HEP, tracing.'
  static override description = `Writes a commented sample config to FILE (or the --config path), else to $CLUTCHCALL_HOME/clutchcall.yaml, where the daemon looks for it. The sample has a tenant, an inbound trunk with a CIDR and digest auth, an outbound trunk, a dialplan that answers, plays a tone, hands the call to an AI agent and falls back to a bridge, CDRs in the embedded store (a ClickHouse section commented out), HEP capture off, and tracing. \`config validate\` accepts it as written; its passwords are samples (change-me) to replace.

An existing file is never replaced without --force. The file is created with mode 0600, its folder with 0700 if missing. FILE "-" or --stdout prints the sample instead of writing it.`

  static override examples = [
    {description: 'Start from the sample in the home directory, then check it', command: '<%= config.bin %> <%= command.id %> && <%= config.bin %> config validate'},
    {description: 'Write it for a system service', command: 'sudo <%= config.bin %> <%= command.id %> /etc/clutchcall/clutchcall.yaml'},
    {description: 'Read the sample without writing anything', command: '<%= config.bin %> <%= command.id %> --stdout | less'},
  ]

  static override args = {
    file: Args.string({description: 'Where to write the config; "-" prints it. Default: $CLUTCHCALL_HOME/clutchcall.yaml.', required: false}),
  }

  static override flags = {
    force: Flags.boolean({summary: 'Replace FILE if it exists.', default: false}),
    stdout: Flags.boolean({summary: 'Print the sample on stdout instead of writing a file.', default: false}),
  }

  async run(): Promise<ConfigInitResult> {
    const {args, flags} = await this.parse(ConfigInit)
    if (flags.stdout || args.file === '-') {
      const {SAMPLE_CONFIG} = await import('../../src/config/sample.js')
      if (!this.jsonEnabled()) process.stdout.write(SAMPLE_CONFIG)
      return {file: null, bytes: Buffer.byteLength(SAMPLE_CONFIG), overwritten: false, content: SAMPLE_CONFIG}
    }
    const {resolve} = await import('node:path')
    const {expandTilde, homePaths, resolveHome} = await import('../../src/paths.js')
    const target = args.file ?? flags.config
    const file = target === undefined ? homePaths(resolveHome()).defaultConfig : resolve(expandTilde(target))
    const {writeSampleConfig} = await import('../../src/config/init.js')
    const written = writeSampleConfig(file, {force: flags.force})
    if (!this.jsonEnabled()) {
      const validate = target === undefined ? `${this.config.bin} config validate` : `${this.config.bin} config validate ${file}`
      this.log(`${written.overwritten ? 'Replaced' : 'Wrote'} ${file}`)
      this.log(`Next: replace the sample passwords (change-me) and addresses, then run \`${validate}\`.`)
    }
    return written
  }
}
