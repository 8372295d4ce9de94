import {adminCall} from '../../src/admin/client.js'
import type {AdminResult} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'

export type SecurityBansResult = AdminResult<'security.bans'>

export default class SecurityBans extends BaseCommand<SecurityBansResult> {
  static override summary = 'List the sources banned by SIP abuse control: address, reason, since, until, hits.'
  static override description = `A source is banned when it sends more SIP requests than security.rate_limit allows (reason rate_limit) or presents wrong digest credentials security.auth_failures.max times (reason auth_failures). Every request from a banned source is dropped without an answer until the ban ends; hits counts them, the one that caused the ban included. Times are UTC. See docs/sip-abuse-control.md.`

  static override examples = [
    {description: 'The banned sources', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Addresses only, for a firewall script', command: "<%= config.bin %> <%= command.id %> --json | jq -r '.result.bans[].address'"},
  ]

  async run(): Promise<SecurityBansResult> {
    const {flags} = await this.parse(SecurityBans)
    const loaded = this.loadConfig(flags.config)
    const result = await adminCall(loaded.socketPath, 'security.bans')
    if (!this.jsonEnabled()) {
      if (result.bans.length === 0) this.log('No source is banned.')
      else {
        const {table} = await import('../../src/cli/output/format.js')
        this.log(table(['address', 'reason', 'since', 'until', 'hits'], result.bans.map((ban) => [ban.address, ban.reason, ban.since, ban.until, ban.hits])))
      }
    }
    return result
  }
}
