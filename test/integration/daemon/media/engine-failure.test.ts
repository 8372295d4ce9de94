// A media shard that dies: the engine reports it (event and log), ends its
// streams with their last quality, restarts the shard, and keeps serving.
import {after, before, describe, it} from 'node:test'
import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {MediaEngine} from '../../../../daemon/media/engine.js'
import type {StreamEndReason} from '../../../../daemon/media/media-stream.js'
import {captureLog, randomPortRange, RtpPeer} from './rtp-peer.js'

let directory = ''

before(() => {
  directory = mkdtempSync(join(tmpdir(), 'clutchcall-media-failure-'))
})

after(() => {
  rmSync(directory, {recursive: true, force: true})
})

describe('MediaEngine when a shard crashes', () => {
  it('ends the shard’s streams with their last quality, logs, restarts the shard and keeps serving', async () => {
    const {log, lines} = captureLog()
    const engine = await MediaEngine.start({
      address: '127.0.0.1',
      ...randomPortRange(20),
      shards: 1,
      recordingsDir: directory,
      log,
      qualityIntervalMs: 200,
      workerUrl: new URL('./crashing-shard-worker.js', import.meta.url),
    })
    const peer = await RtpPeer.open()
    try {
      const failures: Array<{shard: number; message: string}> = []
      const endings: StreamEndReason[] = []
      engine.on('shard-failed', (shard, error) => failures.push({shard, message: error.message}))
      engine.on('stream-ended', (_stream, _final, reason) => endings.push(reason))

      const victim = await engine.createStream({callSid: 'CA-victim'})
      await victim.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 0, codec: 'PCMU'})
      await victim.setMode({kind: 'echo'})
      await peer.stream(victim.localPort, 1, 10)
      // A quality report has reached the main thread before the crash.
      while (victim.quality().packetsReceived < 10) await new Promise((resolve) => setTimeout(resolve, 50))

      const playing = victim.setMode({kind: 'play', source: {type: 'tone', frequencyHz: 440}})
      await engine.createStream({callSid: 'CA-crash'})
      const final = await victim.ended
      assert.equal(final.packetsReceived, 10, 'the last quality known before the crash')
      assert.equal(await victim.close(), final)
      assert.equal(await playing, 'interrupted')
      assert.deepEqual(failures.map((failure) => failure.shard), [0])
      assert.match(failures[0]?.message ?? '', /injected media shard crash/)
      assert.deepEqual(endings, ['shard-failed', 'shard-failed'])
      assert.ok(lines().some((line) => line.level === 50 && line.msg === 'media shard failed; its streams ended' && line.streams === 2))

      // The shard comes back and takes streams again.
      const deadline = Date.now() + 5000
      while (!engine.status()[0]?.running && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.deepEqual(engine.status(), [{shard: 0, running: true, streams: 0, restarts: 1}])
      const survivor = await engine.createStream({callSid: 'CA-after'})
      await survivor.setRemote({address: '127.0.0.1', rtpPort: peer.port, payloadType: 0, codec: 'PCMU'})
      await survivor.setMode({kind: 'echo'})
      const before = peer.received.length
      await peer.stream(survivor.localPort, 1, 3)
      await peer.waitFor(before + 3)
      assert.equal((await survivor.close()).packetsSent, 3)
    } finally {
      await engine.stop()
      await peer.close()
    }
  })
})
