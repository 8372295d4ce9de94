// The daemon's admin socket for the benchmark scripts: the CLI's own client
// (dist/src/admin/client.js, so `npm run build` first) with the two helpers
// the benchmarks need on top.
import {AdminClient} from '../../dist/src/admin/client.js'
import {sleep} from './measure.js'

export class Admin {
  /** Connects and says hello as `client`; requests time out after a minute (a loaded daemon answers slowly). */
  static async connect(path, client = 'bench') {
    return new Admin(await AdminClient.connect(path, {client, timeoutMs: 60_000}))
  }

  constructor(client) {
    this.client = client
  }

  request(method, params = {}) {
    return this.client.call(method, params)
  }

  /** `calls.subscribe`: every call event from now on goes to onEvent. */
  subscribe(onEvent) {
    return this.client.subscribeCalls({}, onEvent)
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
    this.client.close()
  }
}
