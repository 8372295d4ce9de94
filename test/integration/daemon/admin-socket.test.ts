// Bad input on the admin socket of a real daemon: every bad line gets a
// JSON-RPC error, and neither the connection nor the daemon goes away.
import assert from 'node:assert/strict'
import {createConnection, type Socket} from 'node:net'
import {after, before, describe, it} from 'node:test'
import {ADMIN_PROTOCOL_VERSION} from '../../../src/admin/protocol.js'
import {freePort, testConfig, TestHome} from '../../helpers/cli.js'

/** A raw line-oriented connection, to send what the typed client never would. */
class RawConnection {
  private buffered = ''
  private readonly waiting: Array<(line: unknown) => void> = []
  private readonly lines: unknown[] = []

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.buffered += chunk
      let newline = this.buffered.indexOf('\n')
      while (newline !== -1) {
        const parsed: unknown = JSON.parse(this.buffered.slice(0, newline))
        this.buffered = this.buffered.slice(newline + 1)
        const waiter = this.waiting.shift()
        if (waiter) waiter(parsed)
        else this.lines.push(parsed)
        newline = this.buffered.indexOf('\n')
      }
    })
  }

  static open(path: string): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path, () => resolve(new RawConnection(socket)))
      socket.once('error', reject)
    })
  }

  send(text: string): void {
    this.socket.write(text)
  }

  next(): Promise<any> {
    const line = this.lines.shift()
    if (line !== undefined) return Promise.resolve(line)
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  async request(method: string, params: unknown, id: number): Promise<any> {
    this.send(`${JSON.stringify({jsonrpc: '2.0', id, method, params})}\n`)
    return this.next()
  }
}

describe('admin socket under bad input', () => {
  const home = new TestHome()
  let metricsPort = 0
  let connection: RawConnection

  before(async () => {
    metricsPort = await freePort()
    home.writeConfig(testConfig(metricsPort))
    const started = await home.json(['start'])
    assert.equal(started.code, 0, JSON.stringify(started.body))
    connection = await RawConnection.open(home.path('admin.sock'))
  })
  after(async () => {
    connection.socket.destroy()
    await home.cleanup()
  })

  it('requires the protocol handshake first', async () => {
    const answer = await connection.request('daemon.status', {}, 1)
    assert.equal(answer.id, 1)
    assert.equal(answer.error.code, -32021)
    assert.equal(answer.error.data.cc_code, 'CC_ERR_ADMIN_HANDSHAKE_REQUIRED')
  })

  it('refuses a client of another protocol version, plainly', async () => {
    const answer = await connection.request('daemon.hello', {protocol: ADMIN_PROTOCOL_VERSION + 1, client: 'test'}, 2)
    assert.equal(answer.error.data.cc_code, 'CC_ERR_ADMIN_PROTOCOL_MISMATCH')
    assert.match(answer.error.message, new RegExp(`CLI speaks admin protocol ${ADMIN_PROTOCOL_VERSION + 1} but the daemon speaks ${ADMIN_PROTOCOL_VERSION}`))
  })

  it('answers a malformed line with a parse error and keeps the connection', async () => {
    const hello = await connection.request('daemon.hello', {protocol: ADMIN_PROTOCOL_VERSION, client: 'test'}, 3)
    assert.equal(hello.result.protocol, ADMIN_PROTOCOL_VERSION)
    connection.send('{"jsonrpc": "2.0", "id": 4, "method": \n')
    const parseError = await connection.next()
    assert.equal(parseError.error.code, -32700)
    assert.equal(parseError.id, null)
    connection.send('[1,2,3]\n')
    const notAnObject = await connection.next()
    assert.equal(notAnObject.error.code, -32600)
    const status = await connection.request('daemon.status', {}, 5)
    assert.equal(status.id, 5)
    assert.equal(typeof status.result.pid, 'number')
  })

  it('answers an unknown method with -32601 naming the known ones', async () => {
    const answer = await connection.request('calls.explode', {}, 6)
    assert.equal(answer.error.code, -32601)
    assert.equal(answer.error.data.cc_code, 'CC_ERR_ADMIN_UNKNOWN_METHOD')
    assert.match(answer.error.data.hint, /daemon\.status/)
  })

  it('answers invalid params with -32602 naming the field', async () => {
    const answer = await connection.request('daemon.stop', {timeout_ms: 'soon'}, 7)
    assert.equal(answer.error.code, -32602)
    assert.match(answer.error.message, /timeout_ms/)
    const extra = await connection.request('daemon.status', {verbose: true}, 8)
    assert.equal(extra.error.code, -32602)
  })

  it('drops an oversized line with an error and keeps serving', async () => {
    connection.send(`${'x'.repeat(1024 * 1024 + 10)}\n`)
    const oversize = await connection.next()
    assert.equal(oversize.error.code, -32600)
    const status = await connection.request('daemon.status', {}, 9)
    assert.equal(status.id, 9)
  })

  it('counts bad requests under bounded method labels, never the raw method name', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()
    assert.match(text, /clutchcall_admin_requests_total\{method="unknown",result="error"\} [1-9]/)
    assert.match(text, /clutchcall_admin_requests_total\{method="invalid",result="error"\} [1-9]/)
    assert.doesNotMatch(text, /calls\.explode/)
  })

  it('the daemon is still up for a fresh client', async () => {
    const status = await home.json(['status'])
    assert.equal(status.code, 0)
  })
})
