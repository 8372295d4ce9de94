// Digest authentication against SIPp in both directions: a SIPp UAS that
// challenges with 401 and verifies our retry (verifyauth), and our UA
// challenging a SIPp UAC that answers with [authentication].
import assert from 'node:assert/strict'
import {after, afterEach, before, describe, it} from 'node:test'
import {DigestServer} from '../../../../src/sip/digest-server.js'
import type {SipCall} from '../../../../src/sip/user-agent-call.js'
import {freePort} from '../../../helpers/cli.js'
import {uacAuth, uasChallenge} from './scenarios.js'
import {Sipp} from './sipp.js'
import {SDP, startUa, type TestUa} from './ua-fixture.js'

describe('Digest authentication with SIPp', () => {
  let ours: TestUa
  let sipp: Sipp | undefined
  before(async () => {
    ours = await startUa()
  })
  afterEach(async () => {
    await sipp?.stop()
    sipp = undefined
  })
  after(() => ours.close())

  it('retries once with credentials when SIPp challenges with 401, and SIPp verifies them', async () => {
    const port = await freePort()
    sipp = await Sipp.start({scenario: {xml: uasChallenge('alice', 'wonderland')}, port})
    const outgoing = ours.ua.invite({requestUri: `sip:service@127.0.0.1:${port}`, from: 'sip:alice@127.0.0.1', to: 'sip:service@127.0.0.1', sdp: SDP, credentials: {username: 'alice', password: 'wonderland'}})
    const result = await outgoing.result
    assert.ok(result.ok, result.ok ? '' : `failed with ${result.failure.status} (403 means SIPp rejected the credentials)`)
    assert.match(outgoing.request.headers.get('authorization') ?? '', /^Digest username="alice", realm="sipp.test"/)
    assert.equal(outgoing.request.headers.get('cseq'), '2 INVITE')
    assert.deepEqual(await result.call.bye(), {status: 200})
    const run = await sipp.exited
    assert.equal(run.code, 0, Sipp.summary(run))
  })

  it('challenges a SIPp UAC and answers the INVITE that carries valid credentials', async () => {
    const server = new DigestServer({realm: 'clutchcall.test', secret: Buffer.alloc(32, 9), algorithms: ['MD5']})
    const verdicts: string[] = []
    const calls: SipCall[] = []
    ours.ua.on('invite', (incoming) => {
      const check = incoming.verifyDigest(server, {username: 'bob', password: 'builder'})
      verdicts.push(check.ok ? 'ok' : check.failure)
      if (!check.ok) {
        incoming.challenge(server, {stale: check.stale})
        return
      }
      incoming.answer(SDP).then((call) => calls.push(call), () => {})
    })
    const remote = `127.0.0.1:${ours.port('udp')}`
    // SIPp puts sip:<its remote address> in the digest uri unless -auth_uri names the Request-URI, which we check it against.
    sipp = await Sipp.start({scenario: {xml: uacAuth('bob', 'builder')}, port: await freePort(), remote, extra: ['-auth_uri', `service@${remote}`]})
    const run = await sipp.exited
    assert.equal(run.code, 0, Sipp.summary(run))
    assert.deepEqual(verdicts, ['missing', 'ok'])
    assert.equal((await (calls[0] as SipCall).ended).by, 'remote')
  })
})
