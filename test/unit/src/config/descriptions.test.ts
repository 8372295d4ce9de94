// Every config key is described, and every description belongs to a key: the
// config reference (docs/configuration.md) is generated from both.
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parse} from 'yaml'
import * as z from 'zod/mini'
import {CONFIG_DESCRIPTIONS} from '../../../../src/config/descriptions.js'
import {schemaKeys} from '../../../../src/config/reference.js'
import {configSchema, identifier} from '../../../../src/config/schema.js'

const keys = schemaKeys(configSchema, new Map([[identifier, 'id']]))

describe('config key descriptions', () => {
  it('every key of the schema has a description (add it to src/config/descriptions.ts)', () => {
    const missing = keys.filter((key) => CONFIG_DESCRIPTIONS[key.path] === undefined).map((key) => key.path)
    assert.deepEqual(missing, [])
  })

  it('every description names a key of the schema', () => {
    const paths = new Set(keys.map((key) => key.path))
    assert.deepEqual(Object.keys(CONFIG_DESCRIPTIONS).filter((path) => !paths.has(path)), [])
  })

  it('every value key shows an example or a default', () => {
    const bare = keys.filter((key) => key.leaf && !key.hasDefault && CONFIG_DESCRIPTIONS[key.path]?.example === undefined).map((key) => key.path)
    assert.deepEqual(bare, [])
  })

  it('every example is a value the schema accepts at its key', () => {
    const problems: string[] = []
    for (const key of keys.filter((entry) => entry.leaf)) {
      const example = CONFIG_DESCRIPTIONS[key.path]?.example
      if (example === undefined) continue
      const value: unknown = parse(example)
      if (key.schema === undefined) {
        if (!key.type.includes(`\`${String(value)}\``)) problems.push(`${key.path}: ${example} is not one of ${key.type}`)
      } else if (!z.safeParse(key.schema as z.ZodMiniType, value).success) {
        problems.push(`${key.path}: ${example} is not ${key.type}`)
      }
    }
    assert.deepEqual(problems, [])
  })
})

describe('schemaKeys', () => {
  it('lists nested keys with types, ranges, defaults and what is required', () => {
    const byPath = new Map(keys.map((key) => [key.path, key]))
    const {schema: _schema, ...port} = byPath.get('sip.listen[].port') ?? assert.fail('sip.listen[].port is listed')
    assert.deepEqual(port, {path: 'sip.listen[].port', type: 'integer 0–65535', hasDefault: false, defaultValue: undefined, required: true, leaf: true})
    assert.equal(byPath.get('rtp.shards')?.type, '`auto`, or integer 1–64')
    assert.equal(byPath.get('rtp.shards')?.defaultValue, 'auto')
    assert.equal(byPath.get('heplify.enabled')?.defaultValue, false)
    assert.equal(byPath.get('trunks[].inbound')?.leaf, false)
    assert.equal(byPath.get('trunks[].inbound')?.required, false)
    assert.equal(byPath.get('trunks[].id')?.type, 'id')
    assert.equal(byPath.get('metrics.listen')?.type, 'string: must be HOST:PORT (IPv6 as [ADDR]:PORT)')
    assert.equal(byPath.get('webrtc.codecs')?.type, 'list of one of `opus`, `PCMU`, at least one')
  })

  it('splits a discriminated union into its variants', () => {
    const paths = keys.map((key) => key.path)
    assert.ok(paths.includes('dialplans.<plan>.nodes.<node>.type'))
    assert.ok(paths.includes('dialplans.<plan>.nodes.<node>[type=bridge].timeout_s'))
    assert.ok(paths.includes('dialplans.<plan>.nodes.<node>[type=play].tone.frequency_hz'))
    assert.ok(!paths.includes('dialplans.<plan>.nodes.<node>[type=hangup].next'), 'hangup has no next')
  })

  it('walks any zod/mini schema: a new key shows up, a removed one goes', () => {
    const schema = z.strictObject({a: z._default(z.int().check(z.gte(1), z.lte(9)), 3), b: z.optional(z.strictObject({c: z.enum(['x', 'y'])}))})
    assert.deepEqual(
      schemaKeys(schema).map((key) => [key.path, key.type, key.required]),
      [
        ['a', 'integer 1–9', false],
        ['b', 'section', false],
        ['b.c', 'one of `x`, `y`', true],
      ],
    )
  })
})
