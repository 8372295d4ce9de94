// What a hostile QUIC peer can make the gateway hold, against a real daemon
// with small quic.limits: connections per source and in total, streams per
// connection, the unauthenticated lifetime, a client that vanishes mid-call
// (idle timeout: the call ends with a CDR), and garbage datagrams during a
// call. After each, the daemon still serves a well-behaved client.
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {randomBytes} from 'node:crypto'
import {after, before, describe, it} from 'node:test'
import {freePort} from '../../../helpers/cli.js'
import {TestGateway, waitFor} from '../../../helpers/gateway.js'
import {TestIssuer} from '../../../helpers/jwt.js'
import {OtlpReceiver} from '../../../helpers/otlp-receiver.js'
import {runSipp, uasAnswering} from '../../../helpers/peers.js'
import {QuicSdkClient} from '../../../helpers/quic-client.js'
import {startQuicGateway} from '../../../helpers/sdk-gateway.js'

const PER_SOURCE = 3
const STREAMS = 4
const gw = new TestGateway()
const total = new TestGateway()
const receiver = new OtlpReceiver()
let issuer: TestIssuer
let port = 0
let sha256 = ''
let totalPort = 0
let totalSha = ''
let calleePort = 0
const clients: QuicSdkClient[] = []

const connect = async (options: Parameters<typeof QuicSdkClient.connect>[1] = {}, target = port): Promise<QuicSdkClient> => {
  const {client} = await QuicSdkClient.connect(target, {sha256: target === port ? sha256 : totalSha, ...options})
  clients.push(client)
  return client
}

const closeAll = async (): Promise<void> => {
  await Promise.all(clients.splice(0).map((client) => client.close()))
}

/** What `status --json` says of the QUIC listener. */
const quicStatus = async (target: TestGateway): Promise<{connections: number; sessions: number}> => {
  const status = await target.home.json(['status'])
  assert.equal(status.code, 0, JSON.stringify(status.body))
  return status.body.result.quic
}

before(async () => {
  issuer = await TestIssuer.create()
  await receiver.start()
  calleePort = await freePort()
  ;({port, sha256} = await startQuicGateway(gw, {
    tracingEndpoint: receiver.endpoint,
    tenants: ['acme'],
    trunks: [{id: 'callee', tenant: 'acme', port: calleePort}],
    issuer,
    limits: {max_connections_per_source: PER_SOURCE, max_streams_per_connection: STREAMS, auth_timeout_ms: 1000, idle_timeout_ms: 2000},
  }))
  ;({port: totalPort, sha256: totalSha} = await startQuicGateway(total, {
    tracingEndpoint: receiver.endpoint,
    tenants: ['acme'],
    trunks: [],
    issuer,
    limits: {max_connections: 2, handshake_timeout_ms: 1000},
  }))
})

after(async () => {
  await closeAll()
  await gw.stop()
  await total.stop()
  await receiver.stop()
})

describe('QUIC limits (a real daemon with small quic.limits)', () => {
  it('holds the listener socket to a receive buffer of 4 MiB (or the kernel\'s maximum), so a burst of a hundred calls\' audio is not dropped', () => {
    // ss reports the buffer the kernel granted (twice what was asked for, capped by net.core.rmem_max).
    const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim())
    const sockets = execFileSync('ss', ['-u', '-a', '-n', '-m', `sport = :${port}`], {encoding: 'utf8'})
    const granted = /rb(\d+)/.exec(sockets)
    assert.ok(granted, sockets)
    assert.ok(Number(granted[1]) >= Math.min(4 * 1024 * 1024, rmemMax), `receive buffer ${granted[1]} (rmem_max ${rmemMax})`)
    // The kernel's default, what an untouched socket gets, is far below that (unless the host's default is raised).
    const defaultBuffer = Number(readFileSync('/proc/sys/net/core/rmem_default', 'utf8').trim())
    if (rmemMax > defaultBuffer) assert.ok(Number(granted[1]) > 2 * defaultBuffer, `receive buffer ${granted[1]}, default ${defaultBuffer}`)
  })

  it('closes a connection beyond max_connections_per_source with application error 2, drops a flood beyond twice the limit, and serves the source again once it is under', async () => {
    const first = await Promise.all(Array.from({length: PER_SOURCE}, () => connect()))
    for (const client of first) assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    const extra = await connect()
    const refused = await extra.closedBy()
    assert.deepEqual({isApp: refused.isApp, code: refused.code}, {isApp: true, code: 2})
    assert.match(refused.reason, /^CC_ERR_QUIC_LIMIT: QUIC limit reached: more than 3 connections from 127\.0\.0\.1 \(quic\.limits\.max_connections_per_source\)/)
    // A flood from the same source: every attempt is refused or dropped, none is served.
    const flood = await Promise.allSettled(Array.from({length: 12}, () => connect({connectTimeoutMs: 3000})))
    for (const attempt of flood) {
      if (attempt.status === 'rejected') continue
      const close = await attempt.value.closedBy()
      assert.equal(close.code, 2)
    }
    assert.ok(flood.some((attempt) => attempt.status === 'rejected'), 'some of the flood was dropped without an answer')
    for (const client of first) assert.equal(client.closed, false, 'a served connection was cut by the flood')
    await waitFor('the refused connections to be released', async () => ((await quicStatus(gw)).connections === PER_SOURCE ? true : undefined))
    await first[0]?.close()
    await waitFor('a released slot', async () => ((await quicStatus(gw)).connections === PER_SOURCE - 1 ? true : undefined))
    const again = await connect()
    assert.equal((await again.open(await issuer.token('acme'))).kind, 'response')
    await closeAll()
  })

  it('does not answer a connection beyond max_connections (the client times out), and takes one again once a slot is free', async () => {
    const held = [await connect({}, totalPort), await connect({}, totalPort)]
    await assert.rejects(connect({connectTimeoutMs: 1500}, totalPort))
    assert.equal((await quicStatus(total)).connections, 2)
    await held[0]?.close()
    await waitFor('a free slot', async () => ((await quicStatus(total)).connections === 1 ? true : undefined))
    const again = await connect({}, totalPort)
    assert.equal((await again.open(await issuer.token('acme'))).kind, 'response')
    await closeAll()
  })

  it('holds a client to max_streams_per_connection open streams; a stream it cancels frees its slot', async () => {
    const client = await connect()
    const native = (client.client.connection as unknown as {conn: {peerStreamsLeftBidi(): number}}).conn
    // What the gateway granted (QUIC MAX_STREAMS), as the client's QUIC stack counts it.
    assert.equal(native.peerStreamsLeftBidi(), STREAMS)
    assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    // Subscriptions keep their streams open: the client fills every slot with them and cannot open one more.
    const subscriptions = []
    for (let index = 0; index < STREAMS; index++) subscriptions.push(await client.subscribe())
    await waitFor('every stream slot taken', () => (native.peerStreamsLeftBidi() === 0 ? true : undefined))
    await subscriptions[0]?.stream.cancel()
    // The gateway ends the cancelled stream (and the subscription it carried); QUIC grants the slot again.
    await waitFor('a slot granted again', () => (native.peerStreamsLeftBidi() >= 1 ? true : undefined))
    const reply = await client.request('call.hangup', {call_sid: `CA${'0'.repeat(32)}`})
    assert.equal(reply.payload.code, 'CC_ERR_CALL_NOT_FOUND')
    assert.equal(client.closed, false)
    await closeAll()
  })

  it('drops a handshake that stalls after the client\'s validated Initial at handshake_timeout_ms, counted as failed then', async () => {
    // The second gateway: a 1 s handshake timeout and the default 30 s idle timeout.
    const bucket = (le: string) => total.metric(new RegExp(`^clutchcall_quic_handshake_seconds_bucket\\{le="${le}",result="failed"\\} (\\d+)`, 'm'))
    const before = {failed: await bucket('\\+Inf'), early: await bucket('0\\.5'), bounded: await bucket('2\\.5')}
    await QuicSdkClient.stallHandshake(totalPort)
    await waitFor('the stalled handshake counted as failed', async () => ((await bucket('\\+Inf')) >= before.failed + 1 ? true : undefined), 10_000)
    assert.equal(await bucket('0\\.5'), before.early, 'failed before the handshake timeout')
    assert.equal(await bucket('2\\.5'), before.bounded + 1, 'not dropped at the handshake timeout')
    // Its slot is free again once QUIC's closing period is over: two clients fit.
    await waitFor('the stalled connection released', async () => ((await quicStatus(total)).connections === 0 ? true : undefined))
    const served = [await connect({}, totalPort), await connect({}, totalPort)]
    for (const client of served) assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    await closeAll()
  })

  it('closes a connection that does not open its session within auth_timeout_ms (application error 1)', async () => {
    const started = Date.now()
    const idle = await connect()
    const closed = await idle.closedBy(5000)
    assert.equal(closed.code, 1)
    assert.match(closed.reason, /no session\.open within 1000 ms \(quic\.limits\.auth_timeout_ms\)/)
    assert.ok(Date.now() - started >= 900, 'closed before the timeout')
    await closeAll()
  })

  it('drops audio a client sends faster than 250 packets a second (bursts of 50) before the media shard, and the call goes on', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const client = await connect()
    assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    await client.subscribe()
    const created = await client.request('call.create', {to: '+15550301', trunk: 'callee'})
    const callSid = String(created.payload.call_sid)
    await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
    // Valid PCMU, in sequence, as fast as the client can: 3,000 packets, a minute of audio, in about a second.
    const floodStart = Date.now()
    const ssrc = randomBytes(4)
    for (let sequence = 0; sequence < 3000; sequence++) {
      const header = Buffer.from([0x80, 0, sequence >> 8, sequence & 0xff, 0, 0, 0, 0, ...ssrc])
      header.writeUInt32BE(sequence * 160, 4)
      client.sendDatagram(Buffer.concat([header, Buffer.alloc(160, 0xd5)]))
      if (sequence % 100 === 99) await new Promise((resolve) => setImmediate(resolve))
    }
    const floodMs = Date.now() - floodStart
    await new Promise((resolve) => setTimeout(resolve, 500))
    const hungUp = await client.request('call.hangup', {call_sid: callSid})
    assert.equal(hungUp.kind, 'response')
    const end = await gw.hangupOf('+15550301')
    const received = Number(end.packets_received)
    // What reached the shard: at most the burst plus 250 a second of the flood (and the half second after), with slack for timing.
    const bound = 50 + (250 * (floodMs + 500 + 300)) / 1000
    assert.ok(received > 0 && received <= bound, `packets_received ${received}, bound ${bound.toFixed(0)} (flood of 3000 in ${floodMs} ms)`)
    const warned = await waitFor('the warning with the count dropped', () => gw.logLines().find((line) => line.msg === 'SDK client sent audio faster than the limit; the excess was dropped'), 10_000)
    // Some of the flood never reaches the leg (quiche keeps 128 datagrams a connection); what did beyond the rate is counted.
    assert.ok(Number(warned.dropped) > 0 && Number(warned.dropped) + received <= 3000, `dropped ${String(warned.dropped)}, received ${received}`)
    callee.stop()
    await closeAll()
  })

  it('ends the call of a client that vanishes mid-call (idle timeout) with a CDR, and a call goes on through garbage datagrams', async () => {
    const callee = await runSipp({scenarioXml: uasAnswering(), port: calleePort, extraArgs: ['-rtp_echo']})
    const client = await connect()
    assert.equal((await client.open(await issuer.token('acme'))).kind, 'response')
    await client.subscribe()
    client.startTone()
    const created = await client.request('call.create', {to: '+15550300', trunk: 'callee'})
    const callSid = String(created.payload.call_sid)
    await client.event((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === callSid, 'CHANNEL_ANSWER')
    // Garbage among the audio: too short, RTP version 0, another payload type, random bytes, an empty datagram.
    const garbage = [Buffer.from([1, 2, 3]), Buffer.alloc(172, 0), Buffer.concat([Buffer.from([0x80, 8]), randomBytes(170)]), randomBytes(600), Buffer.alloc(0)]
    for (let round = 0; round < 20; round++) for (const datagram of garbage) client.sendDatagram(datagram)
    const echoedBefore = client.receivedTone
    await waitFor('the tone still echoed after the garbage', () => (client.receivedTone >= echoedBefore + 50 ? true : undefined), 15_000)
    const vanishedAt = Date.now()
    client.vanish()
    const end = await gw.hangupOf('+15550300')
    const waited = Date.now() - vanishedAt
    assert.equal(end.call_sid, callSid)
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.ok(waited >= 1500 && waited < 10_000, `the call ended ${waited} ms after the client vanished (idle timeout 2000 ms)`)
    assert.ok(Number(end.packets_received) >= 50, `packets_received ${String(end.packets_received)}`)
    assert.ok(Number(end.estimated_mos) > 4, `estimated_mos ${String(end.estimated_mos)}: the garbage reached the media`)
    assert.equal((await callee.done).code, 0, 'the callee got its BYE')
    callee.stop()
    await closeAll()
    // The daemon is unaffected: a new client is served.
    const next = await connect()
    assert.equal((await next.open(await issuer.token('acme'))).kind, 'response')
    await closeAll()
  })
})
