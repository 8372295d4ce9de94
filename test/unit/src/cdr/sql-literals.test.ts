import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {buildCdrQuery, buildCdrStats} from '../../../../src/cdr/query-sql.js'
import {inlineParameters, stringLiteral} from '../../../../src/cdr/sql-literals.js'

const TABLE = {kind: 'table', table: 'cdr.calls', dateTime64: false} as const

describe('query parameters as literals (ClickHouse 18.16)', () => {
  it('escapes the two characters that end or escape a string literal, and nothing else', () => {
    assert.equal(stringLiteral("o'hare"), "'o\\'hare'")
    assert.equal(stringLiteral('a\\'), "'a\\\\'")
    assert.equal(stringLiteral("\\' OR 1=1 --"), "'\\\\\\' OR 1=1 --'")
    assert.equal(stringLiteral('line\nnext'), "'line\nnext'")
  })

  it('replaces every placeholder by its typed literal, leaving no placeholder behind', () => {
    const built = buildCdrQuery(
      {filter: {tenant: "o'hare", statuses: ['busy', 'failed'], sinceMs: 1_700_000_000_123, minMos: 3.5, fromPrefix: '+1415'}, order: 'newest', limit: 50, after: {startMs: 1_700_000_100_000, callSid: 'CAx'}},
      TABLE,
    )
    const sql = inlineParameters(built)
    assert.doesNotMatch(sql, /\{p_/)
    assert.match(sql, /tenant_id = 'o\\'hare'/)
    assert.match(sql, /status IN \('busy', 'failed'\)/)
    assert.match(sql, /start_timestamp_ms >= toDateTime\(intDiv\(1700000000123, 1000\)\)/)
    assert.match(sql, /estimated_mos >= toFloat32\(toFloat64\(3\.5\)\)/)
    assert.match(sql, /startsWith\(from_number, '\+1415'\)/)
    assert.match(sql, /call_sid < 'CAx'/)
    assert.match(sql, /LIMIT 50\n/)
  })

  it('never scans a value again: a value that looks like a placeholder stays a string', () => {
    const sql = inlineParameters(buildCdrQuery({filter: {tenant: '{p_limit:UInt32}', trunk: "x' OR '1'='1"}, order: 'oldest', limit: 7}, TABLE))
    assert.match(sql, /tenant_id = '\{p_limit:UInt32\}'/)
    assert.match(sql, /trunk_id = 'x\\' OR \\'1\\'=\\'1'/)
    assert.match(sql, /LIMIT 7\n/)
  })

  it('writes the time zone of stats as a string literal', () => {
    const sql = inlineParameters(buildCdrStats({filter: {}, groupBy: 'hour', timeZone: 'Asia/Kolkata'}, TABLE))
    assert.match(sql, /toStartOfHour\(start_timestamp_ms, 'Asia\/Kolkata'\)/)
  })

  it('refuses values that do not fit their type, and placeholders without a value', () => {
    const refused = (sql: string, params: Record<string, string | number | string[]>) => assert.throws(() => inlineParameters({sql, params}), {code: 'CC_ERR_CDR_QUERY_FAILED'})
    refused('LIMIT {p:UInt32}', {p: -1})
    refused('LIMIT {p:UInt32}', {p: 2 ** 32})
    refused('LIMIT {p:UInt32}', {p: 1.5})
    refused('LIMIT {p:UInt32}', {p: '5; DROP TABLE x'})
    refused('x = {p:Int64}', {p: Number.MAX_SAFE_INTEGER + 2})
    refused('x = {p:Float64}', {p: Number.NaN})
    refused('x = {p:Float64}', {p: Number.POSITIVE_INFINITY})
    refused('x = {p:String}', {p: 5})
    refused('x IN {p:Array(String)}', {p: []})
    refused('x = {p:Date}', {p: '2026-01-01'})
    refused('x = {q:String}', {p: 'a'})
    assert.equal(inlineParameters({sql: 'x = {p:Int64}', params: {p: -42}}), 'x = -42')
  })
})
