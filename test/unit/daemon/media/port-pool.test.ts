import {describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {createSocket, type Socket} from 'node:dgram'
import {PortPairPool, PortsExhaustedError, splitPortRange} from '../../../../daemon/media/port-pool.js'

const bindAt = (port: number): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(port, '127.0.0.1', () => resolve(socket))
  })

const closeAll = (sockets: readonly Socket[]): Promise<void[]> => Promise.all(sockets.map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))))

/** A random even base with room for `size` ports. */
const randomBase = (): number => 45_000 + 2 * Math.floor(Math.random() * 8_000)

describe('splitPortRange', () => {
  it('splits the even/odd pairs into contiguous, nearly equal shares', () => {
    assert.deepEqual(splitPortRange(20_000, 30_000, 4), [
      {firstPort: 20_000, pairCount: 1250},
      {firstPort: 22_500, pairCount: 1250},
      {firstPort: 25_000, pairCount: 1250},
      {firstPort: 27_500, pairCount: 1250},
    ])
    // An odd minimum starts at the next even port; the last pair must fit below the maximum.
    assert.deepEqual(splitPortRange(20_001, 20_010, 2), [
      {firstPort: 20_002, pairCount: 2},
      {firstPort: 20_006, pairCount: 2},
    ])
    assert.deepEqual(splitPortRange(20_000, 20_008, 3), [
      {firstPort: 20_000, pairCount: 1},
      {firstPort: 20_002, pairCount: 1},
      {firstPort: 20_004, pairCount: 2},
    ])
  })

  it('refuses a range with fewer pairs than shards', () => {
    assert.throws(() => splitPortRange(20_000, 20_003, 3), /2 even\/odd pair\(s\), fewer than the 3 media shard/)
    assert.throws(() => splitPortRange(20_000, 20_100, 0), /positive integer/)
  })
})

describe('PortPairPool', () => {
  it('binds RTP on the even and RTCP on the odd port, round-robin, and skips a pair held by someone else', async () => {
    const base = randomBase()
    const squatter = await bindAt(base + 3)
    const pool = new PortPairPool('127.0.0.1', {firstPort: base, pairCount: 3})
    const first = await pool.bind()
    const second = await pool.bind()
    try {
      assert.equal(first.port, base)
      assert.equal(first.rtp.address().port, base)
      assert.equal(first.rtcp.address().port, base + 1)
      assert.equal(second.port, base + 4, 'the pair whose RTCP port is taken is skipped')
      assert.equal(pool.pairsInUse, 2)
      await assert.rejects(pool.bind(), (error: unknown) => error instanceof PortsExhaustedError && /2 of 3 pairs in use/.test(error.message))
      assert.equal(pool.pairsInUse, 2)
      // Once freed by its holder, the skipped pair is used again.
      await closeAll([squatter])
      const third = await pool.bind()
      assert.equal(third.port, base + 2)
      await closeAll([third.rtp, third.rtcp])
      pool.release(third.port)
    } finally {
      await closeAll([first.rtp, first.rtcp, second.rtp, second.rtcp])
    }
  })

  it('reuses a released pair only after the others', async () => {
    const base = randomBase()
    const pool = new PortPairPool('127.0.0.1', {firstPort: base, pairCount: 3})
    const first = await pool.bind()
    await closeAll([first.rtp, first.rtcp])
    pool.release(first.port)
    const second = await pool.bind()
    const third = await pool.bind()
    const fourth = await pool.bind()
    try {
      assert.deepEqual([second.port, third.port, fourth.port], [base + 2, base + 4, base])
    } finally {
      await closeAll([second, third, fourth].flatMap((pair) => [pair.rtp, pair.rtcp]))
    }
  })

  it('gives concurrent binds distinct pairs', async () => {
    const base = randomBase()
    const pool = new PortPairPool('127.0.0.1', {firstPort: base, pairCount: 4})
    const pairs = await Promise.all([pool.bind(), pool.bind(), pool.bind(), pool.bind()])
    try {
      assert.deepEqual(pairs.map((pair) => pair.port).sort(), [base, base + 2, base + 4, base + 6])
    } finally {
      await closeAll(pairs.flatMap((pair) => [pair.rtp, pair.rtcp]))
    }
  })
})
