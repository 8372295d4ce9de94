import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CDR_NODE_COLUMN_TYPE, cdrMigration, migrationScript, MODERN_CAPABILITIES} from '../../../../src/cdr/ddl.js'
import {CDR_COLUMNS} from '../../../../src/cdr/record.js'

const OLD_SERVER = {version: '18.16.1', dateTime64: false, dedupToken: false}

describe('cdr migrate --node-column', () => {
  it('without it, the table has exactly the 21 columns and no ALTER is planned', () => {
    const plan = cdrMigration({database: 'cdr', table: 'calls'})
    assert.equal(CDR_COLUMNS.length, 21)
    assert.doesNotMatch(plan.statements.map((statement) => statement.sql).join('\n'), /\bnode\b/)
    assert.deepEqual(plan.nodeColumnAlters, [])
    assert.doesNotMatch(migrationScript(plan), /node/)
  })

  it('adds node after the 21 columns in CREATE TABLE, and plans the ALTER for a table that exists without it', () => {
    const plan = cdrMigration({database: 'cdr', table: 'calls', nodeColumn: true}, OLD_SERVER)
    const create = plan.statements.find((statement) => statement.sql.startsWith('CREATE TABLE'))?.sql ?? ''
    assert.match(create, /agent_id LowCardinality\(String\),\n {4}node LowCardinality\(String\) DEFAULT ''\n\)/)
    assert.deepEqual(plan.nodeColumnAlters.map(({table, statement}) => [table, statement.sql]), [['calls', `ALTER TABLE \`cdr\`.\`calls\` ADD COLUMN node ${CDR_NODE_COLUMN_TYPE}`]])
    assert.equal(plan.nodeColumnAlters[0]?.statement.settings.allow_experimental_low_cardinality_type, 1, '18.16 needs the setting for LowCardinality')
    assert.match(migrationScript(plan), /^-- ALTER TABLE `cdr`\.`calls` ADD COLUMN node/m)
  })

  it('on a cluster: both tables get the column, the data table first, ON CLUSTER', () => {
    const plan = cdrMigration({database: 'cdr', table: 'calls', cluster: 'telephony', nodeColumn: true}, MODERN_CAPABILITIES)
    assert.equal(plan.statements.filter((statement) => statement.sql.includes(`node ${CDR_NODE_COLUMN_TYPE}`)).length, 2)
    assert.deepEqual(
      plan.nodeColumnAlters.map(({table, statement}) => [table, statement.sql]),
      [
        ['calls_local', `ALTER TABLE \`cdr\`.\`calls_local\` ON CLUSTER \`telephony\` ADD COLUMN node ${CDR_NODE_COLUMN_TYPE}`],
        ['calls', `ALTER TABLE \`cdr\`.\`calls\` ON CLUSTER \`telephony\` ADD COLUMN node ${CDR_NODE_COLUMN_TYPE}`],
      ],
    )
  })
})
