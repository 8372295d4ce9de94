// SIPp for the benchmark scripts: run it, and read its -trace_stat,
// -trace_rtt and -trace_err files (written in its working directory).
import {spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'

/** A UDP port free on 127.0.0.1 right now. */
export const freeUdpPort = () =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.bind(0, '127.0.0.1', () => {
      const {port} = socket.address()
      socket.close(() => resolve(port))
    })
  })

/** Starts sipp with `args` in `cwd`: the child, and `done` resolving with its exit code and the tail of its stderr. */
export const runSipp = (args, cwd) => {
  const child = spawn('sipp', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk.toString()).slice(-4000)))
  const done = new Promise((resolve) => child.once('exit', (code) => resolve({code: code ?? 1, stderr})))
  return {child, done}
}

/** The last line of SIPp's -trace_stat file, by column name. */
export const sippStats = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_.csv`)
  if (!existsSync(file)) return undefined
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const names = lines[0].split(';')
  const values = lines.at(-1).split(';')
  return Object.fromEntries(names.map((name, index) => [name, values[index]]))
}

/** The three most frequent errors of SIPp's -trace_err file, numbers masked: [text, count]. */
export const sippErrors = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_errors.log`)
  if (!existsSync(file)) return []
  const counts = new Map()
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const text = line.replace(/^[\d\-:.\s]+\t?[\d.]*:?\s*/, '').replace(/\d+/g, 'N').slice(0, 120).trim()
    if (text) counts.set(text, (counts.get(text) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3)
}

/**
 * SIPp's -trace_rtt rows (with -rtt_freq 1, one per call): `atMs`, when the
 * response time was measured (ms since SIPp started), and `ms`, the response time.
 */
export const sippRtts = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_rtt.csv`)
  if (!existsSync(file)) return []
  return readFileSync(file, 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.split(';'))
    .map(([atMs, ms]) => ({atMs: Number(atMs), ms: Number(ms)}))
    .filter((row) => Number.isFinite(row.atMs) && Number.isFinite(row.ms))
}

/** Seconds of a SIPp `HH:MM:SS` elapsed time (anything after the seconds is ignored). */
export const elapsedSeconds = (text) => {
  const [h, m, s] = (text ?? '0:0:0').split(':').map(Number)
  return h * 3600 + m * 60 + s
}

/**
 * SIPp's -trace_counts file (its last line): how often each scenario message
 * was sent, retransmitted, received, timed out or came unexpected, by column
 * name (`0_INVITE_Sent`, `4_503_Recv`, `0_INVITE_Timeout`…).
 */
export const sippCounts = (cwd, scenario, pid) => {
  const file = join(cwd, `${scenario}_${pid}_counts.csv`)
  if (!existsSync(file)) return {}
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  const names = lines[0].split(';')
  const values = lines.at(-1).split(';')
  return Object.fromEntries(names.map((name, index) => [name, Number(values[index])]).filter(([name, value]) => name !== '' && Number.isFinite(value)))
}

/** The PCMA payloads of a pcap (e.g. SIPp's g711a.pcap), concatenated: the raw file SIPp's rtp_stream plays. */
export const rawAudioFromPcap = (pcapFile) => {
  const data = readFileSync(pcapFile)
  const little = data.readUInt32LE(0) === 0xa1b2c3d4
  const u32 = (offset) => (little ? data.readUInt32LE(offset) : data.readUInt32BE(offset))
  const payloads = []
  for (let offset = 24; offset + 16 <= data.length; ) {
    const length = u32(offset + 8)
    const frame = data.subarray(offset + 16, offset + 16 + length)
    offset += 16 + length
    if (frame.length < 14 + 20 + 8 + 12 || frame.readUInt16BE(12) !== 0x0800) continue
    const ip = frame.subarray(14)
    if (ip[9] !== 17) continue
    const rtp = ip.subarray((ip[0] & 0x0f) * 4 + 8)
    if (rtp[0] >> 6 !== 2 || (rtp[1] & 0x7f) !== 8) continue
    payloads.push(rtp.subarray(12 + (rtp[0] & 0x0f) * 4))
  }
  return Buffer.concat(payloads)
}
