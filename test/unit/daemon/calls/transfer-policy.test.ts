// The tenant transfer policy: targets from URIs, destination patterns
// (numbers and URIs, `*` globs), and the decision for a REFER received and
// for an agent's request, with its route (trunk or the target's own host).
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {decideTransfer, destinationAllowed, transferTarget, type TransferTarget} from '../../../../daemon/calls/transfer-policy.js'
import {configSchema} from '../../../../src/config/schema.js'

const target = (uri: string): TransferTarget => {
  const parsed = transferTarget(uri)
  assert.ok(parsed, uri)
  return parsed
}

const policy = (extra: Record<string, unknown> = {}) => ({accept_refer: true, destinations: ['+1415555*', 'sip:*@pbx.example.com', 'sip:desk@10.0.0.*:5070'], timeout_s: 30, ...extra})

describe('transfer policy', () => {
  it('reads targets: number and bare URI, separators and parameters left out', () => {
    assert.deepEqual(target('sip:+14155550100@PBX.example.com;transport=tcp'), {uri: 'sip:+14155550100@PBX.example.com;transport=tcp', bare: 'sip:+14155550100@pbx.example.com', number: '+14155550100', kind: 'sip'})
    assert.deepEqual(target('tel:+1-415-555-0100'), {uri: 'tel:+1-415-555-0100', bare: 'tel:+14155550100', number: '+14155550100', kind: 'tel'})
    assert.equal(target('sips:desk@[2001:db8::1]:5061').bare, 'sips:desk@[2001:db8::1]:5061')
    assert.equal(transferTarget('http://example.com/'), undefined)
    assert.equal(transferTarget('not a uri'), undefined)
  })

  it('matches number patterns against the number and URI patterns against the bare URI', () => {
    const patterns = policy().destinations
    assert.ok(destinationAllowed(patterns, target('tel:+14155550100')))
    assert.ok(destinationAllowed(patterns, target('sip:+14155559999@carrier.example')), 'a number pattern matches a SIP URI\'s user part')
    assert.ok(destinationAllowed(patterns, target('sip:anyone@pbx.example.com;transport=tls')))
    assert.ok(destinationAllowed(patterns, target('sip:desk@10.0.0.7:5070')))
    assert.equal(destinationAllowed(patterns, target('sip:desk@10.0.0.7:5071')), false)
    assert.equal(destinationAllowed(patterns, target('sip:anyone@pbx.example.com.evil.example')), false, 'a pattern is anchored at both ends')
    assert.equal(destinationAllowed(patterns, target('tel:+19005550100')), false)
    assert.equal(destinationAllowed(patterns, target('sip:pbx.example.com')), false, 'no user part, no number')
    assert.equal(destinationAllowed([], target('tel:+14155550100')), false, 'no destinations: nowhere')
    assert.equal(destinationAllowed(['sip:a.b@host'], target('sip:aXb@host')), false, 'a dot is a dot')
  })

  it('decides a REFER: refused unless accepted, 403 outside the destinations, routed by trunk or to the target', () => {
    assert.deepEqual(decideTransfer(undefined, target('tel:+14155550100'), 'refer'), {ok: false, status: 603, reason: 'Transfers Not Accepted'})
    assert.deepEqual(decideTransfer(policy({accept_refer: false}), target('tel:+14155550100'), 'refer'), {ok: false, status: 603, reason: 'Transfers Not Accepted'})
    assert.deepEqual(decideTransfer(policy(), target('tel:+19005550100'), 'refer'), {ok: false, status: 403, reason: 'Transfer Target Not Allowed'})
    assert.deepEqual(decideTransfer(policy(), target('tel:+14155550100'), 'refer'), {ok: false, status: 403, reason: 'No Route For Transfer Target'}, 'tel: needs a trunk')
    assert.deepEqual(decideTransfer(policy(), target('sip:help@pbx.example.com'), 'refer'), {ok: true, route: {kind: 'direct', uri: 'sip:help@pbx.example.com'}})
    assert.deepEqual(decideTransfer(policy({trunk: 'carrier-a'}), target('tel:+1-415-555-0100'), 'refer'), {ok: true, route: {kind: 'trunk', trunk: 'carrier-a', number: '+14155550100'}})
    assert.deepEqual(decideTransfer(policy({accept_refer: false}), target('sip:help@pbx.example.com'), 'agent'), {ok: true, route: {kind: 'direct', uri: 'sip:help@pbx.example.com'}}, 'an agent needs only the destinations')
  })

  it('is checked by the config schema: patterns, the trunk, the transfer node\'s target', () => {
    const base = {tenants: [{id: 'acme', dialplan: 'main', transfer: {accept_refer: true, destinations: ['+1415*'], trunk: 'carrier-a'}}], trunks: [{id: 'carrier-a', tenant: 'acme', outbound: {uri: 'sip:sbc.example.com'}}]}
    const plan = (node: Record<string, unknown>) => ({dialplans: {main: {start: 'go', nodes: {go: {type: 'transfer', ...node}}}}})
    assert.ok(configSchema.safeParse({...base, ...plan({to: '+14155550100'})}).success)
    assert.ok(configSchema.safeParse({...base, ...plan({uri: 'tel:+14155550100', timeout_s: 10, next: {failed: 'go'}})}).success)
    const problems = (config: Record<string, unknown>): string => JSON.stringify(configSchema.safeParse(config).error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`))
    assert.match(problems({...base, ...plan({})}), /exactly one of to and uri/)
    assert.match(problems({...base, ...plan({to: '+1', uri: 'sip:a@b'})}), /exactly one of to and uri/)
    assert.match(problems({...base, ...plan({uri: 'http://x'})}), /sip:, sips: or tel: URI/)
    assert.match(problems({...base, ...plan({to: 'abc'})}), /must be a number/)
    assert.match(problems({...base, tenants: [{id: 'acme', dialplan: 'main', transfer: {destinations: ['mailto:*']}}], ...plan({to: '1'})}), /number pattern/)
    assert.match(problems({...base, tenants: [{id: 'acme', dialplan: 'main', transfer: {trunk: 'nope'}}], ...plan({to: '1'})}), /trunk ..nope.. is not defined under trunks/)
  })
})
