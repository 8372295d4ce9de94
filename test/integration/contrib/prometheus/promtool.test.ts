// Debian's promtool checks the shipped rules and runs their unit tests; the
// same unit tests run against copies with one threshold or duration changed
// must fail, which shows they pin the values down.
import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {runProgram} from '../../../helpers/cli.js'
import {RULES_FILE, RULES_TEST_FILE} from '../../../helpers/dashboards.js'

const scratch = mkdtempSync(join(tmpdir(), 'cc-promtool-'))
after(() => rmSync(scratch, {recursive: true, force: true}))

/** Runs `promtool test rules` on the shipped tests against a copy of the rules with `from` replaced by `to`. */
const testMutant = async (name: string, from: string | RegExp, to: string) => {
  const rules = readFileSync(RULES_FILE, 'utf8')
  const mutated = rules.replace(from, to)
  assert.notEqual(mutated, rules, `${name}: the mutation changed nothing`)
  const dir = mkdtempSync(join(scratch, 'mutant-'))
  writeFileSync(join(dir, 'clutchcall.rules.yml'), mutated)
  writeFileSync(join(dir, 'clutchcall.rules.test.yml'), readFileSync(RULES_TEST_FILE, 'utf8'))
  // The mutant is still valid: only the unit tests can tell.
  const check = await runProgram('promtool', ['check', 'rules', join(dir, 'clutchcall.rules.yml')])
  assert.equal(check.code, 0, `${name}: ${check.stdout}${check.stderr}`)
  return runProgram('promtool', ['test', 'rules', join(dir, 'clutchcall.rules.test.yml')])
}

describe('promtool and the shipped rules', {timeout: 120_000}, () => {
  it('promtool check rules accepts the rules file, lint included', async () => {
    const result = await runProgram('promtool', ['check', 'rules', '--lint=all', '--lint-fatal', RULES_FILE])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /SUCCESS: 19 rules found/)
  })

  it('promtool test rules passes every unit test', async () => {
    const result = await runProgram('promtool', ['test', 'rules', RULES_TEST_FILE])
    assert.equal(result.code, 0, result.stdout + result.stderr)
    assert.match(result.stdout, /SUCCESS/)
  })

  const mutants: Array<[string, string | RegExp, string]> = [
    ['the MOS threshold', 'tenant:clutchcall_estimated_mos:p50_5m < 3.6', 'tenant:clutchcall_estimated_mos:p50_5m < 2.6'],
    ['the MOS volume guard', 'tenant:clutchcall_estimated_mos_count:increase5m >= 5', 'tenant:clutchcall_estimated_mos_count:increase5m >= 1'],
    ['the ASR drop factor', '< 0.7 * tenant_trunk', '< 0.9 * tenant_trunk'],
    ['the ASR floor', 'ratio_rate5m < 0.2', 'ratio_rate5m < 0.01'],
    ['the ASR attempts guard', /increase5m >= 20/g, 'increase5m >= 1'],
    ['the ASR numerator', 'increase(clutchcall_calls_total{result="completed"}[5m])', 'increase(clutchcall_calls_total{result!="failed"}[5m])'],
    ['the ASR zero for trunks that answered nothing', /\n\s+or\n\s+0 \* tenant_trunk:clutchcall_calls:increase5m/, ''],
    ['what counts as an attempt', 'sum by (tenant, trunk) (increase(clutchcall_calls_total[5m]))', 'sum by (tenant, trunk) (increase(clutchcall_calls_total{result!="busy"}[5m]))'],
    ['the ACD result filter', 'increase(clutchcall_call_duration_seconds_count{result="completed"}[5m])', 'increase(clutchcall_call_duration_seconds_count[5m])'],
    ['the shard lag threshold', '> 20000', '> 25000'],
    ['the shard lag quantile', 'histogram_quantile(0.99,', 'histogram_quantile(0.9,'],
    ['the CDR backlog floor', 'clutchcall_cdr_pending_rows > 1000', 'clutchcall_cdr_pending_rows > 100'],
    ['the CDR growth condition', 'deriv(clutchcall_cdr_pending_rows[15m]) > 0', 'deriv(clutchcall_cdr_pending_rows[15m]) >= 0'],
    ['the HEP capture duration', /(ClutchCallHepCaptureLeftOn\n\s+expr: clutchcall_hep_capture_enabled == 1\n\s+for: )1h/, '$130m'],
    ['an alert severity', /(ClutchCallASRLow[\s\S]*?severity: )critical/, '$1warning'],
    ['the SIP flood threshold', '[5m])) > 100', '[5m])) > 300'],
    ['the overload reasons', 'reason=~"overload|dialog_limit"', 'reason="dialog_limit"'],
    ['the hard limits counted', 'reason=~"connection_limit|source_limit"', 'reason="connection_limit"'],
  ]
  for (const [name, from, to] of mutants) {
    it(`promtool test rules fails when ${name} changes`, async () => {
      const result = await testMutant(name, from, to)
      assert.notEqual(result.code, 0, `the unit tests did not notice ${name}: ${result.stdout}`)
      assert.match(result.stdout + result.stderr, /FAILED/)
    })
  }
})
