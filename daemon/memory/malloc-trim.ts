// glibc's malloc keeps what a load freed: native buffers (a datagram's 64 KB
// receive buffer, Buffers a transaction held for 32 s) are freed in an order
// that leaves a live chunk near the top of the arena, so free() cannot shrink
// it and the RSS stays at the load's high-water mark. Measured after an 800
// calls/s burst: the main arena held 49 MB against 7 MB idle; malloc_trim(0)
// gave 43 MB of it back. Node does not expose malloc_trim, so it is called
// through koffi (an FFI with prebuilt binaries; see the README's dependencies).
// Not on glibc (musl, another OS) or when koffi cannot load: nothing is trimmed.
import type {Logger} from 'pino'

/** Returns free memory of every malloc arena to the kernel; true when some was released. */
export type MallocTrim = () => boolean

/** glibc's malloc_trim through koffi, or undefined where it is not available (the reason is logged at debug). */
export const loadMallocTrim = async (log: Logger): Promise<MallocTrim | undefined> => {
  if (process.platform !== 'linux') return undefined
  try {
    const {default: koffi} = await import('koffi')
    const libc = koffi.load('libc.so.6')
    const trim = libc.func('int malloc_trim(size_t pad)') as (pad: number) => number
    return () => trim(0) === 1
  } catch (error) {
    log.debug({err: error}, 'malloc_trim is not available (not glibc, or koffi did not load): native memory freed by a load stays with the process')
    return undefined
  }
}
