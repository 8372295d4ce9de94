// The real shard worker, plus a fault for the failure test: a stream created
// for the call SID 'CA-crash' makes the thread throw an uncaught exception.
// Loaded as a plain module (the test runner collects every file under test/),
// it does nothing.
import {parentPort} from 'node:worker_threads'
import {type Batched, unbatch} from '../../../../daemon/media/message-batch.js'

type Command = {readonly type: string; readonly callSid?: string}

if (parentPort !== null) {
  await import('../../../../daemon/media/shard-worker.js')
  parentPort.on('message', (message: Batched<Command>) =>
    unbatch(message, (command) => {
      if (command.type === 'create' && command.callSid === 'CA-crash') {
        setTimeout(() => {
          throw new Error('injected media shard crash')
        }, 200)
      }
    }),
  )
}
