// Entry point of a media shard's worker thread: wires the ShardHost to the
// parent port. Anything uncaught ends the thread, and the engine reports the
// shard as failed and ends its streams; the gateway itself carries on.
import {parentPort, workerData} from 'node:worker_threads'
import type {ShardCommand, ShardInit} from './protocol.js'
import {ShardHost} from './shard-host.js'

const port = parentPort
if (port === null) throw new Error('shard-worker.js runs as a worker thread of the media engine')

const host = new ShardHost(workerData as ShardInit, (event, transfer) => port.postMessage(event, transfer))
port.on('message', (command: ShardCommand) => host.handle(command))
host.start()
