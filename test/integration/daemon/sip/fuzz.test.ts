// Bad input against a real daemon that carries a real call (DESIGN: bad input
// gets a clear error and loses nothing). A SIPp caller plays the PCMA pcap
// for ~28 s against the echo dialplan; while it talks, more than 10 000
// broken SIP messages go to the UDP and TCP listeners (requests broken in one
// definite way, seeded random mutations, junk, many pipelined on one TCP
// stream) and garbage datagrams go to every port of the RTP range. Then: the
// same daemon still answers, every answerable request got its 4xx/5xx and no
// broken one a 2xx, the live call kept its audio and ended clean, and a new
// call goes through.
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {createSocket, type Socket as UdpSocket} from 'node:dgram'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {connect, type Socket as TcpSocket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import type {CallEvent, ChannelHangupComplete, ChannelQuality} from '../../../../src/calls/events.js'
import {SipParseError} from '../../../../src/sip/errors.js'
import {answerableRequest, parseSipMessage} from '../../../../src/sip/parser.js'
import {BIN, freePort, testConfig, TestHome} from '../../../helpers/cli.js'
import {
  ackForFailure,
  baseRequest,
  hangUpAnswered,
  indexOfAnswer,
  mediaGarbage,
  parseAnswer,
  prng,
  randomMutant,
  serializeParts,
  structuredCases,
  type FuzzPeer,
  type SipAnswer,
} from '../../../helpers/fuzz.js'
import {runSipp, uacWithAudio, type SippRun} from '../../../helpers/peers.js'

const SEED = Number(process.env.FUZZ_SEED ?? 0xc1a7c4)
/** Rounds of the structured cases on UDP (44 cases each). */
const UDP_STRUCTURED_ROUNDS = 40
const UDP_RANDOM = 6_000
/** Messages pipelined on one TCP stream. */
const TCP_PIPELINED = 1_500
const TCP_RANDOM_CONNECTIONS = 150
const TCP_MUTANTS_PER_CONNECTION = 8
const MEDIA_DATAGRAMS = 6_000
/** SIPp plays the 7 s pcap this many times: ~35 s of audio, room for the fuzz on a busy machine. */
const LIVE_PLAYS = 5
const LIVE_NUMBER = 'livecall'
/**
 * Requests refused for their start line (version, Request-URI) or for a
 * header section that is not UTF-8, whose other headers are fine: RFC 3261
 * asks for 505 / 416 / 400. Checked on their own, as they once were dropped
 * (the parser kept no partial request for these failures).
 */
const START_LINE_CASES = new Set(['SIP version 3.0', 'SIP version 1.0 on an INVITE', 'http: Request-URI', 'Request-URI without a host', 'Latin-1 byte in the From display name'])
const FRESH_NUMBER = 'freshcall'

const DEBUG = process.env.FUZZ_DEBUG === '1'
const progress = (what: string) => {
  if (DEBUG) console.log(`# [${new Date().toISOString().slice(11, 23)}] ${what}`)
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const waitFor = async <T>(what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

/** What the daemon's own codec makes of a datagram: the oracle for "answerable". */
type Verdict = {kind: 'valid'; method: string} | {kind: 'answerable'; status: number; method: string} | {kind: 'drop'; reason: string}
const verdictOf = (bytes: Buffer, stream = false): Verdict => {
  try {
    const message = parseSipMessage(bytes, stream ? {stream: true} : {})
    return message.kind === 'request' ? {kind: 'valid', method: message.method} : {kind: 'drop', reason: 'a response'}
  } catch (error) {
    if (!(error instanceof SipParseError)) throw error
    const partial = answerableRequest(error)
    if (partial === undefined || partial.kind !== 'request' || partial.method === 'ACK' || error.status === undefined) return {kind: 'drop', reason: partial?.kind === 'request' && partial.method === 'ACK' ? 'an ACK' : error.partial === undefined ? `${error.reason} (nothing parsed)` : `${error.reason} (Via/From/To/Call-ID/CSeq not usable)`}
    return {kind: 'answerable', status: error.status, method: partial.method}
  }
}

/**
 * An independent look (no project code): does the datagram still carry what a
 * response is built from — a SIP/2.0 request line, our Via with its branch,
 * and one each of From, To, Call-ID and CSeq?
 */
const carriesAnswerableHeaders = (bytes: Buffer, peer: FuzzPeer): boolean => {
  const text = bytes.toString('latin1')
  const head = text.split('\r\n\r\n')[0] ?? ''
  const lines = head.split('\r\n')
  if (!/^[A-Z]+ sip:\S+ SIP\/2\.0$/.test(lines[0] ?? '')) return false
  const count = (name: RegExp) => lines.filter((line) => name.test(line)).length
  const via = lines.find((line) => /^Via:/i.test(line)) ?? ''
  return (
    new RegExp(`^Via: SIP/2\\.0/${peer.transport} ${peer.host}:${peer.port};branch=z9hG4bKfz\\d+x;rport$`).test(via) &&
    count(/^From:/i) === 1 &&
    count(/^To:/i) === 1 &&
    count(/^Call-ID:/i) === 1 &&
    count(/^CSeq:/i) === 1
  )
}

interface SentSip {
  readonly index: number
  readonly transport: 'udp' | 'tcp'
  readonly label: string
  readonly bytes: Buffer
  /** Structured cases: the acceptable final statuses ([] = must be dropped). */
  readonly expect?: readonly number[]
  readonly verdict: Verdict
}

const home = new TestHome()
let metricsPort = 0
let udpPort = 0
let tcpPort = 0
let rtpMin = 0
let rtpMax = 0
let daemonPid = 0
let tail: ChildProcess | undefined
let live: SippRun | undefined
const events: CallEvent[] = []

// What the fuzz sent and got back.
const sent = new Map<number, SentSip>()
const answers = new Map<number, SipAnswer[]>()
const answeredInvites2xx: number[] = []
const tcpStats = {pipelinedSent: 0, pipelinedAnswers: new Map<number, number[]>(), pipelinedClosedEarly: false, randomConnections: 0, closedByDaemon: 0, randomMessages: 0, breakers: new Map<string, {closed: boolean; answers: number[]}>()}
const media = {sent: 0, byKind: new Map<string, number>(), rtpBack: 0, rtcpBack: 0, backFrom: new Set<number>()}
let fuzzStartedAt = 0
let fuzzEndedAt = 0
let liveSid = ''
let udpFuzzPort = 0
let udpDrops: number | undefined
let fuzzerDrops: number | undefined

/** Datagrams the kernel dropped on a local UDP port because its receive buffer was full (/proc/net/udp `drops`). */
const socketDrops = (port: number): number | undefined => {
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    if (fields.length > 12 && Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port) return Number(fields[12])
  }
  return undefined
}

/** Picks a block of 21 RTP ports nobody holds right now (binding each, then letting go). */
const freeRtpBlock = async (): Promise<number> => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 42_000 + 2 * Math.floor(Math.random() * 1_400)
    const sockets: UdpSocket[] = []
    const ok = await (async () => {
      for (let port = base; port <= base + 20; port++) {
        const socket = createSocket('udp4')
        sockets.push(socket)
        const bound = await new Promise<boolean>((resolve) => {
          socket.once('error', () => resolve(false))
          socket.bind(port, '127.0.0.1', () => resolve(true))
        })
        if (!bound) return false
      }
      return true
    })()
    await Promise.all(sockets.map((socket) => new Promise<void>((resolve) => {
      try {
        socket.close(() => resolve())
      } catch {
        resolve()
      }
    })))
    if (ok) return base
  }
  throw new Error('no free block of 21 UDP ports in 42000-44820')
}

const qualityOfLive = (): ChannelQuality[] => events.filter((event): event is ChannelQuality => event.type === 'CHANNEL_QUALITY' && event.call_sid === liveSid)

const recordAnswer = (index: number, answer: SipAnswer): void => {
  const list = answers.get(index) ?? []
  list.push(answer)
  answers.set(index, list)
}

before(async () => {
  metricsPort = await freePort()
  rtpMin = await freeRtpBlock()
  rtpMax = rtpMin + 20
  // The flood comes from trusted loopback on a shared machine: overload control could rightly answer its INVITEs
  // 503 (tested in security/overload.test.ts); here the lag limit is out of the way so each broken request meets its own answer.
  home.writeConfig(testConfig(metricsPort, `rtp:\n  address: 127.0.0.1\n  port_min: ${rtpMin}\n  port_max: ${rtpMax}\ntracing:\n  enabled: false\nsecurity:\n  overload: { max_event_loop_lag_ms: 10000, max_event_loop_utilization: 1 }\n`))
  const started = await home.json(['start'])
  assert.equal(started.code, 0, JSON.stringify(started.body))
  daemonPid = started.body.result.pid
  const listeners = started.body.result.listeners as Array<{name: string; transport: string; port: number}>
  udpPort = listeners.find((listener) => listener.name === 'sip' && listener.transport === 'udp')?.port ?? 0
  tcpPort = listeners.find((listener) => listener.name === 'sip' && listener.transport === 'tcp')?.port ?? 0
  assert.ok(udpPort > 0 && tcpPort > 0, JSON.stringify(listeners))
  tail = spawn(process.execPath, [BIN, 'calls', 'tail', '--json'], {env: home.env, stdio: ['ignore', 'pipe', 'inherit']})
  let buffered = ''
  tail.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    const lines = buffered.split('\n')
    buffered = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as CallEvent)
  })
  await sleep(1500)
})

after(async () => {
  live?.stop()
  tail?.kill('SIGTERM')
  await home.cleanup()
})

// ---- senders ----

const openUdp = async (): Promise<UdpSocket> => {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  socket.setRecvBufferSize(8 * 1024 * 1024)
  socket.setSendBufferSize(4 * 1024 * 1024)
  return socket
}

const udpSend = (socket: UdpSocket, bytes: Buffer, port: number): Promise<void> =>
  new Promise((resolve) => socket.send(bytes, port, '127.0.0.1', () => resolve()))

/** Sends `items` `perTick` at a time with a pause between ticks, so a burst measures the daemon, not a socket buffer. */
const paced = async <T>(items: readonly T[], perTick: number, tickMs: number, send: (item: T) => Promise<void>): Promise<void> => {
  for (let start = 0; start < items.length; start += perTick) {
    await Promise.all(items.slice(start, start + perTick).map(send))
    await sleep(tickMs)
  }
}

const fuzzUdp = async (): Promise<void> => {
  const socket = await openUdp()
  const peer: FuzzPeer = {transport: 'UDP', host: '127.0.0.1', port: socket.address().port, target: `127.0.0.1:${udpPort}`}
  udpFuzzPort = peer.port
  const acked = new Set<number>()
  socket.on('message', (bytes) => {
    const answer = parseAnswer(bytes)
    if (answer === undefined) return
    const index = indexOfAnswer(answer.text)
    if (index === undefined) return
    recordAnswer(index, answer)
    if (answer.method !== 'INVITE' || answer.status < 200) return
    if (answer.status < 300) {
      // A mutant that was still a valid offer got answered: take the call down again.
      answeredInvites2xx.push(index)
      for (const request of hangUpAnswered(answer, peer, index)) void udpSend(socket, request, udpPort)
    } else if (!acked.has(index)) {
      acked.add(index)
      const ack = ackForFailure(answer, `sip:echo@${peer.target}`)
      if (ack) void udpSend(socket, ack, udpPort)
    }
  })
  const random = prng(SEED)
  const messages: SentSip[] = []
  let index = 1
  for (let round = 0; round < UDP_STRUCTURED_ROUNDS; round++) {
    for (const testCase of structuredCases(index, peer)) {
      // Each case of the round gets its own index, so its answer is its own.
      const own = structuredCases(index, peer).find((candidate) => candidate.name === testCase.name)!
      messages.push({index, transport: 'udp', label: own.name, bytes: own.bytes, expect: own.expect, verdict: verdictOf(own.bytes)})
      index++
    }
  }
  for (let n = 0; n < UDP_RANDOM; n++) {
    const mutant = randomMutant(index, peer, random)
    messages.push({index, transport: 'udp', label: `${mutant.base} ${mutant.ops.join('+')}`, bytes: mutant.bytes, verdict: verdictOf(mutant.bytes)})
    index++
  }
  // Shuffled, so structured and random requests interleave as they would in the wild.
  for (let n = messages.length - 1; n > 0; n--) {
    const k = Math.floor(random() * (n + 1))
    ;[messages[n], messages[k]] = [messages[k]!, messages[n]!]
  }
  for (const message of messages) sent.set(message.index, message)
  progress(`udp: sending ${messages.length}`)
  // Self-clocked: no more than WINDOW answers outstanding, so the test measures the daemon's answers, not a socket buffer overflowing.
  const WINDOW = 150
  const expectsAnswer = (message: SentSip) => message.verdict.kind === 'answerable' || (message.verdict.kind === 'valid' && message.verdict.method !== 'ACK')
  let expected = 0
  const answeredCount = () => {
    let count = 0
    for (const [index, list] of answers) if (index < 100_000 && list.some((answer) => answer.status >= 200)) count++
    return count
  }
  for (let start = 0; start < messages.length; start += 25) {
    const batch = messages.slice(start, start + 25)
    expected += batch.filter(expectsAnswer).length
    await Promise.all(batch.map((message) => udpSend(socket, message.bytes, udpPort)))
    const deadline = Date.now() + 3_000
    while (expected - answeredCount() > WINDOW && Date.now() < deadline) await sleep(5)
    await sleep(2)
  }
  progress('udp: sent; waiting for answers')
  // Answers still on their way (a 488 waits for the media shard): until quiet for 1.5 s.
  let seen = -1
  for (let waited = 0; waited < 15_000; waited += 1_500) {
    const now = [...answers.values()].reduce((sum, list) => sum + list.length, 0)
    if (now === seen) break
    seen = now
    await sleep(1_500)
  }
  udpDrops = socketDrops(udpPort)
  fuzzerDrops = socketDrops(peer.port)
  socket.close()
}

/** Cuts a TCP byte stream into SIP responses by Content-Length. */
const responseReader = (onAnswer: (answer: SipAnswer) => void) => {
  let buffer = Buffer.alloc(0)
  return (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk])
    for (;;) {
      while (buffer.length >= 2 && buffer[0] === 0x0d && buffer[1] === 0x0a) buffer = buffer.subarray(2)
      const headEnd = buffer.indexOf('\r\n\r\n')
      if (headEnd === -1) return
      const head = buffer.subarray(0, headEnd).toString('latin1')
      const length = Number(/\r\n(?:Content-Length|l)\s*:\s*(\d+)/i.exec(head)?.[1] ?? 0)
      if (buffer.length < headEnd + 4 + length) return
      const answer = parseAnswer(buffer.subarray(0, headEnd + 4 + length))
      buffer = buffer.subarray(headEnd + 4 + length)
      if (answer) onAnswer(answer)
    }
  }
}

const openTcp = (): Promise<TcpSocket> =>
  new Promise((resolve, reject) => {
    const socket = connect({host: '127.0.0.1', port: tcpPort}, () => resolve(socket))
    socket.once('error', reject)
  })

/** Writes bytes in random-sized slices, so messages straddle reads on the daemon's side. */
const writeSliced = async (socket: TcpSocket, bytes: Buffer, random: () => number): Promise<void> => {
  for (let offset = 0; offset < bytes.length && !socket.destroyed; ) {
    const size = 1 + Math.floor(random() * 6_000)
    const slice = bytes.subarray(offset, offset + size)
    offset += size
    if (!socket.write(slice)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done)
          socket.off('close', done)
          resolve()
        }
        socket.once('drain', done)
        socket.once('close', done)
      })
    }
  }
}

const untilClosedOrQuiet = (socket: TcpSocket, quietMs: number, maxMs: number, activity: () => number): Promise<boolean> =>
  new Promise((resolve) => {
    let last = activity()
    let quietFor = 0
    const started = Date.now()
    const timer = setInterval(() => {
      const now = activity()
      quietFor = now === last ? quietFor + 100 : 0
      last = now
      if (socket.destroyed || quietFor >= quietMs || Date.now() - started > maxMs) {
        clearInterval(timer)
        resolve(socket.destroyed)
      }
    }, 100)
    socket.once('close', () => {
      clearInterval(timer)
      resolve(true)
    })
  })

const fuzzTcp = async (): Promise<void> => {
  const random = prng(SEED ^ 0x7c9)
  // 1. Many framed-but-broken requests pipelined on one stream: each must be answered on it, in order, and the stream must live on.
  {
    const socket = await openTcp()
    socket.on('error', () => {})
    const peer: FuzzPeer = {transport: 'TCP', host: '127.0.0.1', port: socket.localPort ?? 0, target: `127.0.0.1:${tcpPort}`}
    const parts: Buffer[] = []
    let count = 0
    for (let index = 100_000; count < TCP_PIPELINED; index++) {
      const cases = structuredCases(index, peer).filter((candidate) => candidate.framed)
      const chosen = cases[index % cases.length]!
      parts.push(chosen.bytes)
      sent.set(index, {index, transport: 'tcp', label: chosen.name, bytes: chosen.bytes, expect: chosen.expect, verdict: verdictOf(chosen.bytes, true)})
      count++
    }
    let answersSeen = 0
    socket.on('data', responseReader((answer) => {
      const index = indexOfAnswer(answer.text)
      answersSeen++
      if (index === undefined || answer.status < 200) return
      const list = tcpStats.pipelinedAnswers.get(index) ?? []
      list.push(answer.status)
      tcpStats.pipelinedAnswers.set(index, list)
      // Stop the 4xx retransmissions of the INVITE transactions (reliable transport: there are none, but ACK as a UAC must).
      if (answer.method === 'INVITE') {
        const ack = ackForFailure(answer, `sip:echo@${peer.target}`)
        if (ack && !socket.destroyed) socket.write(ack)
      }
    }))
    await writeSliced(socket, Buffer.concat(parts), random)
    tcpStats.pipelinedSent = count
    progress('tcp: pipelined written')
    tcpStats.pipelinedClosedEarly = await untilClosedOrQuiet(socket, 1_500, 15_000, () => answersSeen)
    progress(`tcp: pipelined answered ${answersSeen}`)
    socket.destroy()
  }
  // 2. Random mutants, several per connection: a framing error ends the connection, anything else is answered on it.
  const connections = Array.from({length: TCP_RANDOM_CONNECTIONS}, (_, n) => n)
  await paced(connections, 25, 20, async (n) => {
    const socket = await openTcp()
    socket.on('error', () => {})
    tcpStats.randomConnections++
    const peer: FuzzPeer = {transport: 'TCP', host: '127.0.0.1', port: socket.localPort ?? 0, target: `127.0.0.1:${tcpPort}`}
    let activity = 0
    socket.on('data', responseReader((answer) => {
      activity++
      const index = indexOfAnswer(answer.text)
      if (index !== undefined) recordAnswer(index, answer)
    }))
    const stream: Buffer[] = []
    for (let m = 0; m < TCP_MUTANTS_PER_CONNECTION; m++) {
      const index = 200_000 + n * 100 + m
      const mutant = randomMutant(index, peer, random)
      stream.push(mutant.bytes)
      sent.set(index, {index, transport: 'tcp', label: `${mutant.base} ${mutant.ops.join('+')}`, bytes: mutant.bytes, verdict: verdictOf(mutant.bytes, true)})
      tcpStats.randomMessages++
    }
    await writeSliced(socket, Buffer.concat(stream), random)
    if (await untilClosedOrQuiet(socket, 400, 3_000, () => activity)) tcpStats.closedByDaemon++
    socket.destroy()
  })
  // 3. What breaks the framing itself, one connection each: the daemon closes the stream and carries on.
  const peerFor = (socket: TcpSocket): FuzzPeer => ({transport: 'TCP', host: '127.0.0.1', port: socket.localPort ?? 0, target: `127.0.0.1:${tcpPort}`})
  const breakers: Array<[string, (peer: FuzzPeer) => Buffer]> = [
    ['missing Content-Length', (peer) => serializeParts({...baseRequest('OPTIONS', 300_001, peer), contentLength: null})],
    ['Content-Length not a number', (peer) => serializeParts({...baseRequest('OPTIONS', 300_002, peer), contentLength: 'x'})],
    ['two Content-Length', (peer) => serializeParts({...baseRequest('OPTIONS', 300_003, peer), headers: [...baseRequest('OPTIONS', 300_003, peer).headers, 'Content-Length: 4']})],
    ['70 KB message', (peer) => serializeParts({...baseRequest('INVITE', 300_004, peer), body: 'a'.repeat(70_000)})],
    ['header section over 16 KiB', (peer) => serializeParts({...baseRequest('OPTIONS', 300_005, peer), headers: [...baseRequest('OPTIONS', 300_005, peer).headers, ...Array.from({length: 12}, (_, n) => `X-Pad-${n}: ${'y'.repeat(1_500)}`)]})],
    ['20 KB of binary junk', () => Buffer.from(Array.from({length: 20_000}, () => 1 + Math.floor(random() * 255)).map((byte) => (byte === 0x0a ? 0x0b : byte)))],
    ['TLS ClientHello on the TCP port', () => Buffer.from('160301002f0100002b0303' + '00'.repeat(32) + '000004002f00ff0100', 'hex')],
    ['stray CR between messages', (peer) => Buffer.concat([serializeParts(baseRequest('OPTIONS', 300_008, peer)), Buffer.from('\r'), serializeParts(baseRequest('OPTIONS', 300_009, peer))])],
  ]
  progress('tcp: random done')
  // A barrier: the daemon may still be working through the random flood (on a loaded machine, for
  // seconds). Each breaker is judged by a quiet window, so wait until a plain OPTIONS is answered.
  {
    const socket = await openTcp()
    socket.on('error', () => {})
    const statuses: number[] = []
    socket.on('data', responseReader((answer) => statuses.push(answer.status)))
    socket.write(serializeParts(baseRequest('OPTIONS', 299_999, peerFor(socket))))
    const deadline = Date.now() + 30_000
    while (statuses.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
    socket.destroy()
  }
  for (const [name, build] of breakers) {
    progress(`tcp: breaker ${name}`)
    const socket = await openTcp()
    socket.on('error', () => {})
    const statuses: number[] = []
    socket.on('data', responseReader((answer) => statuses.push(answer.status)))
    await writeSliced(socket, build(peerFor(socket)), random)
    const closed = await untilClosedOrQuiet(socket, 1_500, 5_000, () => statuses.length)
    tcpStats.breakers.set(name, {closed, answers: statuses})
    socket.destroy()
  }
}

const fuzzMedia = async (): Promise<void> => {
  const socket = await openUdp()
  socket.on('message', (bytes, from) => {
    if (from.port < rtpMin || from.port > rtpMax) return
    media.backFrom.add(from.port)
    // RTCP packet types 200..204 in the second byte; anything else from the range is RTP.
    if (bytes.length >= 2 && bytes[1]! >= 200 && bytes[1]! <= 204) media.rtcpBack++
    else media.rtpBack++
  })
  const random = prng(SEED ^ 0x3e11a)
  const datagrams = Array.from({length: MEDIA_DATAGRAMS}, (_, n) => ({port: rtpMin + (n % (rtpMax - rtpMin + 1)), garbage: mediaGarbage(random)}))
  await paced(datagrams, 20, 15, async ({port, garbage}) => {
    media.byKind.set(garbage.kind, (media.byKind.get(garbage.kind) ?? 0) + 1)
    media.sent++
    await udpSend(socket, garbage.bytes, port)
  })
  progress('media: sent')
  await sleep(500)
  socket.close()
}

// ---- SIPVicious (Debian's SIP scanner): real attack tooling as one more bad peer ----

const SIPVICIOUS = spawnSync('sh', ['-c', 'command -v svmap && command -v svwar'], {encoding: 'utf8'}).status === 0
const scans: Array<{command: string; code: number | null; timedOut: boolean; output: string}> = []

const runScanner = (command: string, args: readonly string[], home: string, timeoutMs: number): Promise<void> =>
  new Promise((resolve) => {
    // The tools keep their sessions under $HOME/.sipvicious: a private one, removed afterwards.
    const child = spawn(command, args, {env: {...process.env, HOME: home}, stdio: ['ignore', 'pipe', 'pipe']})
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    child.once('close', (code) => {
      clearTimeout(timer)
      scans.push({command: `${command} ${args.join(' ')}`, code, timedOut, output})
      resolve()
    })
  })

const scanWithSipvicious = async (): Promise<void> => {
  // A missing peer fails the SIPVicious test below; the rest of the fuzz still runs.
  if (!SIPVICIOUS) return
  const scratch = mkdtempSync(join(tmpdir(), 'cc-sv-'))
  try {
    const target = ['127.0.0.1', '-p', String(udpPort)]
    // All at once, like a scanning botnet would, and so they fit in the call: svwar's INVITE scan waits on every 488, hence its short range.
    await Promise.all([
      runScanner('svmap', [...target], scratch, 20_000),
      runScanner('svmap', [...target, '-m', 'INVITE'], scratch, 20_000),
      runScanner('svwar', [...target, '-e', '100-300'], scratch, 20_000),
      runScanner('svwar', [...target, '-e', '100-130', '-m', 'INVITE'], scratch, 20_000),
      runScanner('svwar', [...target, '-e', '100-300', '-m', 'OPTIONS'], scratch, 20_000),
    ])
  } finally {
    rmSync(scratch, {recursive: true, force: true})
  }
}

// ---- the test ----

describe('SIP and RTP bad input against a daemon carrying a live call', {timeout: 120_000}, () => {
  it('puts a real call up: SIPp plays the PCMA pcap against the echo dialplan', async () => {
    live = await runSipp({scenarioXml: uacWithAudio(LIVE_PLAYS), target: `127.0.0.1:${udpPort}`, service: LIVE_NUMBER, timeoutS: 60})
    const create = await waitFor('the live call', () => events.find((event) => event.type === 'CHANNEL_CREATE' && event.to_number === LIVE_NUMBER))
    liveSid = create.call_sid
    await waitFor('the answer', () => events.find((event) => event.type === 'CHANNEL_ANSWER' && event.call_sid === liveSid))
    await waitFor('two quality reports with audio', () => (qualityOfLive().filter((quality) => quality.packets_received > 0).length >= 2 ? true : undefined), 10_000)
  })

  it(`sends ${UDP_STRUCTURED_ROUNDS * 44 + UDP_RANDOM} UDP, ${TCP_PIPELINED + TCP_RANDOM_CONNECTIONS * TCP_MUTANTS_PER_CONNECTION}+ TCP messages and ${MEDIA_DATAGRAMS} media datagrams while the call is up`, async () => {
    fuzzStartedAt = Date.now()
    await Promise.all([fuzzUdp(), fuzzTcp(), fuzzMedia(), scanWithSipvicious()])
    fuzzEndedAt = Date.now()
    const total = sent.size + media.sent
    assert.ok(sent.size >= 10_000, `only ${sent.size} SIP messages sent`)
    const liveEnded = events.some((event) => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === liveSid)
    assert.equal(liveEnded, false, `the fuzz took ${(fuzzEndedAt - fuzzStartedAt) / 1000} s: longer than the call`)
    console.log(`# fuzz: ${sent.size} SIP messages + ${media.sent} media datagrams (${total} in all) in ${((fuzzEndedAt - fuzzStartedAt) / 1000).toFixed(1)} s, seed ${SEED}`)
  })

  it('the daemon is the same process and still answers on every interface', async () => {
    const status = await home.json(['status'])
    assert.equal(status.code, 0, JSON.stringify(status.body))
    assert.equal(status.body.result.pid, daemonPid, 'the daemon restarted or crashed')
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`)
    assert.equal(metrics.status, 200)
    // A well-formed OPTIONS still gets its 200 on both transports.
    const udp = await openUdp()
    const peer: FuzzPeer = {transport: 'UDP', host: '127.0.0.1', port: udp.address().port, target: `127.0.0.1:${udpPort}`}
    const udpAnswer = new Promise<SipAnswer | undefined>((resolve) => udp.once('message', (bytes) => resolve(parseAnswer(bytes))))
    await udpSend(udp, serializeParts(baseRequest('OPTIONS', 900_001, peer)), udpPort)
    assert.equal((await udpAnswer)?.status, 200)
    udp.close()
    const tcp = await openTcp()
    const tcpAnswer = new Promise<SipAnswer>((resolve) => tcp.on('data', responseReader(resolve)))
    tcp.write(serializeParts(baseRequest('OPTIONS', 900_002, {transport: 'TCP', host: '127.0.0.1', port: tcp.localPort ?? 0, target: `127.0.0.1:${tcpPort}`})))
    assert.equal((await tcpAnswer).status, 200)
    tcp.destroy()
  })

  it('answers every answerable broken UDP request with the 4xx/5xx it deserves, and never a 2xx', () => {
    const udp = [...sent.values()].filter((message) => message.transport === 'udp')
    const finals = (index: number) => (answers.get(index) ?? []).filter((answer) => answer.status >= 200)
    // Structured cases: the status RFC 3261 asks for, each one.
    const structured = udp.filter((message) => message.expect !== undefined && !START_LINE_CASES.has(message.label))
    const wrong: string[] = []
    const byCase = new Map<string, {sent: number; answered: number; statuses: Set<number>}>()
    for (const message of structured) {
      const got = finals(message.index)
      const entry = byCase.get(message.label) ?? {sent: 0, answered: 0, statuses: new Set<number>()}
      entry.sent++
      if (got.length > 0) entry.answered++
      for (const answer of got) entry.statuses.add(answer.status)
      byCase.set(message.label, entry)
      const expect = message.expect ?? []
      if (got.some((answer) => answer.status < 300)) wrong.push(`${message.label}: got ${got.map((answer) => answer.status).join(',')}`)
      else if (expect.length > 0 && (got.length === 0 || !got.every((answer) => expect.includes(answer.status)))) wrong.push(`${message.label}: expected ${expect.join('/')}, got ${got.map((answer) => answer.status).join(',') || 'nothing'}`)
      else if (expect.length === 0 && got.length > 0) wrong.push(`${message.label}: must be dropped, got ${got.map((answer) => answer.status).join(',')}`)
    }
    for (const [label, entry] of byCase) console.log(`#   ${label.padEnd(46)} ${entry.answered}/${entry.sent} answered ${[...entry.statuses].join(',')}`)
    assert.deepEqual([...new Set(wrong)], [], 'structured cases answered wrongly')

    // Random mutants: the daemon's codec is the oracle for what is answerable; an independent header check gives the share.
    const random = udp.filter((message) => message.expect === undefined)
    const answerable = random.filter((message) => message.verdict.kind === 'answerable')
    const valid = random.filter((message) => message.verdict.kind === 'valid')
    const dropped = random.filter((message) => message.verdict.kind === 'drop')
    const answeredOf = (list: SentSip[]) => list.filter((message) => finals(message.index).length > 0 || (message.verdict.kind === 'valid' && message.verdict.method === 'ACK'))
    const mismatched = answerable.filter((message) => {
      const got = finals(message.index)
      return got.length > 0 && !got.every((answer) => message.verdict.kind === 'answerable' && answer.status === message.verdict.status)
    })
    const broken2xx = [...answerable, ...dropped].filter((message) => finals(message.index).some((answer) => answer.status < 300))
    const answeredDropped = dropped.filter((message) => finals(message.index).length > 0)
    const independent = random.filter((message) => carriesAnswerableHeaders(message.bytes, {transport: 'UDP', host: '127.0.0.1', port: udpFuzzPort, target: ''}))
    const statusHistogram = new Map<number, number>()
    for (const message of random) for (const answer of finals(message.index)) statusHistogram.set(answer.status, (statusHistogram.get(answer.status) ?? 0) + 1)
    console.log(`# UDP datagrams the kernel dropped: ${udpDrops ?? 'unknown'} at the daemon's SIP socket, ${fuzzerDrops ?? 'unknown'} at the fuzzer's`)
    console.log(`# random UDP mutants: ${random.length} sent; codec says ${answerable.length} answerable-but-broken, ${valid.length} still valid, ${dropped.length} unanswerable`)
    console.log(`#   answered: ${answeredOf(answerable).length}/${answerable.length} broken-but-answerable, ${answeredOf(valid).length}/${valid.length} valid, ${answeredDropped.length}/${dropped.length} unanswerable; overall ${random.filter((message) => finals(message.index).length > 0).length}/${random.length}`)
    console.log(`#   final statuses: ${[...statusHistogram].sort((a, b) => a[0] - b[0]).map(([status, count]) => `${status}×${count}`).join(' ')}; INVITE mutants answered 2xx (then hung up): ${answeredInvites2xx.length}`)
    console.log(`#   by an independent header check, ${independent.length} random mutants still carry a SIP/2.0 request line, our Via and one From/To/Call-ID/CSeq: ${answeredOf(independent).length} answered, ${independent.filter((message) => finals(message.index).some((answer) => answer.status >= 400)).length} with 4xx-6xx`)
    const unansweredReasons = new Map<string, number>()
    for (const message of independent) {
      if (finals(message.index).length > 0 || message.verdict.kind !== 'drop') continue
      const reason = message.verdict.reason.replace(/\d+/g, 'N')
      unansweredReasons.set(reason, (unansweredReasons.get(reason) ?? 0) + 1)
    }
    console.log(`#   of those, dropped unanswered because: ${[...unansweredReasons].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([reason, count]) => `${reason} ×${count}`).join('; ')}`)
    for (const message of answeredDropped.slice(0, 3)) console.log(`#   answered though the codec drops it: ${JSON.stringify(message.bytes.toString('latin1').slice(0, 300))} -> ${JSON.stringify(finals(message.index).map((answer) => answer.text))}`)
    for (const message of answerable.filter((candidate) => finals(candidate.index).length === 0).slice(0, 3)) console.log(`#   answerable but unanswered: ${JSON.stringify(message.bytes.toString('latin1').slice(0, 400))}`)
    assert.deepEqual(broken2xx.map((message) => `${message.label}: ${JSON.stringify(message.bytes.toString('latin1').slice(0, 200))}`), [], 'a broken request got a 2xx')
    assert.deepEqual(mismatched.slice(0, 5).map((message) => `${message.label}: ${finals(message.index).map((answer) => answer.status)} vs ${JSON.stringify(message.verdict)}`), [])
    assert.ok(answeredOf(answerable).length >= 0.98 * answerable.length, `only ${answeredOf(answerable).length} of ${answerable.length} answerable broken requests were answered`)
    assert.ok(answerable.length >= 500, `the mutations left too few answerable requests (${answerable.length}) to mean anything`)
    assert.deepEqual(answeredDropped.slice(0, 5).map((message) => message.label), [], 'unanswerable requests were answered')
  })

  it('answers requests refused for their start line or for non-UTF-8 headers with 505 / 416 / 400', () => {
    const cases = [...sent.values()].filter((message) => message.transport === 'udp' && START_LINE_CASES.has(message.label))
    const unanswered = cases.filter((message) => !(answers.get(message.index) ?? []).some((answer) => answer.status >= 400 && (message.expect ?? []).includes(answer.status)))
    console.log(`# start-line cases: ${cases.length - unanswered.length}/${cases.length} answered (${[...START_LINE_CASES].join(', ')})`)
    assert.deepEqual([...new Set(unanswered.map((message) => message.label))], [])
  })

  it('on TCP, answers pipelined broken requests in one stream, and closes only streams it can no longer frame', () => {
    const pipelined = [...sent.values()].filter((message) => message.transport === 'tcp' && message.expect !== undefined)
    const missing = pipelined.filter((message) => (message.expect ?? []).length > 0 && !tcpStats.pipelinedAnswers.has(message.index))
    const wrong = pipelined.filter((message) => (tcpStats.pipelinedAnswers.get(message.index) ?? []).some((status) => status < 300 || ((message.expect ?? []).length > 0 && !(message.expect ?? []).includes(status))))
    console.log(`# TCP pipelined: ${tcpStats.pipelinedAnswers.size} of ${pipelined.length} answered on the one stream; stream closed by the daemon: ${tcpStats.pipelinedClosedEarly}`)
    console.log(`# TCP random: ${tcpStats.randomMessages} mutants on ${tcpStats.randomConnections} connections, ${tcpStats.closedByDaemon} closed by the daemon within 400 ms of the last answer (framing lost)`)
    for (const [name, result] of tcpStats.breakers) console.log(`#   ${name.padEnd(34)} closed=${result.closed} answers=${result.answers.join(',') || 'none'}`)
    assert.equal(tcpStats.pipelinedClosedEarly, false, 'the daemon closed a stream that was framed correctly')
    assert.deepEqual(missing.slice(0, 5).map((message) => message.label), [])
    assert.deepEqual(wrong.slice(0, 5).map((message) => `${message.label}: ${tcpStats.pipelinedAnswers.get(message.index)}`), [])
    const tcpRandom = [...sent.values()].filter((message) => message.transport === 'tcp' && message.expect === undefined)
    const broken2xx = tcpRandom.filter((message) => message.verdict.kind !== 'valid' && (answers.get(message.index) ?? []).some((answer) => answer.status >= 200 && answer.status < 300))
    assert.deepEqual(broken2xx.map((message) => message.label), [], 'a broken TCP request got a 2xx')
    for (const [name, result] of tcpStats.breakers) {
      assert.equal(result.answers.some((status) => status >= 200 && status < 300 && name !== 'stray CR between messages'), false, `${name}: answered 2xx`)
      // A ClientHello is too short to prove the stream is not SIP: the framer waits for a line end (up to 8 KiB or the idle timeout).
      if (name !== 'stray CR between messages' && name !== 'TLS ClientHello on the TCP port') assert.equal(result.closed, true, `${name}: the stream cannot be framed, yet it stayed open`)
    }
  })

  it('SIPVicious scans it like any SIP device and gets plain answers', () => {
    assert.ok(SIPVICIOUS, 'sipvicious is a required test peer: apt-get install sipvicious')
    for (const scan of scans) console.log(`# ${scan.command}: exit ${scan.code}${scan.timedOut ? ' (killed: timed out)' : ''}; ${scan.output.split('\n').filter((line) => /\|/.test(line) && !/^[-+| ]*$/.test(line)).length} table lines`)
    for (const scan of scans) assert.equal(scan.timedOut, false, `${scan.command} hung: ${scan.output.slice(-500)}`)
    const fingerprint = scans.find((scan) => scan.command.startsWith('svmap') && !scan.command.includes('INVITE'))
    assert.match(fingerprint?.output ?? '', /127\.0\.0\.1:\d+\s*\|\s*ClutchCall/, `svmap found no SIP device: ${fingerprint?.output}`)
  })

  it('ignores media garbage: nothing is echoed back to a foreign source', () => {
    console.log(`# media: ${media.sent} datagrams to ${rtpMin}-${rtpMax}: ${[...media.byKind].map(([kind, count]) => `${kind} ${count}`).join('; ')}`)
    console.log(`#   sent back to the fuzzer: ${media.rtpBack} RTP, ${media.rtcpBack} RTCP from ports ${[...media.backFrom].join(',') || 'none'}`)
    // RTCP latches to the first well-formed report from the caller's address, whatever its port (NAT-friendly), so a stray
    // receiver report from another port of the same host takes the stream's RTCP reports: shown, not asserted.
    if (media.rtcpBack > 0) console.log('#   note: a foreign-port RTCP receiver report redirected RTCP reports of the streams it reached (src/media/rtp-stream.ts onRtcp latches any port)')
    assert.equal(media.rtpBack, 0, 'a foreign source hijacked the echo of a stream')
  })

  it('the live call keeps its audio through the fuzz and ends clean', async () => {
    const before = qualityOfLive().filter((quality) => quality.timestamp_ms <= fuzzStartedAt).at(-1)
    assert.ok(before, 'a quality report before the fuzz')
    const afterFuzz = await waitFor('a quality report after the fuzz', () => qualityOfLive().find((quality) => quality.timestamp_ms > fuzzEndedAt + 1000), 10_000)
    assert.ok(afterFuzz.packets_received > before.packets_received, `packets_received ${before.packets_received} → ${afterFuzz.packets_received}`)
    // The quality reports kept their 1 s pace during the fuzz: media and the event stream were not starved.
    const during = qualityOfLive().filter((quality) => quality.timestamp_ms >= fuzzStartedAt - 1000 && quality.timestamp_ms <= fuzzEndedAt + 1000)
    const gaps = during.slice(1).map((quality, n) => quality.timestamp_ms - during[n]!.timestamp_ms)
    console.log(`# live call: ${before.packets_received} packets before the fuzz, ${afterFuzz.packets_received} after; quality report gaps during the fuzz max ${Math.max(...gaps)} ms; MOS during ${Math.min(...during.map((quality) => quality.estimated_mos ?? 0))}..${Math.max(...during.map((quality) => quality.estimated_mos ?? 0))}`)
    assert.ok(Math.max(...gaps) < 3000, `quality reports stalled for ${Math.max(...gaps)} ms`)
    const sipp = await live!.done
    assert.equal(sipp.code, 0, `SIPp failed: ${sipp.output}`)
    const end = await waitFor('the end of the live call', () => events.find((event): event is ChannelHangupComplete => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.call_sid === liveSid))
    console.log(`# live call CDR: status ${end.status}, cause ${end.q850_cause}, ${end.duration_seconds} s, received ${end.packets_received}, sent ${end.packets_sent}, lost ${end.packets_lost}, jitter ${end.jitter_ms} ms, MOS ${end.estimated_mos}`)
    assert.equal(end.status, 'completed')
    assert.equal(end.q850_cause, 16)
    assert.ok(end.packets_received >= LIVE_PLAYS * 236 * 0.98, `received ${end.packets_received} of ${LIVE_PLAYS * 236}`)
    assert.ok(end.packets_lost <= Math.max(2, end.packets_received / 100), `lost ${end.packets_lost}`)
    assert.ok(end.estimated_mos >= 4, `MOS ${end.estimated_mos}`)
  })

  it('logged no internal error, left no call up, and still takes a fresh call', async () => {
    // Running out of RTP ports under a flood of INVITEs is logged as an error by design; anything else is a fault.
    const errors = readFileSync(home.path('daemon.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"level":50') || line.includes('"level":60'))
      .filter((line) => !(line.includes('MediaPortsExhaustedError') && line.includes('no media stream for the call')))
    assert.deepEqual(errors.slice(0, 5), [], 'the daemon logged errors')
    // Fuzz INVITEs that got through to a call end with their 488; give the last of them a moment.
    for (let waited = 0; waited < 10_000; waited += 250) {
      const list = await home.json(['calls', 'list'])
      if ((list.body.result?.calls ?? []).length === 0) break
      await sleep(250)
    }
    const status = await home.json(['status'])
    assert.equal(status.body.result.calls.active, 0, 'calls left up after the fuzz')
    const fresh = await runSipp({scenarioXml: uacWithAudio(1), target: `127.0.0.1:${udpPort}`, service: FRESH_NUMBER, timeoutS: 30})
    const {code, output} = await fresh.done
    assert.equal(code, 0, output)
    const end = await waitFor('the end of the fresh call', () => events.find((event): event is ChannelHangupComplete => event.type === 'CHANNEL_HANGUP_COMPLETE' && event.to_number === FRESH_NUMBER))
    assert.equal(end.status, 'completed')
    assert.ok(end.packets_received >= 200, `received ${end.packets_received}`)
    assert.equal((await home.json(['status'])).body.result.pid, daemonPid)
  })
})
