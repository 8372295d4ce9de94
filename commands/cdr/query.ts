import {BaseCommand} from '../../src/cli/base-command.js'
import {cdrQueryFlags} from '../../src/cli/cdr-flags.js'
import type {CdrRecord} from '../../src/cdr/record.js'

export interface CdrQueryResult {
  /** `embedded` (the spool, read with chDB) or `clickhouse`. */
  readonly store: 'embedded' | 'clickhouse'
  /** The spool directory, or `URL database.table`. */
  readonly source: string
  readonly rows: readonly CdrRecord[]
  /** Pass as --after for the next page; null when this page is the last. */
  readonly next_cursor: string | null
}

export default class CdrQuery extends BaseCommand<CdrQueryResult> {
  static override summary = 'Search Call Detail Records.'
  static override description = `Prints the CDRs that match every filter given, newest first (--order oldest for the other way), at most --limit (default 100). A full page ends with a note on stderr naming the next page's cursor (in .result.next_cursor with --json, null on the last page): run the same query with --after CURSOR for the rows that follow. Paging is by (start time, call sid), so pages never repeat or skip a row, even while new calls arrive. With cdr.clickhouse in the config it queries that table; without, it reads the embedded store, the spool files in $CLUTCHCALL_HOME/cdr-spool, with chDB (the optional npm package chdb, loaded by this command only). Either way the same SQL runs, and every value you give travels as a query parameter, never as SQL text; a ClickHouse older than 19.x (no query parameters, such as Debian's 18.16) gets each value as a literal of its type, strings escaped, numbers checked, so no input can become SQL.

Times: the table shows each call's start in this machine's time zone, or in UTC with --utc; --since and --until read a date or time without an offset in the same zone. --until is exclusive. --min-mos and --max-mos look only at calls that carried media (a call without media has MOS 0). Formats: table (cli-table3), json (one JSON array), ndjson (one object per line), csv (a header row, RFC 4180 quoting, CRLF line ends). The machine formats and --json carry all 21 CDR columns with timestamps in epoch milliseconds (UTC instants) and answer_timestamp_ms null for unanswered calls. Bad flag values are usage errors (exit 2) that name the flag and what it accepts.`

  static override examples = [
    {description: 'The 100 newest CDRs', command: '<%= config.bin %> <%= command.id %>'},
    {description: "One tenant's failed or busy calls of the last day", command: '<%= config.bin %> <%= command.id %> --tenant acme --status failed,busy --since 1d'},
    {description: 'Poor calls to Germany in March, times in UTC', command: '<%= config.bin %> <%= command.id %> --to +49 --max-mos 3.5 --since 2026-03-01 --until 2026-04-01 --utc'},
    {description: 'A CSV of every call of a trunk for a spreadsheet', command: '<%= config.bin %> <%= command.id %> --trunk carrier-a --limit 1000000 --format csv > carrier-a.csv'},
    {description: 'The next 100, after the cursor the first page printed', command: '<%= config.bin %> <%= command.id %> --after 1767225600000-CA0123456789abcdef0123456789abcdef'},
    {description: 'Calls from a SIP user', command: '<%= config.bin %> <%= command.id %> --from alice'},
    {description: 'Call sids only, for a script', command: "<%= config.bin %> <%= command.id %> --format ndjson --status failed | jq -r .call_sid"},
  ]

  static override flags = cdrQueryFlags

  async run(): Promise<CdrQueryResult> {
    const {flags} = await this.parse(CdrQuery)
    const {describeCdrFilter, formatCursor, parseCdrFilter, parseCursor, parseFormat, parseLimit, parseOrder} = await import('../../src/cdr/filters.js')
    const filter = parseCdrFilter(flags, {now: Date.now(), zone: flags.utc ? 'utc' : 'local'})
    const limit = parseLimit(flags.limit)
    const order = parseOrder(flags.order)
    const format = parseFormat(flags.format)
    const after = flags.after === undefined ? undefined : parseCursor(flags.after)
    const loaded = this.loadConfig(flags.config)
    // The store (chDB or the ClickHouse client) loads only now, and only for this command.
    const {runCdrQuery} = await import('../../src/cdr/stores.js')
    const answer = await runCdrQuery({clickhouse: loaded.config.cdr.clickhouse, spoolDir: loaded.paths.spoolDir, command: 'cdr query'}, {filter, order, limit, ...(after === undefined ? {} : {after})})
    const last = answer.rows.at(-1)
    // A full page may have more after it; the cursor of its last row continues exactly there.
    const nextCursor = answer.rows.length === limit && last !== undefined ? formatCursor(last) : null
    if (nextCursor !== null) this.note(`Showing ${limit} CDR(s), ${order} first; more may match. Next page: --after ${nextCursor}`)
    if (!this.jsonEnabled()) {
      const {CDR_CSV_COLUMNS, cdrTable, machineRows, noCdrsMessage} = await import('../../src/cli/output/cdr.js')
      if (format === 'table') {
        if (answer.rows.length === 0) this.logToStderr(noCdrsMessage(answer, describeCdrFilter(filter)))
        else this.log(cdrTable(answer.rows, flags.utc))
      } else {
        for (const chunk of machineRows(answer.rows, format, CDR_CSV_COLUMNS)) process.stdout.write(chunk)
      }
    }
    return {store: answer.store, source: answer.source, rows: answer.rows, next_cursor: nextCursor}
  }
}

