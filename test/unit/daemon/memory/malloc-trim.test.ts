import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'
import pino from 'pino'
import {loadMallocTrim} from '../../../../daemon/memory/malloc-trim.js'

const MB = 1_000_000

// A context created after the flag gets the `gc` function (the daemon itself runs with --expose-gc).
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/** Native memory in the pattern a load leaves: many small buffers freed, one in fifty kept, so free() cannot shrink the arena. */
const fragment = (): Buffer[] => {
  const all = Array.from({length: 20_000}, () => Buffer.allocUnsafeSlow(4096).fill(1))
  return all.filter((_, index) => index % 50 === 49)
}

describe('malloc_trim: native memory a load freed goes back to the kernel', () => {
  it('is available on this glibc Linux and releases freed arena memory that free() kept', async () => {
    const trim = await loadMallocTrim(pino({level: 'silent'}))
    assert.ok(trim, 'loadMallocTrim found no malloc_trim: CI runs on Debian (glibc), where it must load')
    const kept = fragment()
    gc()
    gc()
    const before = process.memoryUsage.rss()
    assert.equal(trim(), true, 'malloc_trim released nothing')
    const after = process.memoryUsage.rss()
    assert.ok(before - after > 30 * MB, `RSS ${Math.round(before / MB)} MB -> ${Math.round(after / MB)} MB: expected most of the ~80 MB freed to go back`)
    assert.equal(kept.length, 400, 'the buffers kept alive stay usable')
    assert.equal(kept[0]?.[4095], 1)
  })
})
