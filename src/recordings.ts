// The recordings the `record` dialplan node writes, as
// $CLUTCHCALL_HOME/recordings/<call_sid>.wav. Read straight from the home: no
// daemon needed. Only the WAV header is read, for the duration.
import {closeSync, openSync, readdirSync, readSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {CALL_SID_PATTERN} from './cdr/record.js'
import {CCError} from './errors.js'
import {isPermissionError, permissionDenied} from './permissions.js'
import {resolveSidPrefix} from './sid-prefix.js'

export interface RecordingInfo {
  readonly call_sid: string
  /** Absolute path of the WAV file. */
  readonly path: string
  readonly size_bytes: number
  /** From the WAV header (data size / byte rate); null when the header cannot be read. */
  readonly duration_seconds: number | null
  /** Last write, epoch ms: the end of the recording for one that is finished. */
  readonly modified_ms: number
}

const HEADER_BYTES = 512

/** Seconds of audio a WAV header announces: the data chunk's size over the fmt chunk's byte rate. */
export const wavDurationSeconds = (header: Buffer): number | null => {
  if (header.length < 12 || header.toString('latin1', 0, 4) !== 'RIFF' || header.toString('latin1', 8, 12) !== 'WAVE') return null
  let byteRate: number | undefined
  for (let at = 12; at + 8 <= header.length; ) {
    const id = header.toString('latin1', at, at + 4)
    const size = header.readUInt32LE(at + 4)
    if (id === 'fmt ' && at + 20 <= header.length) byteRate = header.readUInt32LE(at + 16)
    if (id === 'data') return byteRate === undefined || byteRate === 0 ? null : size / byteRate
    at += 8 + size + (size % 2)
  }
  return null
}

const readHeader = (path: string): Buffer => {
  const fd = openSync(path, 'r')
  try {
    const buffer = Buffer.alloc(HEADER_BYTES)
    return buffer.subarray(0, readSync(fd, buffer, 0, HEADER_BYTES, 0))
  } finally {
    closeSync(fd)
  }
}

const describe = (dir: string, sid: string): RecordingInfo => {
  const path = join(dir, `${sid}.wav`)
  const stats = statSync(path)
  let duration: number | null
  try {
    duration = wavDurationSeconds(readHeader(path))
  } catch (error) {
    if (isPermissionError(error)) throw permissionDenied(path, 'cannot read', error)
    duration = null
  }
  return {call_sid: sid, path, size_bytes: stats.size, duration_seconds: duration, modified_ms: Math.round(stats.mtimeMs)}
}

/** The call sids with a recording in `dir`; none when the folder does not exist yet. */
const recordedSids = (dir: string): string[] => {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') return []
    if (isPermissionError(error)) throw permissionDenied(dir, 'cannot list', error)
    throw error
  }
  return entries.filter((name) => name.endsWith('.wav') && CALL_SID_PATTERN.test(name.slice(0, -4))).map((name) => name.slice(0, -4))
}

/** Every recording, newest first (by last write, call sid breaking ties). */
export const listRecordings = (dir: string): RecordingInfo[] =>
  recordedSids(dir)
    .map((sid) => describe(dir, sid))
    .sort((a, b) => b.modified_ms - a.modified_ms || (a.call_sid < b.call_sid ? -1 : 1))

/** The recording of one call, by full sid or a prefix naming exactly one; CC_ERR_RECORDING_NOT_FOUND when there is none. */
export const findRecording = (dir: string, sidOrPrefix: string): RecordingInfo => {
  const sid = resolveSidPrefix(sidOrPrefix, recordedSids(dir), {what: 'recordings', where: '`clutchcall recordings list`'})
  if (sid === undefined) throw new CCError('CC_ERR_RECORDING_NOT_FOUND', {call_sid: sidOrPrefix, dir})
  return describe(dir, sid)
}
