import {Flags} from '@oclif/core'
// yaml is in every command's bundle already: the config loader parses with it.
import {stringify} from 'yaml'
import {BaseCommand} from '../../src/cli/base-command.js'
import type {Config} from '../../src/config/schema.js'

export interface ConfigShowResult {
  readonly file: string | null
  readonly home: string
  readonly socket: string
  readonly envOverrides: readonly string[]
  readonly config: Config
}

export default class ConfigShow extends BaseCommand<ConfigShowResult> {
  static override summary = 'Print the effective config: file, defaults and environment merged, secrets redacted.'
  static override description = 'Shows what the daemon would run with. Every default is filled in (tracing.enabled shows whether traces are exported: only when a collector is configured), environment overrides (CLUTCHCALL_HOME, CLUTCHCALL_CONFIG, OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, OTEL_SDK_DISABLED) are applied and named, and every password is printed as ********.'

  static override examples = [
    {description: 'The effective config as YAML', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'One section, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq '.result.config.metrics'"},
  ]

  static override flags = {
    section: Flags.string({
      summary: 'Print only this top-level section.',
      options: ['sip', 'rtp', 'tenants', 'trunks', 'dialplans', 'metrics', 'tracing', 'cdr', 'heplify', 'admin', 'auth'],
    }),
  }

  async run(): Promise<ConfigShowResult> {
    const {flags} = await this.parse(ConfigShow)
    const loaded = this.loadConfig(flags.config)
    const {redactSecrets} = await import('../../src/config/redact.js')
    const config = redactSecrets(loaded.config)
    const result: ConfigShowResult = {file: loaded.file ?? null, home: loaded.paths.home, socket: loaded.socketPath, envOverrides: loaded.envOverrides, config}
    if (!this.jsonEnabled()) {
      const header = [`# file: ${result.file ?? '(built-in defaults)'}`, `# home: ${result.home}`]
      if (result.envOverrides.length > 0) header.push(`# environment overrides: ${result.envOverrides.join(', ')}`)
      this.log(header.join('\n'))
      if (flags.section === undefined) this.log(stringify(config).trimEnd())
      else this.log(stringify({[flags.section]: config[flags.section as keyof Config]}).trimEnd())
    }
    return result
  }
}
