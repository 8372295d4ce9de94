import {BaseCommand} from '../../src/cli/base-command.js'
import type {RecordingInfo} from '../../src/recordings.js'

export interface RecordingsListResult {
  /** The folder read: $CLUTCHCALL_HOME/recordings. */
  readonly dir: string
  readonly recordings: readonly RecordingInfo[]
}

export default class RecordingsList extends BaseCommand<RecordingsListResult> {
  static override summary = 'List the call recordings, newest first.'
  static override description = `The record dialplan node writes each call's audio to $CLUTCHCALL_HOME/recordings/<call_sid>.wav. This lists them: short sid (what \`recordings path\` and \`calls hangup\` accept), size, duration (from the WAV header) and last write time in this machine's time zone. It reads the home directly, so it works with the daemon stopped.

With no recordings the table is left out and a note goes to stderr. With --json the result is {"dir", "recordings": [{call_sid, path, size_bytes, duration_seconds, modified_ms}]}.`

  static override examples = [
    {description: 'Every recording', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Paths of recordings longer than a minute, for a script', command: "<%= config.bin %> <%= command.id %> --json | jq -r '.result.recordings[] | select(.duration_seconds > 60) | .path'"},
  ]

  async run(): Promise<RecordingsListResult> {
    const {flags} = await this.parse(RecordingsList)
    const loaded = this.loadConfig(flags.config)
    const {listRecordings} = await import('../../src/recordings.js')
    const dir = loaded.paths.recordingsDir
    const recordings = listRecordings(dir)
    if (!this.jsonEnabled()) {
      if (recordings.length === 0) this.logToStderr(`No recordings in ${dir}.`)
      else {
        const {recordingsTable} = await import('../../src/cli/output/recordings.js')
        this.log(recordingsTable(recordings))
      }
    }
    return {dir, recordings}
  }
}
