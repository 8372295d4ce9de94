// The HEP sender thread: one UDP socket connected to the collector, fed with
// batches of encoded frames by the sink on the main thread. The send system
// calls (one per frame: HEP collectors take one frame per datagram) happen
// here, so capture adds no system call to the thread that runs signalling.
// Connected, the socket hears ICMP errors (a closed collector port): one that
// arrives while nothing is sent comes as an 'error' event; one that is still
// pending fails the next send (its callback). Either way it is counted once,
// and nothing is thrown.
import {createSocket, type Socket} from 'node:dgram'
import {isIP} from 'node:net'
import {parentPort, workerData} from 'node:worker_threads'
import {FRAME_SIP, type SenderCommand, type SenderCounts, type SenderEvent, type SenderInit} from './sender-protocol.js'

const port = parentPort
if (port === null) throw new Error('sender-worker.js runs as the HEP sink\'s worker thread')
const init = workerData as SenderInit

/** Frames waiting in libuv's queue (the socket buffer was full) beyond which new frames are dropped and counted. */
const MAX_QUEUED = 4096
/** Errors that arrive between batches (ICMP) are reported at most this late. */
const REPORT_MS = 50

const sent = {sip: 0, rtcp: 0}
let errors = 0
let lastError: SenderCounts['lastError'] = null
let seq = 0
let reportTimer: NodeJS.Timeout | undefined
let closing = false
/** Sends whose callback has not come yet. */
let pending = 0

const post = (event: SenderEvent): void => port.postMessage(event)
const counts = (): SenderCounts => ({sip: sent.sip, rtcp: sent.rtcp, errors, lastError, seq})
const report = (): void => {
  clearTimeout(reportTimer)
  reportTimer = undefined
  post({type: 'counts', ...counts()})
}

const failed = (error: unknown): void => {
  errors++
  const message = error instanceof Error ? ((error as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? `the collector refused the frame (ICMP port unreachable): ${error.message}` : error.message) : String(error)
  lastError = {at: Date.now(), message}
  reportTimer ??= setTimeout(report, REPORT_MS)
}

const socket: Socket = createSocket(isIP(init.address) === 6 ? 'udp6' : 'udp4')
const onConnectError = (error: Error): void => post({type: 'failed', message: error.message})
socket.once('error', onConnectError)
socket.connect(init.port, init.address, () => {
  socket.off('error', onConnectError)
  socket.on('error', failed)
  post({type: 'ready'})
})

const sendBatch = (command: Extract<SenderCommand, {type: 'batch'}>): void => {
  const bytes = Buffer.from(command.buffer)
  let unfinished = 1
  // The buffer goes back to the sink once the last send of the batch has completed (libuv may still read it until then).
  const done = (): void => {
    if (--unfinished > 0) return
    seq = command.seq
    clearTimeout(reportTimer)
    reportTimer = undefined
    port.postMessage({type: 'returned', buffer: command.buffer, ...counts()} satisfies SenderEvent, [command.buffer])
  }
  let start = 0
  for (let index = 0; index < command.ends.length; index++) {
    const end = command.ends[index] ?? start
    if (socket.getSendQueueCount() >= MAX_QUEUED) {
      failed(new Error(`${MAX_QUEUED} frames already queued for the collector; frame dropped`))
    } else {
      const sip = command.kinds[index] === FRAME_SIP
      unfinished++
      pending++
      try {
        // With a callback: a send the kernel refuses (a pending ICMP error) is reported there, not lost.
        socket.send(bytes.subarray(start, end), (error) => {
          pending--
          if (error) failed(error)
          else if (sip) sent.sip++
          else sent.rtcp++
          done()
        })
      } catch (error) {
        pending--
        failed(error)
        done()
      }
    }
    start = end
  }
  done()
}

port.on('message', (command: SenderCommand) => {
  if (command.type === 'batch') {
    if (!closing) sendBatch(command)
    return
  }
  closing = true
  // What libuv still queues leaves before the socket closes (bounded: the sink stops waiting after a while).
  const finish = (): void => {
    if (socket.getSendQueueCount() > 0 || pending > 0) {
      setTimeout(finish, 5)
      return
    }
    clearTimeout(reportTimer)
    post({type: 'closed', ...counts()})
    socket.close()
    port.close()
  }
  finish()
})
