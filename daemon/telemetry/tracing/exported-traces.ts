// What the collector made of the recent traces: for the last CAPACITY trace
// ids seen in an export, how many of their spans it acknowledged and how many
// went in an export that failed. `tracing.trace` reads it (`clutchcall smoke`
// asks about its synthetic call's trace). Bounded: the least recently exported
// trace is forgotten first.

/** How many traces are remembered. */
export const EXPORTED_TRACES_CAPACITY = 4096

export interface TraceExportCounts {
  /** Spans of the trace in exports the collector acknowledged (export result SUCCESS). */
  readonly exportedSpans: number
  /** Spans of the trace in exports that failed (collector down, refusing, timing out). */
  readonly failedSpans: number
}

interface Counts {
  exportedSpans: number
  failedSpans: number
}

export class ExportedTraces {
  /** Insertion order is recency: the first key is the least recently exported trace. */
  private readonly traces = new Map<string, Counts>()

  constructor(readonly capacity = EXPORTED_TRACES_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, not ${capacity}`)
  }

  get size(): number {
    return this.traces.size
  }

  /** Records one export's result: `traceIds` has one entry per span exported (so a trace id repeats). */
  record(traceIds: Iterable<string>, acknowledged: boolean): void {
    const batch = new Map<string, number>()
    for (const traceId of traceIds) batch.set(traceId, (batch.get(traceId) ?? 0) + 1)
    for (const [traceId, spans] of batch) {
      const counts = this.traces.get(traceId) ?? {exportedSpans: 0, failedSpans: 0}
      if (acknowledged) counts.exportedSpans += spans
      else counts.failedSpans += spans
      // Re-inserted: now the most recent.
      this.traces.delete(traceId)
      this.traces.set(traceId, counts)
    }
    for (const oldest of this.traces.keys()) {
      if (this.traces.size <= this.capacity) break
      this.traces.delete(oldest)
    }
  }

  /** The counts of a trace; zeros for one never exported (or forgotten). */
  get(traceId: string): TraceExportCounts {
    const counts = this.traces.get(traceId)
    return counts === undefined ? {exportedSpans: 0, failedSpans: 0} : {...counts}
  }
}
