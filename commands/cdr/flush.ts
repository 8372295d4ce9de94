import {Flags} from '@oclif/core'
import {AdminClient} from '../../src/admin/client.js'
import type {CdrStatus} from '../../src/admin/protocol.js'
import {BaseCommand} from '../../src/cli/base-command.js'

export default class CdrFlush extends BaseCommand<CdrStatus> {
  static override summary = 'Send every pending CDR to ClickHouse now and wait for the acknowledgement.'
  static override description = `Skips the batch interval: the writer sends all pending rows at once and the command returns when ClickHouse has acknowledged them (exit 0), or fails with CC_ERR_CDR_FLUSH_INCOMPLETE after --timeout with the rows still safe in the spool (exit 1). With the embedded store it makes the spool durable (fsync) and returns. Use it before a planned ClickHouse maintenance, or in tests that read CDRs right after a call.`

  static override examples = [
    {description: 'Flush, waiting up to 30 s', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Flush with a 2-minute deadline, for a script', command: '<%= config.bin %> <%= command.id %> --timeout 120 --json'},
  ]

  static override flags = {
    timeout: Flags.integer({summary: 'Seconds to wait for ClickHouse to acknowledge every pending row.', default: 30, min: 0, max: 600}),
  }

  async run(): Promise<CdrStatus> {
    const {flags} = await this.parse(CdrFlush)
    const loaded = this.loadConfig(flags.config)
    const client = await AdminClient.connect(loaded.socketPath, {timeoutMs: flags.timeout * 1000 + 10_000})
    try {
      const status = await client.call('cdr.flush', {timeout_ms: flags.timeout * 1000})
      if (!this.jsonEnabled()) {
        const {cdrStatusBlock} = await import('../../src/cli/output/cdr-status.js')
        this.logToStderr(status.store === 'clickhouse' ? `Flushed: ClickHouse has every row (${status.rowsWritten} written since start).` : 'Flushed: the spool is on disk.')
        this.log(cdrStatusBlock(status, 'running'))
      }
      return status
    } finally {
      client.close()
    }
  }
}
