import {AdminClient} from '../../src/admin/client.js'
import type {CdrStatus} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'
import {CCError} from '../../src/errors.js'

export type CdrStatusResult = CdrStatus & {readonly daemon: 'running' | 'stopped'}

export default class CdrStatusCommand extends BaseCommand<CdrStatusResult> {
  static override summary = 'Show the CDR pipeline: spool depth, oldest pending row, last success, last error.'
  static override description = `With ClickHouse configured, every CDR waits in the local spool until ClickHouse acknowledges its batch: "Pending rows" is that queue, "Oldest pending" the end time of the call at its head. A growing queue with a recent "Last error" means ClickHouse is down or refusing rows; nothing is dropped, the writer retries with backoff. Without ClickHouse the spool is the store (queried by \`cdr query\`) and nothing is pending.

The Journal line is the active-call journal of crash-safe billing ($CLUTCHCALL_HOME/journal/active-calls.log): its path and size, the connected calls it holds and the CDRs the daemon recovered from it at start; with the daemon stopped, the calls the next start will give a recovered CDR. It is absent when cdr.journal.enabled is false.

When the daemon is not running the command reads the spool and the journal on disk instead and says so (Daemon: stopped); the since-start counters are then absent.`

  static override examples = [
    {description: 'The CDR pipeline at a glance', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Alert when rows pile up', command: "<%= config.bin %> <%= command.id %> --json | jq -e '.result.pendingRows < 10000'"},
  ]

  async run(): Promise<CdrStatusResult> {
    const {flags} = await this.parse(CdrStatusCommand)
    const loaded = this.loadConfig(flags.config)
    let result: CdrStatusResult
    try {
      const client = await AdminClient.connect(loaded.socketPath)
      try {
        result = {...(await client.call('cdr.status')), daemon: 'running'}
      } finally {
        client.close()
      }
    } catch (error) {
      if (!(error instanceof CCError) || error.code !== 'CC_ERR_DAEMON_NOT_RUNNING') throw error
      this.note('The daemon is not running; this is what the spool and the journal on disk hold.')
      const {offlineCdrStatus} = await import('../../src/cdr/offline-status.js')
      result = {...offlineCdrStatus(loaded.config.cdr, loaded.paths.spoolDir, loaded.paths.journalDir), daemon: 'stopped'}
    }
    if (!this.jsonEnabled()) {
      const {cdrStatusBlock} = await import('../../src/cli/output/cdr-status.js')
      this.log(cdrStatusBlock(result, result.daemon))
    }
    return result
  }
}
