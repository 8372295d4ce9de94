// Loads chDB (the npm package `chdb`: ClickHouse as an in-process library),
// the engine of the embedded CDR store. It is an optional dependency with a
// native library, and loading it costs about 220 MB of memory, so it is loaded
// here, on demand, by `cdr query` and `cdr stats` only, never at CLI start-up
// and never by the daemon (DESIGN §8).
//
// The module is typed here by the part we use rather than by its own
// declarations: a machine where the optional dependency did not install must
// still compile and run every other command.
import {CCError} from '../errors.js'

export interface ChdbResult {
  text(): string
}

export interface ChdbQueryOptions {
  readonly format?: string
}

export interface ChdbSession {
  query(sql: string, format?: string): string
  queryBindAsync(sql: string, params: object, options?: ChdbQueryOptions): Promise<ChdbResult>
  close(): void
}

export interface ChdbModule {
  /** Runs off the event loop, binding `{name:Type}` parameters server-side. */
  queryBindAsync(sql: string, params: object, options?: ChdbQueryOptions): Promise<ChdbResult>
  readonly Session: new (path?: string) => ChdbSession
}

/** The package name; a parameter only so tests can ask for one that is not installed. */
export const CHDB_PACKAGE = 'chdb'

export const loadChdb = async (specifier: string = CHDB_PACKAGE): Promise<ChdbModule> => {
  try {
    const loaded = (await import(specifier)) as Partial<ChdbModule> & {default?: Partial<ChdbModule>}
    const chdb = typeof loaded.queryBindAsync === 'function' ? loaded : loaded.default
    if (typeof chdb?.queryBindAsync !== 'function' || typeof chdb.Session !== 'function') throw new Error(`${specifier} has no queryBindAsync (chdb 3.x is needed)`)
    return chdb as ChdbModule
  } catch (error) {
    if (error instanceof CCError) throw error
    const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? ''
    throw new CCError('CC_ERR_CHDB_UNAVAILABLE', {detail}, {cause: error})
  }
}
