// A bounded cache of DNS answers keyed by record type and name: each answer
// is kept for its TTL, negative answers (NXDOMAIN, no data) for the negative
// TTL, and concurrent lookups of one key share one query. When a refresh
// fails because the servers do not answer (timeout, SERVFAIL), an expired
// answer is still served for up to `staleS` (RFC 8767): a DNS outage then
// does not take down trunks whose addresses were known a moment ago.
// Bounded in entries: the oldest entry leaves when a new one would exceed it.
import {DnsLookupError} from './errors.js'

export interface CachedAnswer<T> {
  readonly value: T
  /** Seconds the answer may be kept (its TTL, already capped by the caller). */
  readonly ttlS: number
}

interface Entry<T> {
  readonly value?: T
  readonly error?: DnsLookupError
  readonly expiresAt: number
}

export interface DnsCacheOptions {
  readonly maxEntries: number
  readonly negativeTtlS: number
  readonly staleS: number
  readonly now?: () => number
}

/** Failures that say nothing about the records: an expired answer is served instead, and they are not cached. */
const isTransient = (error: unknown): boolean => error instanceof DnsLookupError && (error.kind === 'timeout' || error.kind === 'unreachable' || error.kind === 'servfail' || error.kind === 'malformed')

export class DnsCache {
  private readonly entries = new Map<string, Entry<unknown>>()
  private readonly inFlight = new Map<string, Promise<unknown>>()
  private readonly now: () => number
  /** Answers served from the cache, fetched, and served stale; for tests and status. */
  readonly counts = {hits: 0, misses: 0, stale: 0}

  constructor(private readonly options: DnsCacheOptions) {
    this.now = options.now ?? Date.now
  }

  get size(): number {
    return this.entries.size
  }

  /** The cached answer of `key`, or `fetch`'s (then cached); a cached negative answer rethrows its error. */
  async get<T>(key: string, fetch: () => Promise<CachedAnswer<T>>): Promise<T> {
    const entry = this.entries.get(key) as Entry<T> | undefined
    const now = this.now()
    if (entry !== undefined && entry.expiresAt > now) {
      this.counts.hits++
      if (entry.error !== undefined) throw entry.error
      return entry.value as T
    }
    const pending = this.inFlight.get(key) as Promise<T> | undefined
    if (pending !== undefined) return pending
    this.counts.misses++
    const query = this.refresh(key, fetch, entry)
    this.inFlight.set(key, query)
    try {
      return await query
    } finally {
      this.inFlight.delete(key)
    }
  }

  private async refresh<T>(key: string, fetch: () => Promise<CachedAnswer<T>>, previous: Entry<T> | undefined): Promise<T> {
    try {
      const answer = await fetch()
      this.store(key, {value: answer.value, expiresAt: this.now() + answer.ttlS * 1000})
      return answer.value
    } catch (error) {
      if (isTransient(error)) {
        if (previous?.value !== undefined && previous.expiresAt + this.options.staleS * 1000 > this.now()) {
          this.counts.stale++
          return previous.value
        }
        throw error
      }
      if (error instanceof DnsLookupError) this.store(key, {error, expiresAt: this.now() + this.options.negativeTtlS * 1000})
      throw error
    }
  }

  private store(key: string, entry: Entry<unknown>): void {
    this.entries.delete(key)
    // Already expired (TTL 0): worth keeping only as a stale fallback.
    if (entry.expiresAt <= this.now() && (entry.error !== undefined || this.options.staleS === 0)) return
    this.entries.set(key, entry)
    // A Map iterates in insertion order: the first key is the oldest.
    while (this.entries.size > this.options.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  clear(): void {
    this.entries.clear()
  }
}
