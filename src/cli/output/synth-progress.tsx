// The live view of a long `clutchcall synth call` run on a terminal: a bar and
// the counts (started, up, done, passed, failed), the elapsed time, and the
// last call that ended. Loaded with a dynamic import by that command only, so
// ink and React cost nothing elsewhere. The summary table follows it once the
// run is over.
import {Box, render, Text} from 'ink'
import {useEffect, useState} from 'react'
import type {SynthProgress} from '../../synth/types.js'
import {describeCall} from '../../synth/report.js'
import {formatDuration} from './format.js'

export interface SynthProgressProps {
  readonly target: string
  /** Delivers progress to the view; returns the unsubscribe. */
  readonly subscribe: (listener: (progress: SynthProgress) => void) => () => void
  readonly initial: SynthProgress
  /** When the run started (Date.now() scale): the elapsed time moves on between calls. Default: the progress's own. */
  readonly startedAt?: number | undefined
  readonly now?: () => number
  readonly tickMs?: number
}

const BAR_WIDTH = 30

export const progressBar = (done: number, total: number, width = BAR_WIDTH): string => {
  const filled = total <= 0 ? width : Math.min(width, Math.round((done / total) * width))
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
}

export const SynthProgressView = ({target, subscribe, initial, startedAt, now = Date.now, tickMs = 1000}: SynthProgressProps) => {
  const [progress, setProgress] = useState(initial)
  const [, setTick] = useState(0)
  useEffect(() => subscribe(setProgress), [subscribe])
  useEffect(() => {
    const timer = setInterval(() => setTick((tick) => tick + 1), tickMs)
    return () => clearInterval(timer)
  }, [tickMs])
  const {total, started, active, finished, passed, failed, last} = progress
  const elapsedMs = startedAt === undefined ? progress.elapsedMs : Math.max(progress.elapsedMs, now() - startedAt)
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Text bold>Calling {target}</Text>
        <Text dimColor>  {formatDuration(elapsedMs / 1000)}  Ctrl-C stops</Text>
      </Text>
      <Text wrap="truncate-end">
        {progressBar(finished, total)} {finished}/{total} done · {active} up · {total - started} to start ·{' '}
        <Text color="green">{passed} passed</Text> · <Text color={failed > 0 ? 'red' : undefined}>{failed} failed</Text>
      </Text>
      <Text wrap="truncate-end" dimColor>
        {last === undefined ? 'No call has ended yet.' : `last: #${last.index} ${last.passed ? 'pass' : 'FAIL'}: ${describeCall(last)}`}
      </Text>
    </Box>
  )
}

export interface LiveProgress {
  /** Feed it progress as calls start and end. */
  readonly update: (progress: SynthProgress) => void
  /** Draws the final state and leaves the terminal to the summary. */
  readonly stop: () => Promise<void>
}

/** Renders the view on this process's terminal (stderr stays free for notes). */
export const runSynthProgress = (target: string, initial: SynthProgress): LiveProgress => {
  const listeners = new Set<(progress: SynthProgress) => void>()
  let latest = initial
  const subscribe = (listener: (progress: SynthProgress) => void): (() => void) => {
    listeners.add(listener)
    listener(latest)
    return () => listeners.delete(listener)
  }
  // Ctrl-C is the command's (it hangs up the calls up, then reports); ink must not exit on it.
  const instance = render(<SynthProgressView target={target} subscribe={subscribe} initial={initial} startedAt={Date.now()} />, {exitOnCtrlC: false, patchConsole: false})
  return {
    update: (progress) => {
      latest = progress
      for (const listener of listeners) listener(progress)
    },
    stop: async () => {
      instance.unmount()
      await instance.waitUntilExit()
    },
  }
}
