#!/usr/bin/env node
// Codec benchmark: what transcoding costs the media engine. For each case, K
// bridged calls run in the real engine (worker-thread shards, UDP on
// loopback): leg A speaks the case's codec, leg B PCMU, and the two are
// relayed as a bridge node relays them. A load generator in a separate
// process sends one 20 ms packet per leg every 20 ms (a 1 kHz tone encoded
// once per codec, G.722 with the project's encoder, Opus with libopus) and
// counts what comes back out of the other leg. Reported per case: the engine
// process's CPU per call-second (both directions of one call), its ratio to
// the plain PCMU↔PCMU relay of the same run, loss, and the shards' lag.
//
// First, the same cases without sockets or threads ("media path alone"): the
// very RtpStreams a shard runs, relayed, fed packets for `seconds` of
// simulated time as fast as they go. Its CPU per call-second is the shard's
// media work alone and holds on a busy machine, where the engine run's loss
// and lag say more about the machine than about the code.
//
//   npm run bench:codecs [-- --calls 25 --seconds 15 --shards 2 --cases plain,alaw,g722,opus --rounds 3]
//   npm run bench:codecs -- --parts alone      # only the media path alone (parts: alone,engine)
//
// Cases: plain (PCMU↔PCMU: the forward path), alaw (PCMA↔PCMU: G.711 table),
// g722 (G.722↔PCMU), opus (Opus↔PCMU), wide (G.722↔Opus, 16 kHz pivot). Each
// case runs `rounds` times, interleaved with the others; medians are printed.
// Needs a build (npm run build).
import {fork} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {availableParallelism, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const GENERATOR_FLAG = '--load-generator'

const option = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`)
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback
}

/** Leg A's codec per case; leg B is PCMU except in `wide`. */
const CASES = {
  plain: {a: 'PCMU', b: 'PCMU'},
  alaw: {a: 'PCMA', b: 'PCMU'},
  g722: {a: 'G722', b: 'PCMU'},
  opus: {a: 'opus', b: 'PCMU'},
  wide: {a: 'G722', b: 'opus'},
}
const PAYLOAD_TYPES = {PCMU: 0, PCMA: 8, G722: 9, opus: 111}
const TICKS = {PCMU: 160, PCMA: 160, G722: 160, opus: 960}

// ---- The load generator (child process) ----

/** 50 frames (1 s) of a 1 kHz tone in `codec`, sent in a loop. */
const framesOf = async (codec) => {
  const {createPcmEncoder, CODEC_PROFILES} = await import(join(dist, 'src/media/codecs.js'))
  const rate = CODEC_PROFILES[codec].audioRate
  const encoder = createPcmEncoder(codec, rate)
  const samples = rate / 50
  const frames = Array.from({length: 50}, (_, frame) =>
    Buffer.from(encoder.encode(Int16Array.from({length: samples}, (_, index) => Math.round(8000 * Math.sin((2 * Math.PI * 1000 * (frame * samples + index)) / rate))))),
  )
  encoder.release()
  return frames
}

const runGenerator = async () => {
  const {legs} = await new Promise((resolve) => process.once('message', resolve))
  const frames = new Map()
  for (const codec of new Set(legs)) frames.set(codec, await framesOf(codec))
  const sockets = []
  for (let index = 0; index < legs.length; index++) {
    const socket = createSocket('udp4')
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve))
    const leg = {socket, codec: legs[index], ssrc: 0x20000 + index, seq: 0, received: 0}
    socket.on('message', (datagram) => {
      if (datagram.length >= 12 && (datagram[1] & 0x7f) === PAYLOAD_TYPES[leg.codec]) leg.received++
    })
    sockets.push(leg)
  }
  process.send({ports: sockets.map((leg) => leg.socket.address().port)})
  const {targets, seconds} = await new Promise((resolve) => process.once('message', resolve))
  await Promise.all(targets.map((target, index) => new Promise((resolve) => sockets[index].socket.connect(target, '127.0.0.1', resolve))))
  const started = performance.now()
  let due = started
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now()
      for (const leg of sockets) {
        const list = frames.get(leg.codec)
        const payload = list[leg.seq % list.length]
        const packet = Buffer.allocUnsafe(12 + payload.length)
        packet[0] = 0x80
        packet[1] = PAYLOAD_TYPES[leg.codec]
        packet.writeUInt16BE(leg.seq & 0xffff, 2)
        packet.writeUInt32BE((leg.seq * TICKS[leg.codec]) >>> 0, 4)
        packet.writeUInt32BE(leg.ssrc, 8)
        payload.copy(packet, 12)
        leg.socket.send(packet)
        leg.seq++
      }
      due += 20
      if (now - started >= seconds * 1000) return resolve()
      setTimeout(tick, Math.max(0, due - performance.now()))
    }
    tick()
  })
  await new Promise((resolve) => setTimeout(resolve, 500))
  process.send({sent: sockets.map((leg) => leg.seq), received: sockets.map((leg) => leg.received)})
  for (const leg of sockets) leg.socket.close()
  process.disconnect()
}

// ---- The engine side (this process) ----

/** The media path alone: `calls` relayed RtpStream pairs in this thread, `seconds` of 20 ms packets each way; CPU µs per call-second. */
const runAlone = async (name, calls, seconds, frames) => {
  const {RtpStream} = await import(join(dist, 'src/media/rtp-stream.js'))
  const {a, b} = CASES[name]
  const send = (_datagram, _port, _address, sent) => sent()
  const pairs = []
  for (let call = 0; call < calls; call++) {
    const first = new RtpStream({sendRtp: send, sendRtcp: send, rtcpIntervalMs: 0})
    const second = new RtpStream({sendRtp: send, sendRtcp: send, rtcpIntervalMs: 0})
    first.setRemote({address: '127.0.0.1', rtpPort: 40000 + 2 * call, payloadType: PAYLOAD_TYPES[a], codec: a})
    second.setRemote({address: '127.0.0.1', rtpPort: 50000 + 2 * call, payloadType: PAYLOAD_TYPES[b], codec: b})
    first.relayTo(second)
    pairs.push([first, second])
  }
  const datagram = (codec, seq, index) => {
    const list = frames.get(codec)
    const payload = list[index % list.length]
    const packet = Buffer.allocUnsafe(12 + payload.length)
    packet[0] = 0x80
    packet[1] = PAYLOAD_TYPES[codec]
    packet.writeUInt16BE(seq & 0xffff, 2)
    packet.writeUInt32BE((seq * TICKS[codec]) >>> 0, 4)
    packet.writeUInt32BE(0x30000, 8)
    payload.copy(packet, 12)
    return packet
  }
  // Packets built ahead, so the measured time is the streams' work only.
  const packetsA = Array.from({length: 50}, (_, index) => datagram(a, index, index))
  const packetsB = Array.from({length: 50}, (_, index) => datagram(b, index, index))
  const renumber = (packet, seq, ticks) => {
    packet.writeUInt16BE(seq & 0xffff, 2)
    packet.writeUInt32BE((seq * ticks) >>> 0, 4)
    return packet
  }
  const before = process.cpuUsage()
  let nowMs = 1_700_000_000_000
  for (let seq = 0; seq < seconds * 50; seq++) {
    nowMs += 20
    const packetA = renumber(packetsA[seq % 50], seq, TICKS[a])
    const packetB = renumber(packetsB[seq % 50], seq, TICKS[b])
    for (const [first, second] of pairs) {
      first.onRtp(packetA, '127.0.0.1', 7000, nowMs)
      second.onRtp(packetB, '127.0.0.1', 7002, nowMs)
    }
  }
  const cpu = process.cpuUsage(before)
  for (const [first, second] of pairs) {
    first.close()
    second.close()
  }
  return (cpu.user + cpu.system) / (calls * seconds)
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor((sorted.length - 1) / 2)]
}

const runCase = async (engine, name, calls, seconds) => {
  const {a, b} = CASES[name]
  const legs = Array.from({length: calls}, () => [a, b]).flat()
  const generator = fork(fileURLToPath(import.meta.url), [GENERATOR_FLAG], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  const exited = new Promise((resolve) => generator.once('exit', resolve))
  const reply = () => new Promise((resolve) => generator.once('message', resolve))
  generator.send({legs})
  const {ports} = await reply()
  const streams = []
  for (let call = 0; call < calls; call++) {
    const sid = `CA${String(call).padStart(32, '0')}`
    const first = await engine.createStream({callSid: sid})
    const second = await engine.createStream({callSid: sid, shardHint: first.shard})
    await first.setRemote({address: '127.0.0.1', rtpPort: ports[2 * call], payloadType: PAYLOAD_TYPES[a], codec: a})
    await second.setRemote({address: '127.0.0.1', rtpPort: ports[2 * call + 1], payloadType: PAYLOAD_TYPES[b], codec: b})
    await first.relayTo(second)
    streams.push(first, second)
  }
  const lags = []
  const onLag = (lag) => {
    for (const sample of lag.samplesUs) lags.push(sample)
  }
  engine.on('lag', onLag)
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  generator.send({targets: streams.map((stream) => stream.localPort), seconds})
  const result = await reply()
  const wallMs = performance.now() - wallBefore
  const cpu = process.cpuUsage(cpuBefore)
  engine.off('lag', onLag)
  await Promise.all(streams.map((stream) => stream.close()))
  await exited
  const sent = result.sent.reduce((sum, value) => sum + value, 0)
  const relayed = result.received.reduce((sum, value) => sum + value, 0)
  const undecodable = streams.reduce((sum, stream) => sum + stream.counters().droppedUndecodable, 0)
  // The generator sends for `seconds`; the CPU window holds that plus the last half second of replies.
  return {
    cpuUsPerCallSecond: ((cpu.user + cpu.system) / calls) / (wallMs / 1000),
    lossPercent: (100 * Math.max(0, sent - relayed)) / Math.max(1, sent),
    undecodable,
    lagP99Us: lags.length === 0 ? 0 : [...lags].sort((x, y) => x - y)[Math.floor(lags.length * 0.99)],
  }
}

const main = async () => {
  if (!existsSync(join(dist, 'src/media/codecs.js'))) {
    console.error('bench-codecs: dist/src/media/codecs.js is missing; build first (npm run build)')
    process.exit(1)
  }
  const {MediaEngine} = await import(join(dist, 'daemon/media/engine.js'))
  const {default: pino} = await import('pino')
  const shards = Number(option('shards', String(availableParallelism())))
  const calls = Number(option('calls', '25'))
  const seconds = Number(option('seconds', '15'))
  const rounds = Number(option('rounds', '3'))
  const cases = option('cases', 'plain,alaw,g722,opus,wide').split(',').filter((name) => name in CASES)
  if (!cases.includes('plain')) cases.unshift('plain')
  const parts = new Set(option('parts', 'alone,engine').split(','))
  if (parts.has('alone')) {
    const frames = new Map()
    for (const codec of new Set(cases.flatMap((name) => [CASES[name].a, CASES[name].b]))) frames.set(codec, await framesOf(codec))
    const alone = new Map(cases.map((name) => [name, []]))
    console.log(`bench-codecs, media path alone: Node ${process.version}, ${calls} relayed calls per case, ${seconds} s of packets each way, ${rounds} round(s), one thread, no sockets`)
    for (let round = 1; round <= rounds; round++) for (const name of cases) alone.get(name).push(await runAlone(name, calls, seconds, frames))
    const plainAlone = median(alone.get('plain'))
    console.log('case   legs               CPU per call-second (median)   × plain')
    for (const name of cases) {
      const cpu = median(alone.get(name))
      console.log(`${name.padEnd(6)} ${`${CASES[name].a}↔${CASES[name].b}`.padEnd(18)} ${`${cpu.toFixed(0)} µs`.padStart(12)} (${((100 * cpu) / 1e6).toFixed(2)} % of a core)   ${(cpu / plainAlone).toFixed(2).padStart(6)}`)
    }
    console.log('')
  }
  if (!parts.has('engine')) return
  const recordingsDir = mkdtempSync(join(tmpdir(), 'clutchcall-bench-codecs-'))
  const portMin = Number(option('port-min', '32000'))
  const engine = await MediaEngine.start({address: '127.0.0.1', portMin, portMax: portMin + 4 * calls + 2 * shards + 100, shards, recordingsDir, log: pino({level: 'warn'}), preloadOpus: true})
  console.log(`bench-codecs: Node ${process.version}, ${availableParallelism()} CPU(s), engine with ${shards} shard(s), ${calls} bridged calls per case, ${seconds} s, ${rounds} round(s); the load generator is a separate process`)
  const results = new Map(cases.map((name) => [name, []]))
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const name of cases) {
        const result = await runCase(engine, name, calls, seconds)
        results.get(name).push(result)
        console.log(`round ${round} ${name.padEnd(5)} ${result.cpuUsPerCallSecond.toFixed(0).padStart(7)} µs CPU per call-second, loss ${result.lossPercent.toFixed(3)} %, shard lag p99 ${(result.lagP99Us / 1000).toFixed(2)} ms${result.undecodable > 0 ? `, ${result.undecodable} undecodable` : ''}`)
      }
    }
  } finally {
    await engine.stop()
    rmSync(recordingsDir, {recursive: true, force: true})
  }
  const plain = median(results.get('plain').map((result) => result.cpuUsPerCallSecond))
  console.log('\ncase   legs               CPU per call-second (median)   × plain   loss (median)   shard lag p99 (median)')
  for (const name of cases) {
    const runs = results.get(name)
    const cpu = median(runs.map((result) => result.cpuUsPerCallSecond))
    const legs = `${CASES[name].a}↔${CASES[name].b}`
    console.log(
      `${name.padEnd(6)} ${legs.padEnd(18)} ${`${cpu.toFixed(0)} µs`.padStart(12)} (${((100 * cpu) / 1e6).toFixed(2)} % of a core)   ${(cpu / plain).toFixed(2).padStart(6)}   ${`${median(runs.map((result) => result.lossPercent)).toFixed(3)} %`.padStart(13)}   ${`${(median(runs.map((result) => result.lagP99Us)) / 1000).toFixed(2)} ms`.padStart(10)}`,
    )
  }
}

if (process.argv.includes(GENERATOR_FLAG)) await runGenerator()
else await main()
