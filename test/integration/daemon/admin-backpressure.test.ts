// Admin clients that never read, against a real daemon: one pipelines
// thousands of requests, one subscribes to call events while SIPp places
// calls, one is `calls tail --json` writing into a pipe nobody reads. The
// daemon's memory stays bounded (VmRSS from /proc), other clients are still
// answered, the pipelining client gets every answer once it reads, and the
// subscribers are told CC_ERR_ADMIN_SUBSCRIBER_LAGGING before they are cut off.
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createConnection, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {ADMIN_PROTOCOL_VERSION} from '../../../src/admin/protocol.js'
import {BIN, freePort, testConfig, TestHome} from '../../helpers/cli.js'
import {sleep, waitFor} from '../../helpers/gateway.js'
import {runSipp, uacShortCall, type SippRun} from '../../helpers/peers.js'

const HELLO = `${JSON.stringify({jsonrpc: '2.0', id: 0, method: 'daemon.hello', params: {protocol: ADMIN_PROTOCOL_VERSION, client: 'never-reads'}})}\n`
const PIPELINED = 100_000
/** What an unbounded daemon would hold for PIPELINED unread status answers is > 100 MB; a bounded one stays far below. */
const MAX_RSS_GROWTH_KB = 60 * 1024

const rssKb = (pid: number): number => {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  assert.ok(match, `no VmRSS for pid ${pid}`)
  return Number(match[1])
}

const connect = (path: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = createConnection(path, () => resolve(socket))
    socket.once('error', reject)
  })

/** One request on a fresh connection, answered within the deadline or the test fails. */
const statusOnFreshConnection = async (path: string, deadlineMs = 5_000): Promise<{pid: number}> => {
  const socket = await connect(path)
  try {
    socket.setEncoding('utf8')
    const lines: string[] = []
    let buffered = ''
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      lines.push(...parts)
    })
    socket.write(`${HELLO}${JSON.stringify({jsonrpc: '2.0', id: 1, method: 'daemon.status'})}\n`)
    const line = await waitFor('daemon.status on a fresh connection', () => lines.find((candidate) => candidate.includes('"id":1')), deadlineMs)
    return (JSON.parse(line) as {result: {pid: number}}).result
  } finally {
    socket.destroy()
  }
}

const statusOkCount = async (metricsPort: number): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const match = /^clutchcall_admin_requests_total\{[^}]*method="daemon\.status"[^}]*result="ok"[^}]*\} (\d+)/m.exec(text)
  return match ? Number(match[1]) : 0
}

/** Waits until a counter stops moving for `quietMs`. */
const settled = async (read: () => Promise<number>, quietMs = 1_500, timeoutMs = 30_000): Promise<number> => {
  const deadline = Date.now() + timeoutMs
  let last = await read()
  let since = Date.now()
  while (Date.now() < deadline) {
    await sleep(250)
    const now = await read()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quietMs) return now
  }
  throw new Error('the counter never settled')
}

const laggingLogged = (home: TestHome, after: number): boolean => {
  try {
    return readFileSync(home.path('daemon.log'), 'utf8').slice(after).includes('admin subscriber lagging')
  } catch {
    return false
  }
}

describe('admin socket: a client that never reads its answers', () => {
  const home = new TestHome()
  let metricsPort = 0
  let pid = 0

  before(async () => {
    metricsPort = await freePort()
    home.writeConfig(testConfig(metricsPort))
    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))
    pid = (await statusOnFreshConnection(home.path('admin.sock'))).pid
  })
  after(() => home.cleanup())

  it('stops reading its requests once 1 MiB of answers wait, stays bounded, answers others, and delivers every answer once read', {timeout: 120_000}, async () => {
    const socket = await connect(home.path('admin.sock'))
    // No 'data' listener: the socket is not flowing, so the answers stay unread.
    const baselineKb = rssKb(pid)
    const requests = Array.from({length: PIPELINED}, (_, index) => `{"jsonrpc":"2.0","id":${index + 1},"method":"daemon.status"}\n`).join('')
    socket.write(HELLO + requests)
    const handled = await settled(() => statusOkCount(metricsPort))
    const grownKb = rssKb(pid) - baselineKb
    console.log(`# ${handled} of ${PIPELINED} pipelined requests handled while unread; daemon RSS grew ${grownKb} kB`)
    assert.ok(handled > 0, 'the daemon answered some of the pipelined requests')
    assert.ok(handled < PIPELINED / 4, `the daemon kept reading a client that does not read: ${handled} of ${PIPELINED} requests handled`)
    assert.ok(grownKb < MAX_RSS_GROWTH_KB, `the daemon grew by ${grownKb} kB for one client that does not read`)

    const started = Date.now()
    assert.equal((await statusOnFreshConnection(home.path('admin.sock'))).pid, pid)
    assert.ok(Date.now() - started < 5_000, 'another client is answered promptly')

    // Reading now: every request is answered, in order of arrival, none lost.
    socket.setEncoding('utf8')
    let answers = 0
    let buffered = ''
    let lastId = 0
    let outOfOrder = 0
    socket.on('data', (chunk: string) => {
      buffered += chunk
      let newline = buffered.indexOf('\n')
      while (newline !== -1) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        const id = Number(/"id":(\d+)/.exec(line)?.[1])
        if (id > 0) {
          answers++
          if (id < lastId) outOfOrder++
          lastId = id
        }
        newline = buffered.indexOf('\n')
      }
    })
    await waitFor('every pipelined answer', () => (answers >= PIPELINED ? true : undefined), 90_000)
    assert.equal(answers, PIPELINED)
    assert.equal(outOfOrder, 0, 'answers to one connection come in the order of its requests')
    socket.destroy()
  })
})

describe('admin socket: event subscribers that fall behind', () => {
  const home = new TestHome()
  let metricsPort = 0
  let pid = 0
  let sip = ''
  let sipp: SippRun | undefined

  before(async () => {
    metricsPort = await freePort()
    // The smallest cap, so a few hundred events overflow it (plus the kernel's socket buffer).
    home.writeConfig(testConfig(metricsPort, 'admin:\n  max_queued_bytes: 16384\n'))
    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))
    const listener = started.body.result.listeners.find((candidate: {name: string; transport: string}) => candidate.name === 'sip' && candidate.transport === 'udp')
    sip = `127.0.0.1:${listener.port}`
    pid = (await statusOnFreshConnection(home.path('admin.sock'))).pid
  })
  after(async () => {
    sipp?.stop()
    await home.cleanup()
  })

  /** Short calls until the daemon says it cut a subscriber off (or the calls run out). */
  const callUntilLagging = async (logBefore: number): Promise<void> => {
    sipp = await runSipp({scenarioXml: uacShortCall(50), target: sip, calls: 2_000, extraArgs: ['-r', '40', '-l', '40'], timeoutS: 90})
    try {
      await waitFor('the daemon to disconnect a lagging subscriber', () => (laggingLogged(home, logBefore) ? true : undefined), 80_000)
    } finally {
      sipp.stop()
      await sipp.done
      sipp = undefined
    }
  }

  it('a raw subscriber that never reads gets CC_ERR_ADMIN_SUBSCRIBER_LAGGING as its last line, then the connection closes; the daemon stays bounded', {timeout: 150_000}, async () => {
    const socket = await connect(home.path('admin.sock'))
    socket.write(`${HELLO}${JSON.stringify({jsonrpc: '2.0', id: 1, method: 'calls.subscribe'})}\n`)
    const baselineKb = rssKb(pid)
    const logBefore = readFileSync(home.path('daemon.log'), 'utf8').length
    await callUntilLagging(logBefore)
    const grownKb = rssKb(pid) - baselineKb
    console.log(`# daemon RSS grew ${grownKb} kB while a subscriber did not read`)
    assert.ok(grownKb < MAX_RSS_GROWTH_KB, 'the daemon stays bounded while a subscriber does not read')
    assert.equal((await statusOnFreshConnection(home.path('admin.sock'))).pid, pid, 'other clients are still answered')

    const lines: string[] = []
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      lines.push(...parts)
    })
    await new Promise<void>((resolve) => socket.once('close', () => resolve()))
    const messages = lines.map((line) => JSON.parse(line) as {id?: number; method?: string; params?: any})
    assert.ok(messages.filter((message) => message.method === 'calls.event').length > 10, 'events came before the cut')
    const last = messages.at(-1)
    assert.equal(last?.method, 'stream.error', `the last line says why: ${JSON.stringify(last)}`)
    assert.equal(last?.params.data.cc_code, 'CC_ERR_ADMIN_SUBSCRIBER_LAGGING')
    assert.equal(last?.params.data.details.max_bytes, 16384)
    assert.match(last?.params.message, /fell behind by more than 16384 bytes/)
  })

  it('`calls tail --json` into a pipe nobody reads stops with CC_ERR_ADMIN_SUBSCRIBER_LAGGING and exit 1', {timeout: 150_000}, async () => {
    const logBefore = readFileSync(home.path('daemon.log'), 'utf8').length
    const subscriptionsBefore = await subscribed(metricsPort)
    const tail = spawn(process.execPath, [BIN, 'calls', 'tail', '--json'], {env: home.env, stdio: ['ignore', 'pipe', 'pipe']})
    const exited = new Promise<number>((resolve) => tail.once('exit', (code) => resolve(code ?? -1)))
    // The pipe is not read until the daemon has cut the tail off: its stdout fills and the tail blocks.
    tail.stdout.pause()
    await waitFor('the tail subscription', async () => ((await subscribed(metricsPort)) > subscriptionsBefore ? true : undefined))
    await callUntilLagging(logBefore)
    let stdout = ''
    let stderr = ''
    tail.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    tail.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    tail.stdout.resume()
    const code = await exited
    assert.equal(code, 1, `exit code; stderr: ${stderr}`)
    assert.match(stdout, /"code": ?"CC_ERR_ADMIN_SUBSCRIBER_LAGGING"/, `stdout ends with the error envelope: ${stdout.slice(-600)}`)
    assert.match(stdout, /fell behind by more than 16384 bytes/)
  })
})

const subscribed = async (metricsPort: number): Promise<number> => {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
  const match = /^clutchcall_admin_requests_total\{[^}]*method="calls\.subscribe"[^}]*result="ok"[^}]*\} (\d+)/m.exec(text)
  return match ? Number(match[1]) : 0
}
