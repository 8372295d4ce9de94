import assert from 'node:assert/strict'
import {createSocket} from 'node:dgram'
import {readFileSync} from 'node:fs'
import {test} from 'node:test'
import {receiveBufferAdvice, requestReceiveBuffer, type ReceiveBufferSocket} from '../../../../src/net/receive-buffer.js'

/** A kernel like Linux's: caps the request at `max` without an error and reports twice what it set. */
const linuxLike = (max: number): ReceiveBufferSocket & {set: number} => ({
  set: 212_992,
  setRecvBufferSize(bytes) {
    this.set = Math.min(bytes, max)
  },
  getRecvBufferSize() {
    return 2 * this.set
  },
})

test('a request the kernel grants in full is not short', () => {
  const outcome = requestReceiveBuffer(linuxLike(8 << 20), 4 << 20, 'linux')
  assert.deepEqual(outcome, {requested: 4 << 20, reported: 8 << 20, short: false})
})

test('a request capped by net.core.rmem_max is short, and the advice names the sysctl and both sizes', () => {
  const outcome = requestReceiveBuffer(linuxLike(212_992), 4 << 20, 'linux')
  assert.equal(outcome.short, true)
  assert.equal(outcome.reported, 425_984)
  const advice = receiveBufferAdvice(outcome, 'linux')
  assert.match(advice, /gave a UDP receive buffer of 212992 bytes where 4194304 were asked/)
  assert.match(advice, /sysctl -w net\.core\.rmem_max=4194304/)
})

test('a kernel that refuses the request, or cannot say, counts as short', () => {
  const refusing: ReceiveBufferSocket = {
    setRecvBufferSize() {
      throw new Error('EPERM')
    },
    getRecvBufferSize: () => 212_992,
  }
  assert.equal(requestReceiveBuffer(refusing, 4 << 20, 'linux').short, true)
  const silent: ReceiveBufferSocket = {
    setRecvBufferSize() {},
    getRecvBufferSize() {
      throw new Error('EBADF')
    },
  }
  assert.deepEqual(requestReceiveBuffer(silent, 1 << 20, 'linux'), {requested: 1 << 20, reported: 0, short: true})
})

// The gateway runs on Linux (Debian), as its tests do: this one asks the real kernel.
test("on this host's kernel: within net.core.rmem_max is granted, past it is short", async () => {
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim())
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  try {
    assert.equal(requestReceiveBuffer(socket, Math.min(rmemMax, 64 * 1024)).short, false, 'a buffer within the cap')
    const past = requestReceiveBuffer(socket, rmemMax * 2 + 65_536)
    assert.equal(past.short, true, `asking ${rmemMax * 2 + 65_536} with rmem_max ${rmemMax} (reported ${past.reported})`)
  } finally {
    socket.close()
  }
})
