#!/usr/bin/env node
// Media engine benchmark: N shards on loopback, K echo streams, driven by a
// load generator in a separate process that sends one 20 ms G.711 packet per
// stream every 20 ms and measures the echoes. For each K it prints packets/s
// handled, the CPU time of the engine's process per stream, loss and jitter
// (upstream as the engine measured it, round trip as the generator did), and
// each shard's event-loop lag percentiles. Needs a build (npx tsc -p .).
//
// With `--modes plain,srtp` each count runs once per mode (alternating,
// `--rounds` times): in `srtp` the streams and the generator speak SRTP
// (AES_CM_128_HMAC_SHA1_80, our SrtpSession at both ends; the generator's
// share is in its own process), so each echo costs the engine one unprotect
// and one protect, and the report ends with SRTP's CPU per stream-second
// against plain RTP's of the same run: a single gateway's media path, with no
// signalling and no second daemon.
//
//   npm run bench:media [-- --shards 2 --streams 100,500,1000 --seconds 20]
//   npm run bench:media -- --modes plain,srtp --streams 250 --rounds 3
import {fork} from 'node:child_process'
import {randomBytes} from 'node:crypto'
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

// ---- The load generator (child process) ----

const runGenerator = async () => {
  const {ReceiverStats} = await import(join(dist, 'src/media/receiver-stats.js'))
  const {encodeUlaw} = await import(join(dist, 'src/media/g711.js'))
  const {ToneGenerator} = await import(join(dist, 'src/media/tone.js'))
  const {SrtpSession} = await import(join(dist, 'src/media/srtp.js'))
  const payload = encodeUlaw(new ToneGenerator({frequencyHz: 1004}).nextFrame())
  const {count, srtpKeys} = await new Promise((resolve) => process.once('message', resolve))

  const streams = []
  for (let index = 0; index < count; index++) {
    const socket = createSocket('udp4')
    await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve))
    // The generator's keys are the engine's remote ones and the other way round.
    const srtp = srtpKeys === undefined ? undefined : new SrtpSession('AES_CM_128_HMAC_SHA1_80', Buffer.from(srtpKeys[index].remote, 'base64'), Buffer.from(srtpKeys[index].local, 'base64'))
    const stream = {socket, srtp, ssrc: 0x10000 + index, seq: 0, stats: new ReceiverStats({ssrc: 0, clockRate: 8000}), echoed: 0}
    // Each echo's own SSRC is new to this ReceiverStats: it is created on the first echo.
    socket.on('message', (received) => {
      const datagram = srtp === undefined ? received : (received.length >= 12 && (received[1] & 0x7f) === 0 ? srtp.unprotectRtp(received) : undefined)
      if (datagram === undefined) return
      // RTCP of another stream can land here (its RTP port + 1 may be this socket): count RTP only.
      const packetType = datagram.length >= 12 ? datagram[1] & 0x7f : -1
      if (packetType !== 0) return
      if (stream.echoed === 0) stream.stats = new ReceiverStats({ssrc: datagram.readUInt32BE(8), clockRate: 8000})
      stream.echoed++
      stream.stats.onPacket(datagram.readUInt16BE(2), datagram.readUInt32BE(4), performance.timeOrigin + performance.now(), datagram.length - 12)
    })
    streams.push(stream)
  }
  process.send({ports: streams.map((stream) => stream.socket.address().port)})
  const {targets, seconds} = await new Promise((resolve) => process.once('message', resolve))
  // Connected sockets: dgram skips its per-send address lookup, about 3× cheaper per packet.
  await Promise.all(targets.map((target, index) => new Promise((resolve) => streams[index].socket.connect(target, '127.0.0.1', resolve))))

  // Drift-compensated 20 ms ticks; the generator's own lag is reported so it can be told apart.
  const lags = []
  const started = performance.now()
  let due = started
  let frames = 0
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now()
      lags.push(now - due)
      for (const stream of streams) {
        const packet = Buffer.allocUnsafe(12 + payload.length)
        packet[0] = 0x80
        packet[1] = 0
        packet.writeUInt16BE(stream.seq & 0xffff, 2)
        packet.writeUInt32BE((stream.seq * 160) >>> 0, 4)
        packet.writeUInt32BE(stream.ssrc, 8)
        payload.copy(packet, 12)
        stream.socket.send(stream.srtp === undefined ? packet : stream.srtp.protectRtp(packet))
        stream.seq++
      }
      frames++
      due += 20
      if (now - started >= seconds * 1000) return resolve()
      setTimeout(tick, Math.max(0, due - performance.now()))
    }
    tick()
  })
  await new Promise((resolve) => setTimeout(resolve, 500))
  const snapshots = streams.map((stream) => stream.stats.snapshot())
  const sent = streams.reduce((sum, stream) => sum + stream.seq, 0)
  const echoed = streams.reduce((sum, stream) => sum + stream.echoed, 0)
  lags.sort((a, b) => a - b)
  process.send({
    sent,
    echoed,
    frames,
    jitterMs: snapshots.map((snapshot) => snapshot.jitterMs),
    generatorLagP99Ms: lags[Math.floor(lags.length * 0.99)] ?? 0,
  })
  for (const stream of streams) stream.socket.close()
  process.disconnect()
}

// ---- The engine side (this process) ----

const stats = (values) => {
  if (values.length === 0) return {mean: 0, p50: 0, p99: 0, max: 0}
  const sorted = Float64Array.from(values).sort()
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
  return {mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]}
}

const runRound = async (engine, count, seconds, mode = 'plain') => {
  const generator = fork(fileURLToPath(import.meta.url), [GENERATOR_FLAG], {stdio: ['ignore', 'inherit', 'inherit', 'ipc']})
  const exited = new Promise((resolve) => generator.once('exit', resolve))
  const reply = () => new Promise((resolve) => generator.once('message', resolve))
  const srtpKeys = mode === 'srtp' ? Array.from({length: count}, () => ({local: randomBytes(30).toString('base64'), remote: randomBytes(30).toString('base64')})) : undefined
  generator.send({count, srtpKeys})
  const {ports} = await reply()
  const streams = []
  for (let index = 0; index < count; index++) {
    const stream = await engine.createStream({callSid: `CA${String(index).padStart(32, '0')}`})
    const srtp = srtpKeys === undefined ? undefined : {suite: 'AES_CM_128_HMAC_SHA1_80', localKey: Buffer.from(srtpKeys[index].local, 'base64'), remoteKey: Buffer.from(srtpKeys[index].remote, 'base64')}
    await stream.setRemote({address: '127.0.0.1', rtpPort: ports[index], payloadType: 0, codec: 'PCMU', ...(srtp === undefined ? {} : {srtp})})
    await stream.setMode({kind: 'echo'})
    streams.push(stream)
  }
  const lagSamples = new Map()
  const onLag = (lag) => {
    const samples = lagSamples.get(lag.shard) ?? []
    for (const sample of lag.samplesUs) samples.push(sample)
    lagSamples.set(lag.shard, samples)
  }
  engine.on('lag', onLag)
  const cpuBefore = process.cpuUsage()
  const wallBefore = performance.now()
  generator.send({targets: streams.map((stream) => stream.localPort), seconds})
  const result = await reply()
  const wallMs = performance.now() - wallBefore
  const cpu = process.cpuUsage(cpuBefore)
  engine.off('lag', onLag)
  const finals = await Promise.all(streams.map((stream) => stream.close()))
  await exited

  const received = finals.reduce((sum, quality) => sum + quality.packetsReceived, 0)
  const sentByEngine = finals.reduce((sum, quality) => sum + quality.packetsSent, 0)
  const lostUpstream = finals.reduce((sum, quality) => sum + quality.packetsLost, 0)
  const cpuMs = (cpu.user + cpu.system) / 1000
  return {
    count,
    mode,
    packetsPerSecond: (received + sentByEngine) / (wallMs / 1000),
    cpuPercent: (100 * cpuMs) / wallMs,
    cpuUsPerStreamSecond: (cpuMs * 1000) / count / (wallMs / 1000),
    upstreamLossPercent: (100 * lostUpstream) / Math.max(1, received + lostUpstream),
    roundTripLossPercent: (100 * (result.sent - result.echoed)) / Math.max(1, result.sent),
    upstreamJitter: stats(finals.map((quality) => quality.jitterMs)),
    roundTripJitter: stats(result.jitterMs),
    mos: stats(finals.map((quality) => quality.estimatedMos)),
    generatorLagP99Ms: result.generatorLagP99Ms,
    lag: [...lagSamples.entries()].sort(([a], [b]) => a - b).map(([shard, samples]) => ({shard, ...stats(samples)})),
  }
}

const fixed = (value, digits = 1) => value.toFixed(digits)

const report = (round, shards, seconds) => {
  console.log(`\n== ${round.count} echo streams${round.mode === 'plain' ? '' : ` (${round.mode})`}, ${shards} shard(s), ${seconds} s ==`)
  console.log(`packets handled      ${fixed(round.packetsPerSecond, 0)} /s (rx + tx)`)
  console.log(`CPU of the process   ${fixed(round.cpuPercent)} % of one core = ${fixed(round.cpuUsPerStreamSecond, 0)} µs per stream per second`)
  console.log(`loss                 upstream ${fixed(round.upstreamLossPercent, 3)} %, round trip ${fixed(round.roundTripLossPercent, 3)} %`)
  console.log(`jitter (ms)          upstream mean ${fixed(round.upstreamJitter.mean, 2)} p99 ${fixed(round.upstreamJitter.p99, 2)}; round trip mean ${fixed(round.roundTripJitter.mean, 2)} p99 ${fixed(round.roundTripJitter.p99, 2)}`)
  console.log(`estimated MOS        mean ${fixed(round.mos.mean, 2)}, p50 ${fixed(round.mos.p50, 2)}`)
  console.log(`generator lag p99    ${fixed(round.generatorLagP99Ms, 2)} ms (the load generator's own timer lateness)`)
  for (const lag of round.lag) console.log(`shard ${lag.shard} lag (µs)     p50 ${fixed(lag.p50, 0)}  p99 ${fixed(lag.p99, 0)}  max ${fixed(lag.max, 0)}`)
}

const main = async () => {
  if (!existsSync(join(dist, 'daemon/media/engine.js'))) {
    console.error('bench-media: dist/daemon/media/engine.js is missing; build first (npx tsc -p .)')
    process.exit(1)
  }
  const {MediaEngine} = await import(join(dist, 'daemon/media/engine.js'))
  const {default: pino} = await import('pino')
  const shards = Number(option('shards', String(availableParallelism())))
  const counts = option('streams', '100,500,1000').split(',').map(Number)
  const seconds = Number(option('seconds', '20'))
  const modes = option('modes', 'plain').split(',').filter((mode) => mode === 'plain' || mode === 'srtp')
  const rounds = Number(option('rounds', '1'))
  const recordingsDir = mkdtempSync(join(tmpdir(), 'clutchcall-bench-media-'))
  const portMin = Number(option('port-min', '30000'))
  const engine = await MediaEngine.start({
    address: '127.0.0.1',
    portMin,
    portMax: portMin + 2 * Math.max(...counts) + 2 * shards + 100,
    shards,
    recordingsDir,
    log: pino({level: 'warn'}),
  })
  console.log(`bench-media: Node ${process.version}, ${availableParallelism()} CPU(s), engine with ${shards} shard(s); the load generator is a separate process`)
  try {
    const results = []
    for (const count of counts) {
      for (let round = 0; round < rounds; round++) {
        // The order alternates between rounds, so neither mode always runs first.
        for (const mode of round % 2 === 0 ? modes : [...modes].reverse()) {
          const result = await runRound(engine, count, seconds, mode)
          report(result, shards, seconds)
          results.push(result)
        }
      }
    }
    if (modes.length > 1) {
      console.log('\nSRTP against plain RTP, engine CPU per stream-second (median of the rounds):')
      for (const count of counts) {
        const median = (mode) => stats(results.filter((result) => result.count === count && result.mode === mode).map((result) => result.cpuUsPerStreamSecond)).p50
        const losses = results.filter((result) => result.count === count).map((result) => `${result.mode} ${fixed(result.roundTripLossPercent, 3)} %`).join(', ')
        console.log(`  ${count} streams: plain ${fixed(median('plain'), 0)} µs, srtp ${fixed(median('srtp'), 0)} µs, ${fixed(median('srtp') / median('plain'), 2)}× (goal <= 1.3×); round-trip loss ${losses}`)
      }
    }
  } finally {
    await engine.stop()
    rmSync(recordingsDir, {recursive: true, force: true})
  }
}

if (process.argv.includes(GENERATOR_FLAG)) await runGenerator()
else await main()
