// The real shard worker, plus a fault for the failure test: a stream created
// for the call SID 'CA-crash' makes the thread throw an uncaught exception.
import {parentPort} from 'node:worker_threads'
import '../../../../daemon/media/shard-worker.js'

parentPort?.on('message', (command: {type?: string; callSid?: string}) => {
  if (command.type === 'create' && command.callSid === 'CA-crash') {
    setTimeout(() => {
      throw new Error('injected media shard crash')
    }, 200)
  }
})
