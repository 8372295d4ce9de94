import {adminCall} from '../../src/admin/client.js'
import type {CallSummary} from '../../src/calls/events.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {callFilter, callFilterFlags} from '../../src/cli/flags.js'

export interface CallsListResult {
  readonly calls: readonly CallSummary[]
}

export default class CallsList extends BaseCommand<CallsListResult> {
  static override summary = 'List the active calls with their live quality.'
  static override description = `One row per call up now, oldest first: call sid, tenant, trunk, direction, from, to, state (ringing, answered, ending), duration (talk time since answer; while ringing, the time since the call started), codec, interarrival jitter in ms, packet loss in % over the last interval, and the estimated MOS (ITU-T G.107 E-model, 1 to 4.5). Codec shows - until the call is answered; jitter, loss and MOS show - until the call's stream has received its first RTP packet (estimated_mos is null then with --json).

With no calls, the table is left out and "No active calls." goes to stderr. With --json the result is {"calls": [...]}, each call with its raw fields (timestamps in epoch milliseconds, loss as a ratio from 0 to 1).`

  static override examples = [
    {description: 'Every active call', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'The calls of one tenant through one trunk', command: '<%= config.bin %> <%= command.id %> --tenant acme --trunk carrier-a'},
    {description: 'Call sids with a MOS below 3.5, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq -r '.result.calls[] | select(.estimated_mos != null and .estimated_mos < 3.5) | .call_sid'"},
  ]

  static override flags = {...callFilterFlags}

  async run(): Promise<CallsListResult> {
    const {flags} = await this.parse(CallsList)
    const loaded = this.loadConfig(flags.config)
    const {calls} = await adminCall(loaded.socketPath, 'calls.list', callFilter(flags))
    if (!this.jsonEnabled()) {
      if (calls.length === 0) this.logToStderr('No active calls.')
      else {
        const {callsTable} = await import('../../src/cli/output/calls.js')
        this.log(callsTable(calls, Date.now()))
      }
    }
    return {calls}
  }
}
