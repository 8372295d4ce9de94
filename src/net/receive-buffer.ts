// Larger UDP receive buffers for the listeners every peer shares (SIP over
// UDP, QUIC), and whether the kernel really gave them. Linux caps SO_RCVBUF
// at net.core.rmem_max without an error, so a request can fall short
// silently: its default maximum (212,992 bytes) is a twentieth of what the
// gateway asks for, and what overflows a full buffer is lost signalling or
// audio. Linux reports twice what it granted (its bookkeeping overhead
// counted in), so the answer is compared with twice the request there.

/** The socket calls this needs (node:dgram's Socket has them). */
export interface ReceiveBufferSocket {
  setRecvBufferSize(bytes: number): void
  getRecvBufferSize(): number
}

export interface ReceiveBufferOutcome {
  readonly requested: number
  /** What the kernel reports after the request (on Linux twice the usable size); 0 when it cannot be read. */
  readonly reported: number
  /** The kernel gave less than asked: the listener runs with a smaller buffer than it was sized for. */
  readonly short: boolean
}

const reportFactor = (platform: NodeJS.Platform): number => (platform === 'linux' ? 2 : 1)

/** Asks for `bytes` of receive buffer on `socket` and reads back what the kernel gave. */
export const requestReceiveBuffer = (socket: ReceiveBufferSocket, bytes: number, platform: NodeJS.Platform = process.platform): ReceiveBufferOutcome => {
  try {
    socket.setRecvBufferSize(bytes)
  } catch {
    // Refused or not supported: what the socket has is read below, and falls short.
  }
  let reported: number
  try {
    reported = socket.getRecvBufferSize()
  } catch {
    reported = 0
  }
  return {requested: bytes, reported, short: reported < bytes * reportFactor(platform)}
}

/** What an operator reads when a request fell short: what was asked, what was given, and the sysctl that caps it. */
export const receiveBufferAdvice = (outcome: ReceiveBufferOutcome, platform: NodeJS.Platform = process.platform): string => {
  const granted = Math.floor(outcome.reported / reportFactor(platform))
  return `the kernel gave a UDP receive buffer of ${granted} bytes where ${outcome.requested} were asked` +
    (platform === 'linux' ? `; raise its cap: sysctl -w net.core.rmem_max=${outcome.requested} (and in /etc/sysctl.d/ to keep it)` : '')
}
