// How `recordings list` looks: one row per recording.
import type {RecordingInfo} from '../../recordings.js'
import {shortSid} from '../../sid-prefix.js'
import {formatDuration, table} from './format.js'

/** 1536 → `1.5 KiB`. */
export const formatBytes = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

const two = (value: number): string => String(value).padStart(2, '0')

/** Local `YYYY-MM-DD HH:MM:SS`. */
const localTime = (ms: number): string => {
  const at = new Date(ms)
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`
}

export const recordingsTable = (recordings: readonly RecordingInfo[]): string =>
  table(
    ['sid', 'size', 'duration', 'modified'],
    recordings.map((recording) => [
      shortSid(recording.call_sid),
      formatBytes(recording.size_bytes),
      recording.duration_seconds === null ? '-' : formatDuration(recording.duration_seconds),
      localTime(recording.modified_ms),
    ]),
  )
