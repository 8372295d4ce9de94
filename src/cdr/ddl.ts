// The DDL of the CDR table (DESIGN §8) that `clutchcall cdr migrate` runs:
// pure functions from the target (database, table, optional cluster) and what
// the server can do to the statements, their settings and the warnings an
// operator must read. Nothing here talks to a server.
//
//   single server   CREATE DATABASE; CREATE TABLE db.table  MergeTree
//   --cluster NAME  every statement ON CLUSTER NAME; db.<table>_local  ReplicatedMergeTree
//                   and db.<table>  Distributed(NAME, db, <table>_local, cityHash64(call_sid)),
//                   which is where the writer inserts
//   --node-column   an extra `node` column after the 21 (the gateway that wrote the row,
//                   docs/fleet.md): in CREATE TABLE, and ALTER TABLE … ADD COLUMN for
//                   a table that exists without it
//
// Servers without DateTime64 (Debian's 18.16) get DateTime columns (seconds)
// and need allow_experimental_low_cardinality_type=1 for LowCardinality.
import {CDR_COLUMN_TYPES} from './columns.js'
import {CDR_COLUMNS} from './record.js'
import {CCError} from '../errors.js'

type CdrColumn = (typeof CDR_COLUMNS)[number]

/**
 * A plain ClickHouse identifier: the rule the config schema applies to
 * cdr.clickhouse.database and .table (src/config/schema.ts), and `--cluster`.
 * Identifiers are the only names that go into DDL text; they are backquoted too.
 */
export const CLICKHOUSE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** What the DDL depends on; ServerCapabilities (src/cdr/clickhouse.ts) fits. */
export interface DdlCapabilities {
  readonly version: string
  readonly dateTime64: boolean
  readonly dedupToken: boolean
}

/** A current server: DateTime64 and insert_deduplication_token (what `--dry-run` shows when no server answers). */
export const MODERN_CAPABILITIES: DdlCapabilities = {version: 'current', dateTime64: true, dedupToken: true}

export interface DdlTarget {
  readonly database: string
  readonly table: string
  /** `--cluster NAME`: ON CLUSTER, ReplicatedMergeTree and a Distributed table. */
  readonly cluster?: string | undefined
  /** `--node-column`: the optional `node` column (CDR_NODE_COLUMN_TYPE) after the 21 of DESIGN §8. */
  readonly nodeColumn?: boolean | undefined
}

/**
 * The optional column naming the gateway that wrote a row (node.name). Not one of the 21 columns:
 * `cdr migrate` adds it only with --node-column, and the writer fills it only where it exists;
 * rows written without it read ''. LowCardinality: a fleet has a handful of node names.
 */
export const CDR_NODE_COLUMN = 'node'
export const CDR_NODE_COLUMN_TYPE = "LowCardinality(String) DEFAULT ''"

export interface DdlStatement {
  readonly sql: string
  /** Settings sent with the statement (as HTTP parameters, never in the text). */
  readonly settings: Readonly<Record<string, string | number>>
}

export interface MigrationPlan {
  readonly statements: readonly DdlStatement[]
  readonly warnings: readonly string[]
  /** The column types the data table gets. */
  readonly columnTypes: Readonly<Record<CdrColumn, string>>
  /** The table the writer inserts into (the Distributed one with a cluster), `db.table`. */
  readonly insertTable: string
  /**
   * With --node-column: for each table the plan creates, the statement that adds the column to
   * it when it exists already without it (CREATE … IF NOT EXISTS leaves an existing table as it is).
   * `cdr migrate` runs one only after system.columns shows the column missing (18.16 has no
   * ADD COLUMN IF NOT EXISTS).
   */
  readonly nodeColumnAlters: ReadonlyArray<{readonly table: string; readonly statement: DdlStatement}>
}

/** `--cluster NAME` checked with the identifier rule; a bad name is a usage error. */
export const parseClusterName = (value: string): string => {
  if (!CLICKHOUSE_IDENTIFIER.test(value)) {
    throw new CCError('CC_ERR_USAGE', {
      detail: `--cluster ${JSON.stringify(value)} is not a plain ClickHouse identifier: use letters, digits and _, not starting with a digit (as in the server's <remote_servers> config)`,
    })
  }
  return value
}

const assertIdentifier = (what: string, value: string): void => {
  // The config schema has validated these already; this keeps the pure function safe on its own.
  if (!CLICKHOUSE_IDENTIFIER.test(value)) throw new CCError('CC_ERR_USAGE', {detail: `${what} ${JSON.stringify(value)} is not a plain ClickHouse identifier`})
}

const quote = (identifier: string): string => `\`${identifier}\``

/** The column types for a server: DESIGN §8 exactly, or DateTime instead of DateTime64(3) where the server lacks it. */
export const cdrColumnTypes = (capabilities: Pick<DdlCapabilities, 'dateTime64'>): Record<CdrColumn, string> => {
  const types = {...CDR_COLUMN_TYPES}
  if (!capabilities.dateTime64) {
    for (const column of CDR_COLUMNS) types[column] = types[column].replace('DateTime64(3)', 'DateTime')
  }
  return types
}

const columnList = (types: Readonly<Record<CdrColumn, string>>, nodeColumn = false): string =>
  [...CDR_COLUMNS.map((column) => `    ${column} ${types[column]}`), ...(nodeColumn ? [`    ${CDR_NODE_COLUMN} ${CDR_NODE_COLUMN_TYPE}`] : [])].join(',\n')

/** The statements that create the CDR database and table(s); idempotent (IF NOT EXISTS). */
export const cdrMigration = (target: DdlTarget, capabilities: DdlCapabilities = MODERN_CAPABILITIES): MigrationPlan => {
  assertIdentifier('cdr.clickhouse.database', target.database)
  assertIdentifier('cdr.clickhouse.table', target.table)
  const cluster = target.cluster === undefined ? undefined : parseClusterName(target.cluster)
  const types = cdrColumnTypes(capabilities)
  const warnings: string[] = []
  const settings: Record<string, number> = {}
  if (!capabilities.dateTime64) {
    settings.allow_experimental_low_cardinality_type = 1
    warnings.push(
      `ClickHouse ${capabilities.version} has no DateTime64: start_timestamp_ms, answer_timestamp_ms and end_timestamp_ms are created as DateTime, so their milliseconds are truncated to seconds. Upgrade the server (20.1 or newer) and migrate into a new table to keep milliseconds.`,
    )
  }
  const db = quote(target.database)
  const nodeColumn = target.nodeColumn === true
  const onCluster = cluster === undefined ? '' : ` ON CLUSTER ${quote(cluster)}`
  const layout = 'PARTITION BY toYYYYMM(start_timestamp_ms)\nORDER BY (tenant_id, start_timestamp_ms)'
  const statements: DdlStatement[] = [{sql: `CREATE DATABASE IF NOT EXISTS ${db}${onCluster}`, settings}]

  if (cluster === undefined) {
    // A non-replicated MergeTree deduplicates inserts only with a window; the writer's per-batch token needs it.
    const dedup = capabilities.dedupToken ? '\nSETTINGS non_replicated_deduplication_window = 1000' : ''
    statements.push({
      sql: `CREATE TABLE IF NOT EXISTS ${db}.${quote(target.table)}\n(\n${columnList(types, nodeColumn)}\n)\nENGINE = MergeTree\n${layout}${dedup}`,
      settings,
    })
  } else {
    const local = `${target.table}_local`
    statements.push(
      {
        sql: `CREATE TABLE IF NOT EXISTS ${db}.${quote(local)}${onCluster}\n(\n${columnList(types, nodeColumn)}\n)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/${target.database}/${local}', '{replica}')\n${layout}`,
        settings,
      },
      {
        sql: `CREATE TABLE IF NOT EXISTS ${db}.${quote(target.table)}${onCluster}\n(\n${columnList(types, nodeColumn)}\n)\nENGINE = Distributed(${quote(cluster)}, ${db}, ${quote(local)}, cityHash64(call_sid))`,
        settings,
      },
    )
  }
  // The data table first: a Distributed table must never name a column its shards lack.
  const tables = cluster === undefined ? [target.table] : [`${target.table}_local`, target.table]
  const nodeColumnAlters = nodeColumn
    ? tables.map((table) => ({table, statement: {sql: `ALTER TABLE ${db}.${quote(table)}${onCluster} ADD COLUMN ${CDR_NODE_COLUMN} ${CDR_NODE_COLUMN_TYPE}`, settings}}))
    : []
  return {statements, warnings, columnTypes: types, insertTable: `${target.database}.${target.table}`, nodeColumnAlters}
}

/** The statements as one SQL script (what `--dry-run` prints): settings as SET lines, statements ended with `;`. */
export const migrationScript = (plan: MigrationPlan): string => {
  const lines: string[] = []
  const settings = new Map<string, string | number>()
  for (const statement of plan.statements) for (const [name, value] of Object.entries(statement.settings)) settings.set(name, value)
  for (const [name, value] of settings) lines.push(`SET ${name} = ${typeof value === 'number' ? value : `'${value}'`};`)
  if (settings.size > 0) lines.push('')
  for (const statement of plan.statements) lines.push(`${statement.sql};`, '')
  if (plan.nodeColumnAlters.length > 0) {
    lines.push('-- Only where the table exists already without the node column (cdr migrate checks system.columns first):')
    for (const {statement} of plan.nodeColumnAlters) lines.push(`-- ${statement.sql};`)
  }
  return lines.join('\n').trimEnd()
}
