import {Flags} from '@oclif/core'
import {AdminClient} from '../../src/admin/client.js'
import type {AdminResult} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {callSidPrefixArg} from '../../src/cli/flags.js'
import {CCError} from '../../src/errors.js'
import {isFullSid, resolveSidPrefix} from '../../src/sid-prefix.js'

export type CallsHangupResult = AdminResult<'calls.hangup'>

export default class CallsHangup extends BaseCommand<CallsHangupResult> {
  static override summary = 'Hang up an active call.'
  static override description = `Ends the call with a Q.850 cause (default 16, normal clearing) and returns once the call has ended; its CDR and CHANNEL_HANGUP_COMPLETE event carry that cause. The SID is the full call sid, or its start as \`calls tail\` shows it (CA and 8 hex digits): a short one is looked up among the active calls and must name exactly one (several matches fail with CC_ERR_CALL_SID_AMBIGUOUS, exit 2, listing them). The SID is checked before anything is sent: a malformed one is a usage error (exit 2). A call that is not up (never was, or has ended already) fails with CC_ERR_CALL_NOT_FOUND (exit 1).`

  static override examples = [
    {description: 'Hang up with normal clearing (16)', command: '<%= config.bin %> <%= command.id %> CA0123456789abcdef0123456789abcdef'},
    {description: 'Hang up the call `calls tail` shows as CA01234567', command: '<%= config.bin %> <%= command.id %> CA01234567'},
    {description: 'Hang up as call rejected (21)', command: '<%= config.bin %> <%= command.id %> CA0123456789abcdef0123456789abcdef --cause 21'},
  ]

  static override args = {sid: callSidPrefixArg}

  static override flags = {
    cause: Flags.integer({summary: 'Q.850 cause to hang up with, 1 to 127 (16 normal clearing, 17 user busy, 21 call rejected).', default: 16, min: 1, max: 127}),
  }

  async run(): Promise<CallsHangupResult> {
    const {args, flags} = await this.parse(CallsHangup)
    const loaded = this.loadConfig(flags.config)
    const client = await AdminClient.connect(loaded.socketPath)
    try {
      let sid = args.sid
      if (!isFullSid(sid)) {
        // A short sid: the daemon knows the full one; what it does not know is not up.
        const {calls} = await client.call('calls.list', {})
        sid = resolveSidPrefix(sid, calls.map((call) => call.call_sid), {what: 'active calls', where: '`clutchcall calls list`'}) ?? ''
        if (sid === '') throw new CCError('CC_ERR_CALL_NOT_FOUND', {call_sid: args.sid})
      }
      const result = await client.call('calls.hangup', {call_sid: sid, cause: flags.cause})
      if (!this.jsonEnabled()) this.log(`Hung up ${result.call_sid} with Q.850 cause ${result.q850_cause}.`)
      return result
    } finally {
      client.close()
    }
  }
}
