import {adminCall} from '../../src/admin/client.js'
import type {AdminResult} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {CCError} from '../../src/errors.js'
import {homePaths, resolveHome} from '../../src/paths.js'

export type ConfigReloadOutcome = AdminResult<'config.reload'>

export default class ConfigReload extends BaseCommand<ConfigReloadOutcome> {
  static override summary = 'Make the running gateway re-read its config file, without dropping calls.'
  static override description = `The daemon re-reads the config file it was started with and validates it with the same schema as \`config validate\`. An invalid file is refused (CC_ERR_CONFIG_RELOAD_REFUSED, exit 1, every problem with its line and key path) and the gateway keeps running on its current config.

A valid file applies its tenants, trunks, dialplans, security section and sip.drain_grace_s to the calls that start from then on; calls in progress finish on the config they started with. Keys that are bound when the daemon starts (listeners, RTP ports, the admin socket, metrics, tracing, CDR, HEP, WebRTC, auth, node.name) keep their running value: the result lists each changed one under "needs a restart" (restartRequired with --json), and the daemon log says the same. Sending SIGHUP to the daemon (systemctl reload clutchcall) does the same reload; its outcome is in the log. --config only tells the CLI where to find the admin socket: the daemon always re-reads the file it was started with. During a drain the reload is refused (CC_ERR_DRAINING). See docs/fleet.md.`

  static override examples = [
    {description: 'Apply an edited config file', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'What needs a restart, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq '.result.restartRequired'"},
  ]

  async run(): Promise<ConfigReloadOutcome> {
    const {flags} = await this.parse(ConfigReload)
    const result = await adminCall(this.socketFor(flags.config), 'config.reload').catch((error: unknown) => {
      // A file the CLI could not read names no socket: the daemon of the home is asked, and when none answers, the file's own error is what to fix.
      if (error instanceof CCError && error.code === 'CC_ERR_DAEMON_NOT_RUNNING' && this.configError) throw this.configError
      throw error
    })
    if (!this.jsonEnabled()) {
      const {keyValues} = await import('../../src/cli/output/format.js')
      this.log(keyValues([
        ['config', result.file ?? '(built-in defaults)'],
        ['reloaded at', result.reloadedAt],
        ['applied to new calls', result.applied.join(', ') || '(nothing changed)'],
        ['needs a restart', result.restartRequired.join(', ') || '-'],
        ['calls up', `${result.activeCalls} (each finishes on the config it started with)`],
      ]))
    }
    if (result.restartRequired.length > 0) this.note(`These keys changed but keep their running value until the gateway is restarted: ${result.restartRequired.join(', ')}`)
    return result
  }

  /** Set when the config file could not be loaded here; the daemon's own check then decides. */
  private configError: CCError | undefined

  /**
   * The admin socket: the config's, as every command finds it. When the file is invalid (which is
   * what a reload may be asked to check), the home's default socket: the daemon there re-reads the
   * file itself and refuses it with the same problems, saying its running config stays.
   */
  private socketFor(file: string | undefined): string {
    try {
      return this.loadConfig(file).socketPath
    } catch (error) {
      if (!(error instanceof CCError) || (error.code !== 'CC_ERR_CONFIG_INVALID' && error.code !== 'CC_ERR_CONFIG_YAML')) throw error
      this.configError = error
      return homePaths(resolveHome()).defaultSocket
    }
  }
}
