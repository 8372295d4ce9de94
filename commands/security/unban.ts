import {isIP} from 'node:net'
import {Args, Flags} from '@oclif/core'
import {adminCall} from '../../src/admin/client.js'
import type {AdminResult} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {CCError} from '../../src/errors.js'

export type SecurityUnbanResult = AdminResult<'security.unban'>

export default class SecurityUnban extends BaseCommand<SecurityUnbanResult> {
  static override summary = 'Let a banned source back in (or every banned source with --all).'
  static override description = `Lifts the ban at once: the next request from the address is admitted as its trunks say, and its request and failure counts start again. Unbanning an address that is not banned is no error (exit 0); the result lists the addresses actually let back in. Give exactly one of ADDRESS and --all (otherwise a usage error, exit 2).`

  static override examples = [
    {description: 'Let one carrier address back in', command: '<%= config.bin %> <%= command.id %> 203.0.113.7'},
    {description: 'Lift every ban', command: '<%= config.bin %> <%= command.id %> --all'},
  ]

  static override args = {address: Args.string({description: 'The banned IPv4 or IPv6 address (see `security bans`).', required: false})}

  static override flags = {
    all: Flags.boolean({summary: 'Lift every ban.', default: false}),
  }

  async run(): Promise<SecurityUnbanResult> {
    const {args, flags} = await this.parse(SecurityUnban)
    if ((args.address === undefined) === !flags.all) throw new CCError('CC_ERR_USAGE', {detail: 'give exactly one of ADDRESS and --all'})
    if (args.address !== undefined && isIP(args.address) === 0) throw new CCError('CC_ERR_USAGE', {detail: `ADDRESS must be an IPv4 or IPv6 address, got ${JSON.stringify(args.address)}`})
    const loaded = this.loadConfig(flags.config)
    const result = await adminCall(loaded.socketPath, 'security.unban', args.address === undefined ? {all: true} : {address: args.address})
    if (!this.jsonEnabled()) {
      if (result.unbanned.length === 0) this.log(args.address === undefined ? 'No source was banned.' : `${args.address} was not banned.`)
      else this.log(`Let back in: ${result.unbanned.join(', ')}.`)
    }
    return result
  }
}
