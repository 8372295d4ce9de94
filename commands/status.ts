import {adminCall} from '../src/admin/client.js'
import type {DaemonStatus} from '../src/admin/protocol.js'
import {BaseCommand} from '../src/cli/base-command.js'

export default class Status extends BaseCommand<DaemonStatus> {
  static override summary = 'Show the running gateway: node name, pid, version, uptime, health, listeners, calls, the QUIC certificate and telemetry.'
  static override description = 'Asks the daemon over the admin socket. Exits 1 with CC_ERR_DAEMON_NOT_RUNNING when no daemon answers, so scripts can use it as a liveness check.'

  static override examples = [
    {description: 'Human-readable status', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Active calls, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq '.result.calls.active'"},
  ]

  async run(): Promise<DaemonStatus> {
    const {flags} = await this.parse(Status)
    const loaded = this.loadConfig(flags.config)
    const status = await adminCall(loaded.socketPath, 'daemon.status')
    if (!this.jsonEnabled()) {
      const {formatDuration, keyValues, listenersTable} = await import('../src/cli/output/format.js')
      const {telemetryTable} = await import('../src/cli/output/telemetry.js')
      const health = status.sip.health === 'serving' ? 'serving (OPTIONS 200)' : `${status.sip.health} (OPTIONS 503${status.sip.takingCalls ? '; new calls still taken during the drain grace' : ''})`
      this.log(keyValues([
        ['state', status.draining ? 'draining' : 'running'],
        ['node name', status.nodeName],
        ['pid', status.pid],
        ['version', `${status.version} (admin protocol ${status.protocol}, node ${status.node})`],
        ['uptime', formatDuration(status.uptimeSeconds)],
        ['home', status.home],
        ['config', `${status.configFile ?? '(built-in defaults)'}${status.configReloadedAt === null ? '' : ` (reloaded ${status.configReloadedAt})`}`],
        ['health', health],
        ['active calls', status.calls.active],
        ['SIP transactions', status.sip.overloaded ? `${status.sip.transactions} (overloaded: new INVITEs get 503)` : status.sip.transactions],
        ['banned sources', status.sip.bannedSources],
        ...(status.sip.tls === undefined ? [] : [['TLS certificate', `${status.sip.tls.subject}, valid to ${status.sip.tls.validTo}${status.sip.tls.verifyClient ? '; client certificates required' : ''}`] as [string, string]]),
        ...(status.quic
          ? ([
              ['QUIC', `${status.quic.listen} (UDP), ALPN ${status.quic.alpn}, ${status.quic.connections} connection(s), ${status.quic.sessions} session(s)`],
              ['QUIC certificate', `SHA-256 ${status.quic.certificate.sha256} (${status.quic.certificate.source}, valid until ${status.quic.certificate.notAfter})`],
              ...(status.quic.webtransport ? [['WebTransport', `${status.quic.webtransport.url} (UDP ${status.quic.webtransport.listen}, HTTP/3)`] as const] : []),
            ] as const)
          : []),
      ]))
      this.log(listenersTable(status.listeners))
      this.log(telemetryTable(status.telemetry))
    }
    return status
  }
}
