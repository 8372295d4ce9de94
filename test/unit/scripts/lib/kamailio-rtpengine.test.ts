// scripts/lib/kamailio-rtpengine.js writes bench:vs-kamailio's reference proxy:
// its offer to rtpengine decides whether rtpengine forwards or transcodes.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'
import {pathToFileURL} from 'node:url'
import {ROOT} from '../../../helpers/cli.js'

interface ConfigOptions {
  address: string
  port: number
  ngPort: number
  callee: string
  children: number
  offerFlags?: string
}
const {kamailioConfig} = (await import(pathToFileURL(join(ROOT, 'scripts/lib/kamailio-rtpengine.js')).href)) as {kamailioConfig: (options: ConfigOptions) => string}

const base = {address: '127.0.0.1', port: 5060, ngPort: 2223, callee: '127.0.0.1:5070', children: 4}
const offers = (config: string): string[] => [...config.matchAll(/rtpengine_offer\("([^"]*)"\)/g)].map((match) => match[1] ?? '')

test('the offer only rewrites addresses by default, and carries the transcoding flags when asked', () => {
  assert.deepEqual(offers(kamailioConfig(base)), ['replace-origin replace-session-connection'])
  assert.deepEqual(offers(kamailioConfig({...base, offerFlags: 'codec-mask-PCMA codec-transcode-PCMU'})), ['replace-origin replace-session-connection codec-mask-PCMA codec-transcode-PCMU'])
  // The rest of the proxy is the same either way: the answer and the route to the callee.
  const plain = kamailioConfig(base).replace(/rtpengine_offer\("[^"]*"\)/, '')
  const transcoding = kamailioConfig({...base, offerFlags: 'codec-mask-PCMA codec-transcode-PCMU'}).replace(/rtpengine_offer\("[^"]*"\)/, '')
  assert.equal(transcoding, plain)
  assert.match(plain, /\$du = "sip:127\.0\.0\.1:5070"/)
})
