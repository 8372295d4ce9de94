// scripts/lib/bridge-config.js writes the config of the benchmarks' bridging
// gateway: it must pass the daemon's own schema, and route as it says.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'
import {pathToFileURL} from 'node:url'
import {parseConfigText} from '../../../../src/config/load.js'
import {ROOT} from '../../../helpers/cli.js'

type BridgeConfig = (options: {service: string; callees: Array<{id: string; port: number; codecs?: string[]}>; overload?: boolean}) => string
const {bridgeConfig} = (await import(pathToFileURL(join(ROOT, 'scripts/lib/bridge-config.js')).href)) as {bridgeConfig: BridgeConfig}

test('a gateway bridging one number to the first of its callees: valid config, trusted loopback, overload control as asked', () => {
  const text = bridgeConfig({service: '+18880000000', callees: [{id: 'callee-a', port: 5070}, {id: 'callee-b', port: 5080}], overload: false})
  const config = parseConfigText(text, 'bench.yaml')
  assert.deepEqual(
    config.trunks.map((trunk) => [trunk.id, trunk.tenant, trunk.outbound?.uri]),
    [
      ['caller', 'bench', undefined],
      ['callee-a', 'bench', 'sip:127.0.0.1:5070'],
      ['callee-b', 'bench', 'sip:127.0.0.1:5080'],
    ],
  )
  assert.deepEqual(config.trunks[0]?.inbound?.numbers, ['+18880000000'])
  assert.deepEqual(config.dialplans['to-callee']?.nodes.bridge, {type: 'bridge', trunk: 'callee-a', timeout_s: 30, next: {answered: 'bye', failed: 'failed'}})
  assert.deepEqual(config.security.trusted_cidrs, ['127.0.0.1/32'])
  assert.equal(config.security.overload.enabled, false)
  assert.equal(parseConfigText(bridgeConfig({service: '1', callees: [{id: 'c', port: 5060}]}), 'b.yaml').security.overload.enabled, true)
})

test('a callee trunk with codecs of its own carries them (the gateway then transcodes a caller on others); without, the trunk has none', () => {
  const config = parseConfigText(bridgeConfig({service: '1', callees: [{id: 'pcmu', port: 5070, codecs: ['PCMU']}, {id: 'any', port: 5080}]}), 'b.yaml')
  assert.deepEqual(config.trunks.find((trunk) => trunk.id === 'pcmu')?.codecs, ['PCMU'])
  assert.equal(config.trunks.find((trunk) => trunk.id === 'any')?.codecs, undefined)
})
