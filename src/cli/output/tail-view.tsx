// The live view of `clutchcall calls tail` on a terminal: the active calls,
// redrawn every second, above the latest call events. Loaded with a dynamic
// import by that command only (ink and React cost start-up time every other
// command must not pay). State-keeping is the pure reducer in ../calls-state.js.
import {Box, render, Text, useApp, useInput, useStdin, useStdout} from 'ink'
import {useEffect, useReducer, useState} from 'react'
import type {CallEvent, CallSummary} from '../../calls/events.js'
import {initialTailState, reduceTail} from '../calls-state.js'
import {fitColumns, formatEventLine, LIVE_CALLS_HEAD, liveCallRows} from './calls.js'

export interface TailViewProps {
  /** The calls up when the subscription started. */
  readonly calls: readonly CallSummary[]
  /** Delivers call events to the view; returns the unsubscribe. */
  readonly subscribe: (listener: (event: CallEvent) => void) => () => void
  /** What the view says it follows, e.g. `tenant acme`; empty for everything. */
  readonly filter?: string
  /** The clock and its tick, injectable for tests. */
  readonly now?: () => number
  readonly tickMs?: number
  /** The terminal width; the view's stdout tells it unless given (tests). */
  readonly columns?: number
}

/** Lines the view needs besides the table rows and the log: title, table header, blank, log title, and slack. */
const CHROME_LINES = 6
const MIN_LOG_LINES = 3

export const TailView = ({calls, subscribe, filter = '', now = Date.now, tickMs = 1000, columns}: TailViewProps) => {
  const [state, dispatch] = useReducer(reduceTail, calls, (initial) => initialTailState(initial))
  const [clock, setClock] = useState(now)
  const {exit} = useApp()
  const {isRawModeSupported} = useStdin()
  const {stdout} = useStdout()

  useEffect(() => subscribe(dispatch), [subscribe])
  useEffect(() => {
    const timer = setInterval(() => setClock(now()), tickMs)
    return () => clearInterval(timer)
  }, [now, tickMs])
  // Ctrl-C is ink's own (exitOnCtrlC); q quits too. Without a terminal on stdin there are no keys to read.
  useInput(
    (input) => {
      if (input === 'q') exit()
    },
    {isActive: isRawModeSupported === true},
  )

  const sids = [...state.calls.keys()]
  const width = columns ?? (stdout.columns > 0 ? stdout.columns : 80)
  const [head, ...rows] = fitColumns(LIVE_CALLS_HEAD, liveCallRows(state.calls.values(), clock), width)
  const terminalRows = stdout.rows > 0 ? stdout.rows : 24
  const logLines = Math.max(MIN_LOG_LINES, Math.min(state.logSize, terminalRows - CHROME_LINES - Math.max(1, rows.length)))
  const log = state.log.slice(-logLines).map(formatEventLine)

  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate-end">
        <Text bold>Active calls: {state.calls.size}</Text>
        {filter ? ` (${filter})` : ''}
        <Text dimColor>{isRawModeSupported ? '  q or Ctrl-C quits' : '  Ctrl-C quits'}</Text>
      </Text>
      <Text bold wrap="truncate-end">
        {head}
      </Text>
      {rows.length === 0 ? <Text dimColor>No active calls.</Text> : rows.map((row, index) => <Text key={sids[index] ?? index} wrap="truncate-end">{row}</Text>)}
      <Box marginTop={1} flexDirection="column">
        <Text bold>Events</Text>
        {log.length === 0 ? <Text dimColor>Waiting for call events…</Text> : log.map((line, index) => <Text key={index} wrap="truncate-end">{line}</Text>)}
      </Box>
    </Box>
  )
}

export interface LiveTail {
  /** Resolves when the operator quits (q or Ctrl-C) or `stop` is called. */
  readonly done: Promise<void>
  readonly stop: () => void
}

/** Renders the live view on this process's terminal. */
export const runTailView = (props: TailViewProps): LiveTail => {
  const instance = render(<TailView {...props} />, {exitOnCtrlC: true, patchConsole: false})
  return {done: instance.waitUntilExit().then(() => undefined), stop: () => instance.unmount()}
}
