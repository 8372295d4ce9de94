import {Flags} from '@oclif/core'
import {BaseCommand} from '../../src/cli/base-command.js'
import type {DdlCapabilities} from '../../src/cdr/ddl.js'
import {CCError} from '../../src/errors.js'

export interface CdrMigrateResult {
  readonly url: string
  /** What the server said it can do; null on a dry run with no server answering. */
  readonly server: DdlCapabilities | null
  readonly cluster: string | null
  readonly dry_run: boolean
  /** --node-column: the table has (or gets) the optional `node` column. */
  readonly node_column: boolean
  /** The table the CDR writer inserts into (`database.table`). */
  readonly table: string
  readonly statements: ReadonlyArray<{readonly sql: string; readonly settings: Readonly<Record<string, string | number>>}>
  /** --node-column: the ALTERs run on tables that existed without the column (on a dry run: the ones that would run where it is missing). */
  readonly node_column_alters: readonly string[]
}

export default class CdrMigrate extends BaseCommand<CdrMigrateResult> {
  static override summary = 'Create the CDR database and table in ClickHouse.'
  static override description = `Creates cdr.clickhouse.database and the CDR table cdr.clickhouse.table with the 21 columns of DESIGN §8, partitioned by month and ordered by (tenant_id, start_timestamp_ms). Safe to run again: every statement is IF NOT EXISTS, and an existing table is left as it is (a warning names any column whose type differs).

It asks the server what it supports first. On servers with insert_deduplication_token the table gets non_replicated_deduplication_window = 1000, so a batch the CDR writer re-sends is stored once. On servers without DateTime64 (such as Debian's ClickHouse 18.16) the three timestamps become DateTime, so milliseconds are truncated to seconds, and a warning says so.

With --cluster NAME every statement runs ON CLUSTER NAME: the rows go to <table>_local (ReplicatedMergeTree, path /clickhouse/tables/{shard}/<database>/<table>_local, replica {replica}) and <table> becomes Distributed(NAME, <database>, <table>_local, cityHash64(call_sid)), which is where the writer inserts.

--node-column adds an optional 22nd column, node LowCardinality(String) DEFAULT '', naming the gateway that wrote each row (its node.name): in the CREATE TABLE statements, and with ALTER TABLE ... ADD COLUMN (ON CLUSTER with --cluster, the data table first) on a table that exists without it. The 21 columns stay as they are; the CDR writer fills node only where the table has it (it looks when it first reaches the server, so restart running gateways after adding it), and rows written before read ''. See docs/fleet.md.

--dry-run prints the statements and runs nothing (with --json they are in the result); when no server answers it shows the DDL for a current ClickHouse. Needs cdr.clickhouse in the config: the embedded store needs no migration.`

  static override examples = [
    {description: 'Create the table on the configured server', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'See the DDL first', command: '<%= config.bin %> <%= command.id %> --dry-run'},
    {description: 'A replicated, sharded table on a cluster', command: '<%= config.bin %> <%= command.id %> --cluster telephony'},
    {description: 'Record which gateway of a fleet wrote each CDR', command: '<%= config.bin %> <%= command.id %> --node-column'},
  ]

  static override flags = {
    cluster: Flags.string({summary: 'Create the replicated variant ON CLUSTER NAME (a cluster of the server\'s remote_servers).', helpValue: 'NAME'}),
    'dry-run': Flags.boolean({summary: 'Print the statements; run nothing.', default: false}),
    'node-column': Flags.boolean({summary: 'Add the optional node column (the gateway that wrote each row) to the table, new or existing.', default: false}),
  }

  async run(): Promise<CdrMigrateResult> {
    const {flags} = await this.parse(CdrMigrate)
    const {CDR_NODE_COLUMN, cdrMigration, migrationScript, MODERN_CAPABILITIES, parseClusterName} = await import('../../src/cdr/ddl.js')
    const cluster = flags.cluster === undefined ? undefined : parseClusterName(flags.cluster)
    const dryRun = flags['dry-run']
    const loaded = this.loadConfig(flags.config)
    const target = loaded.config.cdr.clickhouse
    if (target === undefined) throw new CCError('CC_ERR_CDR_NO_CLICKHOUSE', {command: 'cdr migrate', spool: loaded.paths.spoolDir})
    const {clickHouseError, openClickHouse, serverCapabilities} = await import('../../src/cdr/clickhouse.js')
    // Connected to `system`: the CDR database may not exist yet; every statement names its database.
    const connection = openClickHouse({...target, database: 'system'}, {requestTimeoutMs: dryRun ? 5000 : 60_000, keepAlive: false})
    try {
      let server: DdlCapabilities | null = null
      try {
        const {version, dateTime64, dedupToken} = await serverCapabilities(connection)
        server = {version, dateTime64, dedupToken}
      } catch (error) {
        const failure = clickHouseError(connection, 'the version check', error)
        if (!dryRun) throw failure
        this.note(`${failure.message}; showing the DDL for a current ClickHouse.`)
      }
      const nodeColumn = flags['node-column']
      const plan = cdrMigration({database: target.database, table: target.table, cluster, nodeColumn}, server ?? MODERN_CAPABILITIES)
      for (const warning of plan.warnings) this.note(`Warning: ${warning}`)
      const result = {url: target.url, server, cluster: cluster ?? null, dry_run: dryRun, node_column: nodeColumn, table: plan.insertTable, statements: plan.statements, node_column_alters: plan.nodeColumnAlters.map(({statement}) => statement.sql)}
      if (dryRun) {
        if (!this.jsonEnabled()) this.log(migrationScript(plan))
        return result
      }
      for (const statement of plan.statements) {
        await connection.client.command({query: statement.sql, clickhouse_settings: statement.settings}).catch((error: unknown) => {
          throw clickHouseError(connection, statement.sql.split('\n')[0] ?? 'the DDL', error)
        })
      }
      // IF NOT EXISTS keeps a table that was there before: say where it differs from what the writer expects.
      // Both names are identifiers the config schema validated ([A-Za-z_][A-Za-z0-9_]*), and 18.16 has no query parameters.
      const dataTable = cluster === undefined ? target.table : `${target.table}_local`
      const columns = await connection.client
        .query({query: `SELECT name, type FROM system.columns WHERE database = '${target.database}' AND table = '${dataTable}'`, format: 'JSONEachRow'})
        .then((answer) => answer.json<{name: string; type: string}>())
        .catch((error: unknown) => {
          throw clickHouseError(connection, 'reading system.columns', error)
        })
      const existing = new Map(columns.map((column) => [column.name, column.type]))
      for (const [name, type] of Object.entries(plan.columnTypes)) {
        const found = existing.get(name)
        if (found !== type) this.note(`Warning: ${target.database}.${dataTable} ${found === undefined ? `has no column ${name}` : `has ${name} ${found}`}, expected ${type}; the table existed already and was left as it is.`)
      }
      // A table that existed before --node-column gets the column now; one that has it is left alone (18.16 has no ADD COLUMN IF NOT EXISTS).
      const altered: string[] = []
      for (const {table, statement} of plan.nodeColumnAlters) {
        const present = await connection.client
          .query({query: `SELECT name FROM system.columns WHERE database = '${target.database}' AND table = '${table}' AND name = '${CDR_NODE_COLUMN}'`, format: 'JSONEachRow'})
          .then((answer) => answer.json<{name: string}>())
          .catch((error: unknown) => {
            throw clickHouseError(connection, 'reading system.columns', error)
          })
        if (present.length > 0) continue
        await connection.client.command({query: statement.sql, clickhouse_settings: statement.settings}).catch((error: unknown) => {
          throw clickHouseError(connection, statement.sql, error)
        })
        altered.push(statement.sql)
      }
      result.node_column_alters = altered
      if (!this.jsonEnabled()) {
        this.log(`ClickHouse ${server?.version ?? ''} at ${target.url}: ${plan.insertTable} is ready for CDRs${cluster === undefined ? '' : ` on cluster ${cluster} (rows in ${target.database}.${dataTable})`}${nodeColumn ? `, with the node column${altered.length > 0 ? ' (added to the existing table)' : ''}` : ''}.`)
      }
      return result
    } finally {
      await connection.client.close().catch(() => undefined)
    }
  }
}
