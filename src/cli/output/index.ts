// Everything a human reads on stdout goes through here: tables, key/value
// blocks, durations, call rows and event lines. Commands hand over data; with
// --json they print nothing of this and the envelope carries the data instead.
// The ink live view of `calls tail` is ./tail-view.js: it is imported
// dynamically by that command only, so ink and React never load for the others.
export * from './calls.js'
export * from './cdr.js'
export * from './cdr-status.js'
export * from './format.js'
export * from './hep.js'
export * from './synth.js'
