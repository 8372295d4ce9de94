// Log lines for TLS handshakes the gateway refused (plaintext on the TLS
// port, an untrusted or expired client certificate, a peer that never
// handshakes). The first of each kind — the drop reason and OpenSSL's reason
// together — in a 10 s window is logged at once with its peer, so an
// operator sees why a carrier's connection fails; the others of the window
// are summed in one line at its end, so a flood costs one line per kind per
// 10 s, not one per connection. Each is counted in
// clutchcall_sip_connections_dropped_total either way.
import type {Logger} from 'pino'
import type {SipConnectionDropReason, SocketAddress} from '../../src/sip/transport/types.js'

const WINDOW_MS = 10_000
/** OpenSSL's reasons are a small set; past this many kinds in one window, the rest share one. */
const MAX_KINDS = 32

export class HandshakeFailureLog {
  private readonly windows = new Map<string, {suppressed: number; timer: NodeJS.Timeout}>()

  constructor(private readonly log: Logger) {}

  record(reason: SipConnectionDropReason, remote: SocketAddress, detail: string | undefined): void {
    const kind = this.windows.size >= MAX_KINDS ? `${reason}|(other)` : `${reason}|${detail ?? ''}`
    const open = this.windows.get(kind)
    if (open !== undefined) {
      open.suppressed++
      return
    }
    this.log.warn({reason, remote: `${remote.address}:${remote.port}`, detail}, reason === 'handshake_timeout' ? 'TLS connection dropped: no handshake in time' : 'TLS handshake refused')
    const timer = setTimeout(() => {
      const window = this.windows.get(kind)
      this.windows.delete(kind)
      if (window !== undefined && window.suppressed > 0) this.log.warn({reason, detail, count: window.suppressed, window_s: WINDOW_MS / 1000}, 'more TLS connections dropped for the same reason')
    }, WINDOW_MS)
    timer.unref()
    this.windows.set(kind, {suppressed: 0, timer})
  }

  stop(): void {
    for (const window of this.windows.values()) clearTimeout(window.timer)
    this.windows.clear()
  }
}
