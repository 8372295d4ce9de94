// INVITE with Replaces (RFC 3891) for one of the gateway's own dialogs,
// through a real daemon with SIPp on every SIP side: a caller's confirmed
// call is taken over by a second SIPp (attended transfer's last step, call
// pickup). The new party gets the call's media (the test's own RTP socket is
// its media address and hears the echo), the replaced caller gets a BYE, and
// the call keeps its one call_sid and CDR. Refused: a dialog we do not hold
// (481), early-only for a confirmed dialog (486), a malformed or doubled
// header (400), a source of another tenant (403).
import assert from 'node:assert/strict'
import {createSocket, type Socket} from 'node:dgram'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {TestGateway, sleep, waitFor} from '../../../helpers/gateway.js'
import {runSipp} from '../../../helpers/peers.js'
import {uacReplacing, uacReplacingRefused, uacToBeReplaced} from '../../src/sip/scenarios.js'

const gw = new TestGateway()
const config = `tenants:
  - { id: acme, dialplan: echo }
  - { id: other, dialplan: echo }
trunks:
  - { id: acme-in, tenant: acme, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1100*"] } }
  - { id: other-in, tenant: other, inbound: { cidrs: [127.0.0.1/32], numbers: ["+1200*"] } }
dialplans:
  echo:
    start: answer
    nodes:
      answer: { type: answer, next: echo }
      echo: { type: echo, max_duration_s: 40, next: bye }
      bye: { type: hangup, cause: 16 }
`

let dir = ''
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cc-replaces-'))
  await gw.start(config)
})
after(async () => {
  await gw.stop()
  rmSync(dir, {recursive: true, force: true})
})

/** A UDP socket standing for the new party's media: sends µ-law RTP to the gateway and keeps what comes back. */
const mediaSocket = async (): Promise<{socket: Socket; port: number; received: Buffer[]}> => {
  const socket = createSocket('udp4')
  const received: Buffer[] = []
  socket.on('message', (packet) => received.push(packet))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return {socket, port: socket.address().port, received}
}

const rtpPacket = (sequence: number, payloadByte: number): Buffer => {
  const packet = Buffer.alloc(12 + 160, payloadByte)
  packet[0] = 0x80
  packet[1] = 0 // PCMU
  packet.writeUInt16BE(sequence, 2)
  packet.writeUInt32BE(sequence * 160, 4)
  packet.writeUInt32BE(0x5eed1234, 8)
  return packet
}

describe('an INVITE with Replaces for one of our dialogs', () => {
  it('takes the call over: refusals first (481, 486, 400, 403), then the new party answered with the call media, the old one released with a BYE, one CDR', async () => {
    const idsFile = join(dir, 'ids')
    const caller = await runSipp({scenarioXml: uacToBeReplaced(idsFile), target: gw.sip, service: '+11005550001', timeoutS: 60})
    const ids = await waitFor('the first call up and its dialog written', () => (existsSync(idsFile) && readFileSync(idsFile, 'utf8').trim().split(' ').length === 4 ? readFileSync(idsFile, 'utf8').trim().split(' ') : undefined), 20_000)
    const [callId, fromTag, toTag, gatewayRtpPort] = ids as [string, string, string, string]
    const created = await gw.created('+11005550001')
    const replaces = `${callId};to-tag=${toTag};from-tag=${fromTag}`
    const media = await mediaSocket()
    try {
      const refusals: Array<[string, string, number]> = [
        ['a dialog we do not hold', `nosuch-${callId};to-tag=${toTag};from-tag=${fromTag}`, 481],
        ['tags swapped (ours is the to-tag)', `${callId};to-tag=${fromTag};from-tag=${toTag}`, 481],
        ['early-only for a confirmed dialog', `${replaces};early-only`, 486],
        ['a malformed header', `${callId};to-tag=${toTag}`, 400],
      ]
      for (const [what, value, status] of refusals) {
        const refused = await runSipp({scenarioXml: uacReplacingRefused(value, status, media.port), target: gw.sip, service: '+11005550002'})
        const done = await refused.done
        assert.equal(done.code, 0, `${what}: ${done.output}`)
      }
      // The same dialog named from a number of another tenant: its source is that tenant's trunk.
      const otherTenant = await runSipp({scenarioXml: uacReplacingRefused(replaces, 403, media.port), target: gw.sip, service: '+12005550002'})
      assert.equal((await otherTenant.done).code, 0)
      assert.equal(gw.events.filter((event) => event.type === 'CHANNEL_CREATE').length, 1, 'no refused Replaces made a call')

      const replacer = await runSipp({scenarioXml: uacReplacing(replaces, media.port, 4000), target: gw.sip, service: '+11005550001'})
      // The replaced caller is released by the gateway's BYE.
      const callerDone = await caller.done
      assert.equal(callerDone.code, 0, callerDone.output)
      // The new party's media: RTP to the call's port comes back (echo), to the new party's address.
      let sequence = 1
      const sender = setInterval(() => media.socket.send(rtpPacket(sequence++, 0x55), Number(gatewayRtpPort), '127.0.0.1'), 20)
      try {
        await waitFor('the echo of the new party', () => (media.received.length >= 30 ? true : undefined), 10_000)
      } finally {
        clearInterval(sender)
      }
      const echoed = media.received.at(-1)
      assert.ok(echoed && echoed.length === 12 + 160 && echoed.subarray(12).every((byte) => byte === 0x55), 'the echo carries the new party payload')
      const replacerDone = await replacer.done
      assert.equal(replacerDone.code, 0, replacerDone.output)

      // One call throughout: the new party's BYE ends it, with one CDR and no second call created.
      const end = await gw.hangupOf('+11005550001')
      assert.equal(end.call_sid, created.call_sid)
      assert.equal(end.status, 'completed')
      assert.equal(end.q850_cause, 16)
      assert.ok(end.packets_received >= 30, `the call counted the new party's packets: ${end.packets_received}`)
      await sleep(300)
      assert.equal(gw.events.filter((event) => event.type === 'CHANNEL_CREATE').length, 1)
      assert.equal(gw.events.filter((event) => event.type === 'CHANNEL_HANGUP_COMPLETE').length, 1)
      const replaced = gw.logLines((line) => line.msg === 'dialog replaced')
      assert.equal(replaced.length, 1)
      assert.equal(replaced[0]?.replaced_sip_call_id, callId)
      assert.equal(replaced[0]?.call_sid, created.call_sid)
    } finally {
      media.socket.close()
      caller.stop()
    }
  })

  it('is refused with 481 once the dialog has ended', async () => {
    const idsFile = join(dir, 'ids-ended')
    const caller = await runSipp({scenarioXml: uacToBeReplaced(idsFile), target: gw.sip, service: '+11005550003', timeoutS: 60})
    const ids = await waitFor('the call up', () => (existsSync(idsFile) && readFileSync(idsFile, 'utf8').trim().split(' ').length === 4 ? readFileSync(idsFile, 'utf8').trim().split(' ') : undefined), 20_000)
    const [callId, fromTag, toTag] = ids as [string, string, string]
    const created = await gw.created('+11005550003')
    const hungUp = await gw.home.json(['calls', 'hangup', created.call_sid])
    assert.equal(hungUp.code, 0, JSON.stringify(hungUp.body))
    assert.equal((await caller.done).code, 0)
    const refused = await runSipp({scenarioXml: uacReplacingRefused(`${callId};to-tag=${toTag};from-tag=${fromTag}`, 481, 9), target: gw.sip, service: '+11005550003'})
    const done = await refused.done
    assert.equal(done.code, 0, done.output)
  })
})
