import {BaseCommand} from '../../src/cli/base-command.js'
import {callSidPrefixArg} from '../../src/cli/flags.js'
import type {RecordingInfo} from '../../src/recordings.js'

export default class RecordingsPath extends BaseCommand<RecordingInfo> {
  static override summary = 'Print the absolute path of the recording of one call.'
  static override description = 'SID is the full call sid or its start as `recordings list` and `calls tail` show it, if that names one recording (several: CC_ERR_CALL_SID_AMBIGUOUS, exit 2). A call without a recording fails with CC_ERR_RECORDING_NOT_FOUND (exit 1). Only the path goes to stdout, so it can feed a player or a copy; with --json the result has the path, size, duration and last write time.'

  static override args = {sid: callSidPrefixArg}

  static override examples = [
    {description: 'Play a recording', command: 'aplay "$(<%= config.bin %> <%= command.id %> CA01234567)"'},
    {description: 'Copy it elsewhere', command: 'cp "$(<%= config.bin %> <%= command.id %> CA0123456789abcdef0123456789abcdef)" /srv/evidence/'},
  ]

  async run(): Promise<RecordingInfo> {
    const {args, flags} = await this.parse(RecordingsPath)
    const loaded = this.loadConfig(flags.config)
    const {findRecording} = await import('../../src/recordings.js')
    const recording = findRecording(loaded.paths.recordingsDir, args.sid)
    if (!this.jsonEnabled()) this.log(recording.path)
    return recording
  }
}
