// Everything a human reads on stdout goes through here: tables, key/value
// blocks, durations, call rows and event lines. Commands hand over data; with
// --json they print nothing of this and the envelope carries the data instead.
// Commands import the module they print with (./format.js, ./hep.js, ./cdr.js…)
// with `await import()` inside run(), when they come to print (most not at all
// under --json): cli-table3 and the CDR and synth helpers then stay out of what
// every command loads at start (`npm run bench:status`). The ink live views (./tail-view.js,
// ./synth-progress.js) load the same way, so ink and React never load for the others.
export * from './calls.js'
export * from './cdr.js'
export * from './cdr-status.js'
export * from './format.js'
export * from './hep.js'
export * from './recordings.js'
export * from './synth.js'
export * from './tail-notice.js'
export * from './telemetry.js'
export * from './trunks.js'
