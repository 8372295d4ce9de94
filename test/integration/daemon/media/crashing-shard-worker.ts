// The real shard worker, plus a fault for the failure test: a stream created
// for the call SID 'CA-crash' makes the thread throw an uncaught exception.
// Loaded as a plain module (the test runner collects every file under test/),
// it does nothing.
import {parentPort} from 'node:worker_threads'

if (parentPort !== null) {
  await import('../../../../daemon/media/shard-worker.js')
  parentPort.on('message', (command: {type?: string; callSid?: string}) => {
    if (command.type === 'create' && command.callSid === 'CA-crash') {
      setTimeout(() => {
        throw new Error('injected media shard crash')
      }, 200)
    }
  })
}
