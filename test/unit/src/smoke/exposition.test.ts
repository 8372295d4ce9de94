import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {missingFamilies, parseExposition, parseValue, REQUIRED_FAMILIES, sumSamples} from '../../../../src/smoke/exposition.js'

const histogram = (name: string, labels = '') => [
  `# HELP ${name} h`,
  `# TYPE ${name} histogram`,
  `${name}_bucket{${labels}le="1"} 1`,
  `${name}_bucket{${labels}le="+Inf"} 2`,
  `${name}_sum{${labels.replace(/,$/, '')}} 3.5`,
  `${name}_count{${labels.replace(/,$/, '')}} 2`,
]

/** A minimal exposition with every DESIGN §6 family. */
const valid = (): string[] =>
  Object.entries(REQUIRED_FAMILIES).flatMap(([name, type]) => {
    if (type === 'histogram') return histogram(name)
    return [`# HELP ${name} x`, `# TYPE ${name} ${type}`, `${name}{tenant="default",result="completed"} 4`, `${name}{tenant="default",result="busy"} 1`]
  })

const problemsOf = (lines: readonly string[]): readonly string[] => parseExposition(`${lines.join('\n')}\n`).problems

describe('the exposition checker', () => {
  it('accepts a valid exposition with the DESIGN §6 families, and sums a counter by labels', () => {
    const exposition = parseExposition(`${valid().join('\n')}\n`)
    assert.deepEqual(exposition.problems, [])
    assert.deepEqual(missingFamilies(exposition), [])
    assert.equal(sumSamples(exposition, 'clutchcall_calls_total'), 5)
    assert.equal(sumSamples(exposition, 'clutchcall_calls_total', {result: 'completed'}), 4)
    assert.equal(sumSamples(exposition, 'clutchcall_calls_total', {result: 'failed'}), 0)
  })

  it('values: floats, exponents, NaN and infinities', () => {
    assert.equal(parseValue('1.5e3'), 1500)
    assert.equal(parseValue('-Inf'), -Infinity)
    assert.equal(parseValue('+Inf'), Infinity)
    assert.ok(Number.isNaN(parseValue('NaN')))
    assert.equal(parseValue('1,5'), undefined)
  })

  it('names what is wrong, by line', () => {
    assert.match(problemsOf(['9bad 1'])[0] ?? '', /^line 1: the line does not start with a metric name/)
    assert.match(problemsOf(['a{b="c} 1'])[0] ?? '', /unterminated value/)
    assert.match(problemsOf(['a{b="\\x"} 1'])[0] ?? '', /bad escape/)
    assert.match(problemsOf(['a{b="1",b="2"} 1'])[0] ?? '', /appears twice/)
    assert.match(problemsOf(['a one'])[0] ?? '', /bad value "one"/)
    assert.match(problemsOf(['a 1 12.5'])[0] ?? '', /bad timestamp/)
    assert.match(problemsOf(['a 1', 'a 2'])[0] ?? '', /duplicate series a\{\}/)
    assert.match(problemsOf(['a 1', 'b 1', 'a{x="1"} 2'])[0] ?? '', /samples of a are not grouped together/)
    assert.match(problemsOf(['a 1', '# TYPE a gauge'])[0] ?? '', /TYPE for a after its samples/)
    assert.match(problemsOf(['# TYPE a gauge', '# TYPE a gauge'])[0] ?? '', /second TYPE/)
    assert.match(problemsOf(['# TYPE a meter'])[0] ?? '', /unknown type "meter"/)
    assert.match(problemsOf(['# TYPE a counter', 'a -1'])[0] ?? '', /counter a is -1/)
    assert.match(parseExposition('a 1').problems[0] ?? '', /does not end with a line feed/)
  })

  it('checks histograms: +Inf bucket, cumulative buckets, _count equal to +Inf, a _sum', () => {
    assert.deepEqual(problemsOf(histogram('h', 'x="1",')), [])
    assert.match(problemsOf(['# TYPE h histogram', 'h_bucket{le="1"} 1', 'h_sum 1', 'h_count 1'])[0] ?? '', /no le="\+Inf" bucket/)
    assert.match(problemsOf(['# TYPE h histogram', 'h_bucket{le="1"} 3', 'h_bucket{le="+Inf"} 2', 'h_sum 1', 'h_count 2'])[0] ?? '', /not cumulative/)
    assert.match(problemsOf(['# TYPE h histogram', 'h_bucket{le="+Inf"} 2', 'h_sum 1', 'h_count 3'])[0] ?? '', /_count 3 differs from the \+Inf bucket 2/)
    assert.match(problemsOf(['# TYPE h histogram', 'h_bucket{le="+Inf"} 2', 'h_count 2'])[0] ?? '', /no _sum/)
  })

  it('reports a missing family or one of the wrong type', () => {
    const lines = valid().filter((line) => !line.includes('clutchcall_jitter_ms')).map((line) => line.replace('# TYPE clutchcall_calls_active gauge', '# TYPE clutchcall_calls_active counter'))
    assert.deepEqual(missingFamilies(parseExposition(`${lines.join('\n')}\n`)), ['clutchcall_calls_active is a counter, not a gauge', 'clutchcall_jitter_ms is missing'])
  })
})
