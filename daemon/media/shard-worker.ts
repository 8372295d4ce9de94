// Entry point of a media shard's worker thread: wires the ShardHost to the
// parent port. Anything uncaught ends the thread, and the engine reports the
// shard as failed and ends its streams; the gateway itself carries on.
import {parentPort, workerData} from 'node:worker_threads'
import {type Batched, MessageBatcher, unbatch} from './message-batch.js'
import type {ShardCommand, ShardEvent, ShardInit} from './protocol.js'
import {ShardHost} from './shard-host.js'

const port = parentPort
if (port === null) throw new Error('shard-worker.js runs as a worker thread of the media engine')

const outbox = new MessageBatcher<ShardEvent>(
  (message, transfer) => port.postMessage(message, transfer),
  (packed) => ({type: 'piped-rtp', packed}),
)
const host = new ShardHost(workerData as ShardInit, (event, transfer) => outbox.send(event, transfer), (streamId, datagram) => outbox.sendPiped(streamId, datagram))
const handle = (command: ShardCommand): void => host.handle(command)
port.on('message', (message: Batched<ShardCommand>) => unbatch(message, handle))
host.start()
