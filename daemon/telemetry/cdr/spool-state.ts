// Saves what ClickHouse has acknowledged, and the batch on its way there. Written
// atomically (temp file, fsync, rename) before a batch is sent and after it is
// acknowledged, so a daemon killed at any moment restarts at the right line and
// knows which batch may already be in ClickHouse.
import {open, rename} from 'node:fs/promises'
import {stateFilePath, type SpoolState} from '../../../src/cdr/spool-files.js'

export {readSpoolState, type InflightBatch, type SpoolState} from '../../../src/cdr/spool-files.js'

/** Off the event loop: the fsync of a state file costs milliseconds that calls should not wait for. */
export const writeSpoolState = async (spoolDir: string, state: SpoolState): Promise<void> => {
  const path = stateFilePath(spoolDir)
  const temporary = `${path}.tmp`
  const handle = await open(temporary, 'w', 0o600)
  try {
    await handle.writeFile(`${JSON.stringify(state)}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, path)
}
