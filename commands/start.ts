import {Flags} from '@oclif/core'
import {BaseCommand} from '../src/cli/base-command.js'
import type {StartResult} from '../src/cli/daemon-control.js'

export default class Start extends BaseCommand<StartResult> {
  static override summary = 'Start the gateway daemon.'
  static override description = `Starts the gateway in the background and returns once every listener is bound, printing what listens where. With no config file the gateway runs on its embedded defaults: SIP on 127.0.0.1:5060 (UDP and TCP), the default tenant echoing audio to every caller, metrics on 127.0.0.1:9091, CDRs in the local spool, tracing off until a collector is configured (tracing.endpoint, tracing.enabled: true, OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), HEP off. Every listener is printed as bound; a wildcard address (0.0.0.0, ::) is shown as such, with the address to use from this host.

If a daemon already runs for this home, start reports it and exits 0 (as an init script would). Use --foreground under systemd or in a container: the daemon's JSON log goes to stdout and the command exits with the daemon's exit code.`

  static override examples = [
    {description: 'Start on the embedded defaults', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Start with a config file', command: '<%= config.bin %> <%= command.id %> --config /etc/clutchcall/clutchcall.yaml'},
    {description: 'Run attached, for systemd or a container', command: '<%= config.bin %> <%= command.id %> --foreground'},
    {description: 'Start and read where it listens, as JSON', command: '<%= config.bin %> <%= command.id %> --json'},
  ]

  static override flags = {
    foreground: Flags.boolean({summary: 'Run attached: log to stdout and stay until the daemon exits.', default: false}),
    'ready-timeout': Flags.integer({summary: 'Seconds to wait for the daemon to report ready.', default: 30, min: 1, max: 600}),
  }

  async run(): Promise<StartResult> {
    const {flags} = await this.parse(Start)
    const loaded = this.loadConfig(flags.config)
    const {runForeground, runningDaemon, startDetached} = await import('../src/cli/daemon-control.js')
    const running = await runningDaemon(loaded)
    if (running) {
      this.note(`The gateway daemon is already running (pid ${running.pid}); nothing started.`)
      if (running.configFile !== (loaded.file ?? null)) this.note(`It runs with config ${running.configFile ?? '(defaults)'}, not ${loaded.file ?? '(defaults)'}.`)
      await this.print(running)
      return running
    }
    if (flags.foreground) {
      const code = await runForeground(loaded, flags['ready-timeout'] * 1000, (ready) => this.note(`clutchcall daemon ready (pid ${ready.pid})`))
      this.exit(code)
    }
    const started = await startDetached(loaded, flags['ready-timeout'] * 1000)
    await this.print(started)
    return started
  }

  private async print(result: StartResult): Promise<void> {
    if (this.jsonEnabled()) return
    const {keyValues, listenersTable} = await import('../src/cli/output/format.js')
    this.log(keyValues([
      ['state', result.alreadyRunning ? 'already running' : 'started'],
      ['pid', result.pid],
      ['version', result.version],
      ['home', result.home],
      ['config', result.configFile ?? '(built-in defaults)'],
      ['log', result.logFile],
    ]))
    this.log(listenersTable(result.listeners))
  }
}
