// Processes and ports for scripts/fleet: free ports on a given loopback
// address, programs started detached (they outlive the script, logging to a
// file in the fleet's directory), waits with a deadline, and stops by pid.
import {spawn} from 'node:child_process'
import {createSocket} from 'node:dgram'
import {openSync, closeSync, readFileSync} from 'node:fs'
import {createServer} from 'node:net'

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const tcpFree = (address, port) =>
  new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(undefined))
    server.listen(port, address, () => {
      const bound = server.address().port
      server.close(() => resolve(bound))
    })
  })

const udpFree = (address, port) =>
  new Promise((resolve) => {
    const socket = createSocket('udp4')
    socket.once('error', () => resolve(false))
    socket.bind(port, address, () => socket.close(() => resolve(true)))
  })

/** A port free on `address` for TCP (and for UDP too with `udp`), a moment ago. */
export const freePort = async (address, {udp = false} = {}) => {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tcpFree(address, 0)
    if (port !== undefined && (!udp || (await udpFree(address, port)))) return port
  }
  throw new Error(`no free port on ${address}`)
}

/** Whether `address` can be bound here (on Linux all of 127.0.0.0/8 is local without `ip addr add`). */
export const canBind = async (address) => (await tcpFree(address, 0)) !== undefined

/** Starts `command` detached in its own process group, stdout and stderr to `logFile`; returns its pid. */
export const startDetached = (command, args, {cwd, logFile, env = process.env}) => {
  const fd = openSync(logFile, 'a')
  try {
    const child = spawn(command, args, {cwd, env, detached: true, stdio: ['ignore', fd, fd]})
    child.unref()
    return child.pid
  } finally {
    closeSync(fd)
  }
}

export const isAlive = (pid) => {
  if (!pid) return false
  try {
    process.kill(pid, 0)
    // A zombie (exited, not yet reaped) is not alive.
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))
  } catch {
    return false
  }
}

/** An error a `waitFor` probe throws when waiting longer cannot help (the process it waits for exited). */
export class WaitAborted extends Error {}

/** Polls `probe` until it returns a value other than undefined; throws `what` after `timeoutMs`, or at once when the probe throws WaitAborted. */
export const waitFor = async (what, probe, timeoutMs = 30_000, everyMs = 200) => {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (error) {
      if (error instanceof WaitAborted) throw error
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last.message ?? last}` : ''}`)
    await sleep(everyMs)
  }
}

/**
 * Whether `pid` is still the program we started: its command line names `marker` (the part's
 * directory). A pid left in a state file after its process died may belong to another program by now.
 */
export const runsFrom = (pid, marker) => {
  if (!isAlive(pid)) return false
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)
  } catch {
    return false
  }
}

/** Sends `signal` to the process group `pid` leads (the program and its children), then waits for `pid` to go. */
export const stopPid = async (pid, {signal = 'SIGTERM', timeoutMs = 10_000} = {}) => {
  if (!isAlive(pid)) return
  const send = (sig) => {
    try {
      process.kill(-pid, sig)
    } catch {
      try {
        process.kill(pid, sig)
      } catch {
        // Gone already.
      }
    }
  }
  send(signal)
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid) && Date.now() < deadline) await sleep(100)
  if (isAlive(pid)) {
    send('SIGKILL')
    while (isAlive(pid)) await sleep(50)
  }
}

/** GET `url`; the body when it answers 2xx within a second, undefined otherwise. */
export const httpOk = async (url) => {
  try {
    const response = await fetch(url, {signal: AbortSignal.timeout(1000)})
    return response.ok ? await response.text() : undefined
  } catch {
    return undefined
  }
}
