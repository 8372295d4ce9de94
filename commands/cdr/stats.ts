import {BaseCommand} from '../../src/cli/base-command.js'
import {cdrStatsFlags} from '../../src/cli/cdr-flags.js'
import type {CdrGroupBy} from '../../src/cdr/filters.js'
import type {CdrStatsRow} from '../../src/cdr/query-sql.js'

export interface CdrStatsResult {
  readonly store: 'embedded' | 'clickhouse'
  readonly source: string
  readonly group_by: CdrGroupBy
  /** The zone of the day and hour buckets: `UTC`, or this machine's with --local. */
  readonly time_zone: string
  readonly rows: readonly CdrStatsRow[]
}

export default class CdrStats extends BaseCommand<CdrStatsResult> {
  static override summary = 'Carrier figures from the CDRs: calls, ASR, ACD, minutes, MOS.'
  static override description = `One row per tenant (the default), trunk, day or hour (--group-by), over the CDRs that match the filters (the same filters as cdr query): calls; answered calls; ASR, the answer-seizure ratio (answered / calls); ACD, the mean duration of answered calls; minutes (the sum of durations / 60); and call quality over the answered calls that carried media (packets received): how many, their mean estimated MOS, and the share of them below MOS 3.5. Groups come in ascending order of their key.

Day and hour buckets are in UTC, so figures match carrier invoices and do not move with the machine's time zone; --local buckets in this machine's time zone instead (its name is in the heading and in the result's time_zone). --since and --until read a date or time without an offset in the same zone. The store and the safety rules are those of cdr query (embedded spool via chDB, or ClickHouse: query parameters on 19.x+, escaped literals on older servers). Formats: table, json, ndjson, csv; the machine formats and --json carry ratios from 0 to 1, ACD in seconds, and null where a group has nothing to average.`

  static override examples = [
    {description: 'Per tenant, all time', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Per trunk over the last week', command: '<%= config.bin %> <%= command.id %> --group-by trunk --since 7d'},
    {description: 'Per UTC day for one tenant in March', command: '<%= config.bin %> <%= command.id %> --group-by day --tenant acme --since 2026-03-01 --until 2026-04-01'},
    {description: 'Per local hour today, as CSV', command: '<%= config.bin %> <%= command.id %> --group-by hour --local --since 1d --format csv'},
  ]

  static override flags = cdrStatsFlags

  async run(): Promise<CdrStatsResult> {
    const {flags} = await this.parse(CdrStats)
    const {describeCdrFilter, parseCdrFilter, parseFormat, parseGroupBy} = await import('../../src/cdr/filters.js')
    const local = flags.local === true
    const filter = parseCdrFilter(flags, {now: Date.now(), zone: local ? 'local' : 'utc'})
    const groupBy = parseGroupBy(flags['group-by'])
    const format = parseFormat(flags.format)
    const timeZone = local ? Intl.DateTimeFormat().resolvedOptions().timeZone : 'UTC'
    const loaded = this.loadConfig(flags.config)
    const {runCdrStats} = await import('../../src/cdr/stores.js')
    const answer = await runCdrStats({clickhouse: loaded.config.cdr.clickhouse, spoolDir: loaded.paths.spoolDir, command: 'cdr stats'}, {filter, groupBy, timeZone})
    if (!this.jsonEnabled()) {
      const {cdrStatsTable, machineRows, noCdrsMessage, statsCsvColumns} = await import('../../src/cli/output/cdr.js')
      if (format === 'table') {
        if (answer.rows.length === 0) this.logToStderr(noCdrsMessage(answer, describeCdrFilter(filter)))
        else this.log(cdrStatsTable(answer.rows, groupBy, timeZone))
      } else {
        for (const chunk of machineRows(answer.rows, format, statsCsvColumns(groupBy))) process.stdout.write(chunk)
      }
    }
    return {store: answer.store, source: answer.source, group_by: groupBy, time_zone: timeZone, rows: answer.rows}
  }
}
