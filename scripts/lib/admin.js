// The daemon's admin socket for the benchmark scripts: JSON-RPC 2.0 lines on
// $CLUTCHCALL_HOME/admin.sock, requests and the `calls.event` stream.
import {createConnection} from 'node:net'
import {sleep} from './measure.js'

export class Admin {
  static open(path) {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path, () => resolve(new Admin(socket)))
      socket.once('error', reject)
    })
  }

  /** Opens the socket and says hello (protocol 1) as `client`. */
  static async connect(path, client = 'bench') {
    const admin = await Admin.open(path)
    await admin.request('daemon.hello', {protocol: 1, client})
    return admin
  }

  constructor(socket) {
    this.socket = socket
    this.nextId = 1
    this.pending = new Map()
    this.onEvent = undefined
    let buffered = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk) => {
      buffered += chunk
      let newline = buffered.indexOf('\n')
      while (newline !== -1) {
        const message = JSON.parse(buffered.slice(0, newline))
        buffered = buffered.slice(newline + 1)
        newline = buffered.indexOf('\n')
        if (message.id !== undefined && this.pending.has(message.id)) {
          this.pending.get(message.id)(message)
          this.pending.delete(message.id)
        } else if (message.method === 'calls.event') this.onEvent?.(message.params)
      }
    })
  }

  async request(method, params = {}) {
    const id = this.nextId++
    const answer = new Promise((resolve) => this.pending.set(id, resolve))
    this.socket.write(`${JSON.stringify({jsonrpc: '2.0', id, method, params})}\n`)
    const message = await answer
    if (message.error) throw new Error(`${method}: ${message.error.message}`)
    return message.result
  }

  /** Calls up now (daemon.status). */
  async active() {
    return (await this.request('daemon.status')).calls.active
  }

  /** Up to `timeoutMs` for the daemon to have no call up (checked at once, then every half second); false if it still has. */
  async waitForIdle(timeoutMs) {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if ((await this.active()) === 0) return true
      await sleep(500)
    }
    return false
  }

  close() {
    this.socket.destroy()
  }
}
